import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import shift from 'postgres-shift';
import { TickworkError } from '../runtime/errors.js';
import type { Sql } from '../runtime/pg.js';
import { CandleStore } from './candles.js';

/** The versioned SQL migrations (postgres-shift layout: `migrations/00001_<name>/index.sql`). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

export interface AppliedMigration {
  id: number;
  name: string;
}

export interface MigrateResult {
  schema: string;
  /** Migrations applied by this call, in order; empty when the schema was already current. */
  applied: AppliedMigration[];
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Applies the pending migrations to `schema` (created if missing), then creates the candle
 * partitions around `now`. Safe to run repeatedly and from several processes at once: the whole
 * run is one transaction holding an advisory lock per schema, so a second runner waits and then
 * finds nothing to apply. postgres-shift's own `migrations` table lives in `schema` too.
 */
export async function migrate(sql: Sql, schema: string, opts: { now?: number } = {}): Promise<MigrateResult> {
  if (!SCHEMA_NAME.test(schema)) throw new TickworkError('CONFIG_INVALID', `invalid PostgreSQL schema name ${JSON.stringify(schema)}`);
  const applied: AppliedMigration[] = [];
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext('tickwork.migrate'), hashtext(${schema}))`;
    await tx`create schema if not exists ${tx(schema)}`;
    // Only the target schema on the path: unqualified names in the migrations land there, and
    // postgres-shift's `'migrations'::regclass` cannot see another schema's table.
    await tx`set local search_path to ${tx(schema)}`;
    // postgres-shift probes this table with a query that would abort our transaction if missing.
    await tx`
      create table if not exists migrations (
        migration_id serial primary key,
        created_at timestamp with time zone not null default now(),
        name text
      )`;
    // postgres-shift opens its own transaction; we are already in one, so hand it ours.
    const inTx = Object.assign((strings: TemplateStringsArray, ...args: never[]) => tx(strings, ...args), {
      begin: <T>(fn: (s: typeof tx) => T) => fn(tx),
      file: tx.file.bind(tx),
    });
    await shift({
      sql: inTx as unknown as Parameters<typeof shift>[0]['sql'],
      path: MIGRATIONS_DIR,
      after: ({ migration_id, name }) => applied.push({ id: migration_id, name }),
    });
  });
  await new CandleStore(sql, { schema }).ensurePartitionsAround(opts.now ?? Date.now());
  return { schema, applied };
}

/** The migrations of this build, by number: the folders `NNNNN_<name>` in MIGRATIONS_DIR. */
export function knownMigrations(): AppliedMigration[] {
  return readdirSync(MIGRATIONS_DIR)
    .map((d) => /^(\d{5})_(.+)$/.exec(d))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ id: Number(m[1]), name: m[2]! }))
    .sort((a, b) => a.id - b.id);
}

/**
 * Whether `schema` holds every migration of this build, read without DDL rights (the runtime
 * role checks this at start instead of migrating): the numbers this build knows that it lacks.
 */
export async function pendingMigrations(sql: Sql, schema: string): Promise<AppliedMigration[]> {
  const applied = new Set((await appliedMigrations(sql, schema)).map((m) => m.id));
  return knownMigrations().filter((m) => !applied.has(m.id));
}

/** The migrations recorded as applied in `schema` (empty when the schema is new). */
export async function appliedMigrations(sql: Sql, schema: string): Promise<AppliedMigration[]> {
  const [exists] = await sql`select to_regclass(${`${schema}.migrations`}) is not null as ok`;
  if (!exists?.ok) return [];
  const rows = await sql`select migration_id as id, name from ${sql(schema)}.migrations order by migration_id`;
  return rows.map((r) => ({ id: Number(r.id), name: String(r.name) }));
}
