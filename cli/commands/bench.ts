import type { Command } from 'commander';
import { list } from '../../runtime/config.js';

export function register(program: Command): void {
  program
    .command('bench')
    .description('benchmark suite (JetStream ceiling, end to end, latency, kernel vs Polars, normalizer, memory, recovery); report to stdout and bench/results/')
    .option('--quick', 'small sizes, under a minute: checks the harness, not the speed')
    .option('--only <names>', 'comma-separated subset: jetstream,e2e,latency,kernel,normalizer,memory,recovery')
    .option('--out <dir>', 'report folder (default bench/results/)')
    .option('--profile', 'run the e2e and latency workers under --cpu-prof and summarize the profiles in the report')
    .action(async (opts: { quick?: boolean; only?: string; out?: string; profile?: boolean }) => {
      // Loaded on use: the bench pulls in dev-only packages (nodejs-polars, resvg) other commands must not need.
      const { BENCHES, runBench } = await import('../../bench/run.js');
      const only = opts.only ? list(opts.only) : [];
      const unknown = only.filter((n) => !(BENCHES as readonly string[]).includes(n));
      if (unknown.length) throw new RangeError(`--only: unknown bench ${unknown.join(', ')} (expected ${BENCHES.join(', ')})`);
      const report = await runBench({
        quick: opts.quick ?? false,
        only: only as (typeof BENCHES)[number][],
        ...(opts.out ? { outDir: opts.out } : {}),
        profile: opts.profile ?? false,
        log: (line) => process.stdout.write(`${line}\n`),
      });
      process.stdout.write(`report: ${report.files.markdown}\n`);
    });
}
