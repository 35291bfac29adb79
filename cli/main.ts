import { readdirSync, readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isUsageError } from '../runtime/errors.js';

/**
 * `tickwork <command>`. Each file in cli/commands/ exports `register(program)`: it parses its
 * arguments and calls app/. Errors end the process with one line: exit 2 for what the user can fix
 * (a bad variable, flag or file), 1 for the rest (a stack trace only with LOG_LEVEL=debug).
 */
const version = packageVersion();

const program = new Command('tickwork')
  .description('exact, real-time market data from crypto-exchange feeds over NATS JetStream')
  .version(version, '-v, --version', 'print the version')
  .showHelpAfterError('(tickwork <command> --help for its options)')
  .enablePositionalOptions()
  .exitOverride();

/**
 * A file of cli/commands/ declares one command and stays light: its action imports app/ when it
 * runs, and `setup` loads what its options need (the venue registry, say) before `register`.
 */
interface CommandModule {
  setup?: () => Promise<void>;
  register?: (p: Command) => void;
}

const dir = new URL('./commands/', import.meta.url);
const [first, second] = process.argv.slice(2);
// `--version` needs no command: skip reading them (the first argument only; a later one belongs to a command).
if (first !== '-v' && first !== '--version') {
  const files = readdirSync(dir)
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts') && !f.endsWith('.test.ts'))
    .sort();
  // A command lives in the file of its name: load only that one (`tickwork help <name>` too), with
  // its setup; the list of commands (help, unknown names) registers them all, without setups.
  const wanted = first === 'help' ? second : first;
  const named = files.filter((f) => f.replace(/\.(ts|js)$/, '') === wanted);
  const one = named.length === 1;
  for (const file of one ? named : files) {
    const mod = (await import(new URL(file, dir).href)) as CommandModule;
    if (one) await mod.setup?.();
    mod.register?.(program);
  }
}
// Every command reports its own argument errors through the same override.
for (const cmd of program.commands) cmd.exitOverride();

/** The package's version; package.json is one folder up from the sources, two from a build in dist/. */
function packageVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      // not there: try the next
    }
  }
  return 'unknown';
}

function fail(err: unknown): never {
  if (err instanceof CommanderError) {
    // Commander has printed its message (naming the option) already; help and --version exit 0.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  if (isUsageError(err)) {
    process.stderr.write(`tickwork: ${err.message}\n`);
    process.exit(2);
  }
  const e = err as Error;
  process.stderr.write(`tickwork: ${e?.message ?? String(err)}\n`);
  if (process.env.LOG_LEVEL === 'debug' || process.env.LOG_LEVEL === 'trace') process.stderr.write(`${e?.stack}\n`);
  process.exit(1);
}

process.on('unhandledRejection', (err) => fail(err));
try {
  await program.parseAsync(process.argv);
} catch (err) {
  fail(err);
}
