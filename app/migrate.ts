import { loadCoreConfig } from '../runtime/config.js';
import { connectNats } from '../runtime/nats/index.js';
import { TickworkError } from '../runtime/errors.js';
import { Namespace } from '../runtime/namespace.js';
import { connectPg, type Sql } from '../runtime/pg.js';
import type { ProcessContext } from '../runtime/process.js';
import { CandleStore, loadStoreSettings, type StoreSettings } from '../store/candles.js';
import { migrate, type MigrateResult } from '../store/migrate.js';
import type { RetentionResult } from '../store/partitions.js';
import { sinkDurable } from './nats-auth.js';
import { loadStreamsConfig, provisionMarketStreams } from './streams.js';

/**
 * The schema owner's work, in one place: the pending migrations, then partition upkeep (partitions
 * ahead, retention). DDL: run as the owner (`tickwork migrate`, or `up` on a laptop), never by
 * the runtime role the sink, spread and api use.
 */
export async function prepareSchema(sql: Sql, schema: string, store: StoreSettings, now = Date.now()): Promise<MigrateResult & { created: string[]; retention: RetentionResult[] }> {
  const result = await migrate(sql, schema, { now });
  const upkeep = await new CandleStore(sql, { ...store, schema }).maintain(now);
  return { ...result, ...upkeep };
}

/**
 * `up` on a laptop is also the schema owner: prepares the schema now and keeps partitions ahead
 * and retention hourly for as long as it runs.
 */
export async function ownSchema(ctx: ProcessContext, store: StoreSettings): Promise<void> {
  const sql = ctx.sql!;
  await prepareSchema(sql, ctx.ns.pgSchema, store);
  const upkeep = new CandleStore(sql, { ...store, schema: ctx.ns.pgSchema });
  const timer = setInterval(() => void upkeep.maintain().catch((err: unknown) => ctx.log.warn({ err }, 'partition upkeep failed')), 3_600_000);
  timer.unref();
  ctx.lifecycle.onShutdown('actors', 'schema-upkeep', () => clearInterval(timer));
}

/**
 * `tickwork migrate`: the PostgreSQL migrations on DATABASE_URL (schema of TICKWORK_NAMESPACE),
 * then partitions ahead and retention, then the JetStream streams and the sink's consumer on
 * NATS_URL; prints what it did. Run it at each deploy and daily.
 */
export async function runMigrate(base: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadCoreConfig(base);
  const store = loadStoreSettings(base);
  const schema = new Namespace(config.TICKWORK_NAMESPACE).pgSchema;
  const where = describeUrl(config.DATABASE_URL);
  const sql = connectPg(config.DATABASE_URL, { schema, max: 1, name: 'tickwork-migrate' });
  try {
    const result = await prepareSchema(sql, schema, store);
    for (const m of result.applied) process.stdout.write(`applied ${String(m.id).padStart(5, '0')} ${m.name}\n`);
    if (result.created.length) process.stdout.write(`created ${result.created.length} partitions (${result.created[0]} …)\n`);
    const dropped = result.retention.flatMap((r) => r.droppedPartitions);
    const deleted = result.retention.reduce((n, r) => n + r.deletedRows, 0);
    if (dropped.length || deleted) process.stdout.write(`retention: dropped ${dropped.length} partitions, deleted ${deleted} rows\n`);
    process.stdout.write(
      result.applied.length ? `migrated ${where} schema ${schema}: ${result.applied.length} applied\n` : `${where} schema ${schema} is up to date\n`,
    );
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const msg = e.message ?? String(err);
    const code = e.code && !msg.includes(e.code) ? ` (${e.code})` : '';
    throw new TickworkError('SERVICE_UNAVAILABLE', `migrate failed on ${where}: ${msg}${code}`, { cause: err });
  } finally {
    await sql.end({ timeout: 5 });
  }
  await provisionStreams(config.NATS_URL, new Namespace(config.TICKWORK_NAMESPACE), base);
}

/**
 * The NATS half of `migrate`: the market streams created or updated to the TICKWORK_* stream
 * settings (replicas included) and the sink's durable consumer, with the admin's rights, so the
 * other roles only read them at start.
 */
async function provisionStreams(url: string, ns: Namespace, base: NodeJS.ProcessEnv): Promise<void> {
  const streams = loadStreamsConfig(base);
  const nats = await connectNats(url, 'tickwork-migrate', undefined, { env: base });
  try {
    for (const line of await provisionMarketStreams(nats.jsm, ns, streams, { durable: sinkDurable(ns) })) process.stdout.write(`${line}\n`);
  } finally {
    await nats.nc.close();
  }
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
