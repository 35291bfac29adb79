import type { Command } from 'commander';

/** `tickwork migrate`: apply the PostgreSQL migrations to DATABASE_URL (schema of TICKWORK_NAMESPACE) and provision the JetStream streams. */
export function register(program: Command): void {
  program
    .command('migrate')
    .description('apply PostgreSQL migrations (DATABASE_URL; schema from TICKWORK_NAMESPACE), create candle partitions, and create or update the JetStream streams and the sink consumer (NATS_URL)')
    .action(async () => (await import('../../app/migrate.js')).runMigrate());
}
