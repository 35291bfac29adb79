import type { Command } from 'commander';
import { loadCoreConfig } from '../../runtime/config.js';
import { TickworkError } from '../../runtime/errors.js';
import { Namespace } from '../../runtime/namespace.js';
import { connectPg } from '../../runtime/pg.js';
import { migrate } from '../../store/migrate.js';

/** `tickwork migrate`: apply the PostgreSQL migrations to DATABASE_URL (schema of TICKWORK_NAMESPACE). */
export function register(program: Command): void {
  program
    .command('migrate')
    .description('apply PostgreSQL migrations (DATABASE_URL; schema from TICKWORK_NAMESPACE) and create candle partitions')
    .action(async () => {
      const config = loadCoreConfig();
      const schema = new Namespace(config.TICKWORK_NAMESPACE).pgSchema;
      const where = describeUrl(config.DATABASE_URL);
      const sql = connectPg(config.DATABASE_URL, { schema, max: 1, name: 'tickwork-migrate' });
      try {
        const result = await migrate(sql, schema);
        for (const m of result.applied) process.stdout.write(`applied ${String(m.id).padStart(5, '0')} ${m.name}\n`);
        process.stdout.write(
          result.applied.length
            ? `migrated ${where} schema ${schema}: ${result.applied.length} applied\n`
            : `${where} schema ${schema} is up to date\n`,
        );
      } catch (err) {
        const e = err as { code?: string; message?: string };
        const msg = e.message ?? String(err);
        const code = e.code && !msg.includes(e.code) ? ` (${e.code})` : '';
        throw new TickworkError('SERVICE_UNAVAILABLE', `migrate failed on ${where}: ${msg}${code}`, { cause: err });
      } finally {
        await sql.end({ timeout: 5 });
      }
    });
}

/** host:port/database, without credentials, for messages. */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `postgresql://${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'DATABASE_URL';
  }
}
