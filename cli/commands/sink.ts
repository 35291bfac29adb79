import type { Command } from 'commander';

/** Extension of the DESIGN.md CLI: the sink alone, for deployments that scale it separately. */
export function register(program: Command): void {
  program
    .command('sink')
    .description('write closed candles from MD_CANDLES to PostgreSQL (idempotent upsert)')
    .action(async () => (await import('../../app/sink.js')).runSink());
}
