import { TIMEFRAMES, type Tf } from '../schemas/common.js';
import type { TransactionSql } from 'postgres';
import type { Sql } from '../runtime/pg.js';
import { deleteOutsideHistoryRanges, historyRanges } from './history-ranges.js';

/**
 * Time partitions of `candles_<tf>` (migrations/README.md). 1s candles are ~86,400 rows per
 * symbol per day and kept for days, so they get daily partitions and retention is a DROP; every
 * other timeframe is ≤ 1,440 rows per symbol per day, so monthly partitions keep the count low.
 */
export type Granularity = 'day' | 'month';
export const PARTITION_GRANULARITY: Record<Tf, Granularity> = {
  '1s': 'day',
  '1m': 'month',
  '5m': 'month',
  '15m': 'month',
  '1h': 'month',
  '4h': 'month',
  '1d': 'month',
};

/** Start (UTC) of the day or month containing `ms`. */
export function periodStart(ms: number, g: Granularity): number {
  const d = new Date(ms);
  return g === 'day'
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export function nextPeriod(start: number, g: Granularity): number {
  const d = new Date(start);
  return g === 'day'
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** `candles_1s_20240115`, `candles_1h_202401`. */
export function partitionName(tf: Tf, start: number): string {
  const iso = new Date(start).toISOString();
  const stamp = PARTITION_GRANULARITY[tf] === 'day' ? iso.slice(0, 10).replaceAll('-', '') : iso.slice(0, 7).replace('-', '');
  return `candles_${tf}_${stamp}`;
}

const NAME = /^candles_(1s|1m|5m|15m|1h|4h|1d)_(\d{4})(\d{2})(\d{2})?$/;

/** The range `[start, end)` of a partition created by `ensurePartitions`, from its name. */
export function parsePartitionName(name: string): { tf: Tf; start: number; end: number } | null {
  const m = NAME.exec(name);
  if (!m) return null;
  const tf = m[1] as Tf;
  const g = PARTITION_GRANULARITY[tf];
  if ((g === 'day') !== (m[4] !== undefined)) return null;
  const start = Date.UTC(Number(m[2]), Number(m[3]) - 1, m[4] ? Number(m[4]) : 1);
  return { tf, start, end: nextPeriod(start, g) };
}

const q = (ident: string): string => `"${ident.replaceAll('"', '""')}"`;

/** Names of the time partitions attached to the candle tables of `schema` (in a transaction or not). */
export async function existingPartitions(sql: Sql | TransactionSql<Record<string, never>>, schema: string): Promise<Set<string>> {
  const rows = await sql<{ name: string }[]>`
    select c.relname as name
    from pg_inherits i
    join pg_class c on c.oid = i.inhrelid
    join pg_class p on p.oid = i.inhparent
    join pg_namespace n on n.oid = p.relnamespace
    where n.nspname = ${schema} and p.relname like 'candles\\_%'`;
  return new Set(rows.map((r) => r.name));
}

/**
 * Creates the missing time partitions of every timeframe covering `[from, to]` (epoch ms) and
 * returns their names. Rows that already landed in the DEFAULT partition for that range are
 * moved into the new partition in the same transaction. Concurrent callers serialize on an
 * advisory lock and re-check, so two processes never race on the same DDL.
 */
export async function ensurePartitions(
  sql: Sql,
  schema: string,
  from: number,
  to: number,
  tfs: readonly Tf[] = TIMEFRAMES,
): Promise<string[]> {
  const existing = await existingPartitions(sql, schema);
  const created: string[] = [];
  for (const tf of tfs) {
    const g = PARTITION_GRANULARITY[tf];
    for (let start = periodStart(from, g); start <= to; start = nextPeriod(start, g)) {
      const name = partitionName(tf, start);
      if (existing.has(name)) continue;
      if (await createPartition(sql, schema, tf, name, start, nextPeriod(start, g))) created.push(name);
    }
  }
  return created;
}

/** The partitions `ensurePartitions(from, to)` would create, without creating them (no DDL: any role may ask). */
export async function missingPartitions(sql: Sql, schema: string, from: number, to: number, tfs: readonly Tf[] = TIMEFRAMES): Promise<string[]> {
  const existing = await existingPartitions(sql, schema);
  const missing: string[] = [];
  for (const tf of tfs) {
    const g = PARTITION_GRANULARITY[tf];
    for (let start = periodStart(from, g); start <= to; start = nextPeriod(start, g)) {
      const name = partitionName(tf, start);
      if (!existing.has(name)) missing.push(name);
    }
  }
  return missing;
}

async function createPartition(sql: Sql, schema: string, tf: Tf, name: string, start: number, end: number): Promise<boolean> {
  const parent = `${q(schema)}.${q(`candles_${tf}`)}`;
  const dflt = `${q(schema)}.${q(`candles_${tf}_default`)}`;
  const table = `${q(schema)}.${q(name)}`;
  const lo = new Date(start).toISOString();
  const hi = new Date(end).toISOString();
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext('tickwork.partitions'), hashtext(${schema}))`;
    const [found] = await tx`select to_regclass(${`${schema}.${name}`}) is not null as ok`;
    if (found?.ok) return false;
    // Create detached, move any rows the DEFAULT partition caught for this range, then attach:
    // attaching over rows still in DEFAULT would fail.
    await tx.unsafe(`create table ${table} (like ${parent} including defaults including constraints)`);
    await tx.unsafe(
      `with moved as (delete from ${dflt} where open_time >= $1 and open_time < $2 returning *)
       insert into ${table} select * from moved`,
      [lo, hi],
    );
    await tx.unsafe(`alter table ${parent} attach partition ${table} for values from ('${lo}') to ('${hi}')`);
    return true;
  });
}

export interface RetentionResult {
  tf: Tf;
  cutoff: number;
  droppedPartitions: string[];
  deletedRows: number;
}

/**
 * Removes candles of each timeframe whose openTime is older than `now − retention[tf]`:
 * partitions wholly before the cut-off are dropped, the rest (the partition straddling the
 * cut-off and the DEFAULT partition) are trimmed with a DELETE. Timeframes without a
 * retention are kept forever. Candles inside a range the batch path recorded (backfill,
 * rebuild: store/history-ranges.ts) are kept: a partition holding one is trimmed, not dropped.
 */
export async function applyRetention(
  sql: Sql,
  schema: string,
  now: number,
  retentionMs: Partial<Record<Tf, number | null>>,
): Promise<RetentionResult[]> {
  const existing = [...(await existingPartitions(sql, schema))];
  const kept = await historyRanges(sql, schema);
  const results: RetentionResult[] = [];
  for (const tf of TIMEFRAMES) {
    const keep = retentionMs[tf];
    if (keep === null || keep === undefined) continue;
    const cutoff = now - keep;
    const ranges = kept.filter((r) => r.tf === tf);
    const dropped: string[] = [];
    for (const name of existing) {
      const p = parsePartitionName(name);
      if (p && p.tf === tf && p.end <= cutoff && !ranges.some((r) => r.fromMs < p.end && r.toMs > p.start)) {
        await sql.unsafe(`drop table if exists ${q(schema)}.${q(name)}`);
        dropped.push(name);
      }
    }
    const deletedRows = ranges.length
      ? await deleteOutsideHistoryRanges(sql, schema, tf, cutoff)
      : (await sql.unsafe(`delete from ${q(schema)}.${q(`candles_${tf}`)} where open_time < $1`, [new Date(cutoff).toISOString()])).count;
    results.push({ tf, cutoff, droppedPartitions: dropped.sort(), deletedRows });
  }
  return results;
}
