import { readdirSync } from 'node:fs';
import { Command } from 'commander';
import { ConfigError } from '../runtime/errors.js';

/**
 * `tickwork <command>`. Each file in cli/commands/ exports `register(program)`; commands own
 * their options and start-up. A ConfigError (bad env var) ends the process with its one line.
 */
const program = new Command('tickwork')
  .description('exact, real-time market data from crypto-exchange feeds over NATS JetStream')
  .showHelpAfterError()
  .enablePositionalOptions();

const dir = new URL('./commands/', import.meta.url);
const files = readdirSync(dir)
  .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts') && !f.endsWith('.test.ts'))
  .sort();
// A command lives in the file of its name: load only that one (a worker need not load Fastify,
// the simulator or the bench: less memory, faster restarts); load all for help and unknown names.
const named = files.filter((f) => f.replace(/\.(ts|js)$/, '') === process.argv[2]);
for (const file of named.length === 1 ? named : files) {
  const mod = (await import(new URL(file, dir).href)) as { register?: (p: Command) => void };
  mod.register?.(program);
}

function fail(err: unknown): never {
  if (err instanceof ConfigError) {
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
