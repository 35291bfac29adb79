import { InvalidArgumentError, type Command } from 'commander';
import { BENCHES as BENCH_NAMES, type BenchName } from '../../bench/names.js';

let list: (csv: string) => string[] = () => [];

/** Before registering: the one list splitter, from runtime/config.ts (which loads TypeBox: not for the list of commands). */
export async function setup(): Promise<void> {
  ({ list } = await import('../../runtime/config.js'));
}

const benchNames = (v: string): BenchName[] => {
  const names = list(v);
  const unknown = names.filter((n) => !(BENCH_NAMES as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length) throw new InvalidArgumentError(`expected names from ${BENCH_NAMES.join(', ')}`);
  return names as BenchName[];
};

export function register(program: Command): void {
  program
    .command('bench')
    .description('benchmark suite (JetStream ceiling, end to end, latency and its floor, kernel vs Polars, normalizer, books, backfill, memory, symbols, recovery, scale-out); report to stdout and bench/results/')
    .option('--quick', 'minimal sizes: checks the harness, not the speed')
    .option('--only <names>', `comma-separated subset: ${BENCH_NAMES.join(',')}`, benchNames)
    .option('--out <dir>', 'report folder (default bench/results/)')
    .option('--profile', 'run the e2e and latency workers under --cpu-prof and summarize the profiles in the report')
    .action(async (opts: { quick?: boolean; only?: BenchName[]; out?: string; profile?: boolean }) => {
      // Loaded on use: the bench pulls in dev-only packages (nodejs-polars, resvg) other commands must not need.
      const { runBench } = await import('../../bench/run.js');
      const report = await runBench({
        quick: opts.quick ?? false,
        only: opts.only ?? [],
        ...(opts.out ? { outDir: opts.out } : {}),
        profile: opts.profile ?? false,
        log: (line) => process.stdout.write(`${line}\n`),
      });
      process.stdout.write(`report: ${report.files.markdown}\n`);
      if (report.errors) {
        process.stderr.write(`tickwork: bench: failed: ${Object.keys(report.errors).join(', ')} (see the report)\n`);
        process.exitCode = 1;
      }
    });
}
