import { TIMEFRAMES, type Tf } from '../schemas/common.js';
import type { Sql } from '../runtime/pg.js';

/**
 * Ranges of candles the batch path wrote (backfill, rebuild), kept past retention
 * (migrations/00005_history_ranges): `applyRetention` skips every candle inside one, so a backfill
 * of 2019 is still there after the next start. A row per venue, symbol, timeframe and range.
 */
export interface HistoryRange {
  venue: string;
  symbol: string;
  tf: Tf;
  fromMs: number;
  toMs: number;
  source: string;
}

const q = (ident: string): string => `"${ident.replaceAll('"', '""')}"`;
const iso = (ms: number): string => new Date(ms).toISOString();

/** Records that the candles of `tfs` in [fromMs, toMs) were written by `source` (idempotent). */
export async function recordHistoryRanges(sql: Sql, schema: string, r: Omit<HistoryRange, 'tf'> & { tfs: readonly Tf[] }): Promise<void> {
  if (r.tfs.length === 0 || !(r.fromMs < r.toMs)) return;
  await sql`
    insert into ${sql(`${schema}.candle_history_ranges`)} (venue, symbol, tf, from_time, to_time, source)
    select ${r.venue}, ${r.symbol}, tf, ${iso(r.fromMs)}::timestamptz, ${iso(r.toMs)}::timestamptz, ${r.source}
    from unnest(${r.tfs as string[]}::text[]) as t(tf)
    on conflict (venue, symbol, tf, from_time, to_time) do update set source = excluded.source, written_at = now()`;
}

/** The recorded ranges (of one timeframe), oldest first; empty where the table does not exist yet. */
export async function historyRanges(sql: Sql, schema: string, tf?: Tf): Promise<HistoryRange[]> {
  const [exists] = await sql<{ ok: boolean }[]>`select to_regclass(${`${schema}.candle_history_ranges`}) is not null as ok`;
  if (!exists?.ok) return [];
  const rows = await sql<{ venue: string; symbol: string; tf: Tf; from_ms: number; to_ms: number; source: string }[]>`
    select venue, symbol, tf, (extract(epoch from from_time) * 1000)::float8 as from_ms,
      (extract(epoch from to_time) * 1000)::float8 as to_ms, source
    from ${sql(`${schema}.candle_history_ranges`)}
    ${tf ? sql`where tf = ${tf}` : sql``}
    order by from_time, venue, symbol, tf`;
  return rows.map((r) => ({ venue: r.venue, symbol: r.symbol, tf: r.tf, fromMs: Math.round(r.from_ms), toMs: Math.round(r.to_ms), source: r.source }));
}

/**
 * Retention of one timeframe that spares the recorded ranges: rows older than `cutoff` are
 * deleted unless a range of their venue, symbol and timeframe holds them. Returns the rows deleted.
 */
export async function deleteOutsideHistoryRanges(sql: Sql, schema: string, tf: Tf, cutoff: number): Promise<number> {
  const res = await sql.unsafe(
    `delete from ${q(schema)}.${q(`candles_${tf}`)} c where c.open_time < $1
       and not exists (select 1 from ${q(schema)}.candle_history_ranges r
                       where r.tf = $2 and r.venue = c.venue and r.symbol = c.symbol
                         and c.open_time >= r.from_time and c.open_time < r.to_time)`,
    [iso(cutoff), tf],
  );
  return res.count;
}

/** A timeframe whose retention a range reaches into: the candles stay (recorded range), and why. */
export interface RetentionWarning {
  tf: Tf;
  /** The variable that sets it, e.g. `TICKWORK_RETENTION_1M`. */
  variable: string;
  retentionMs: number;
  /** Candles opening before this are past retention. */
  cutoff: number;
  message: string;
}

const DAY = 86_400_000;
const duration = (ms: number): string => (ms % DAY === 0 ? `${ms / DAY}d` : ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${ms / 1000}s`);

/**
 * For a batch writing [fromMs, …) at `now`: the stored timeframes whose retention that start is
 * older than, each with the one line to print before the batch starts.
 */
export function retentionWarnings(fromMs: number, now: number, retentionMs: Partial<Record<Tf, number | null>>, tfs: readonly Tf[]): RetentionWarning[] {
  const out: RetentionWarning[] = [];
  for (const tf of TIMEFRAMES) {
    const keep = retentionMs[tf];
    if (!tfs.includes(tf) || keep === null || keep === undefined) continue;
    const cutoff = now - keep;
    if (fromMs >= cutoff) continue;
    const variable = `TICKWORK_RETENTION_${tf.toUpperCase()}`;
    out.push({
      tf,
      variable,
      retentionMs: keep,
      cutoff,
      message:
        `the range starts ${new Date(fromMs).toISOString()}, older than the ${tf} retention (${variable}=${duration(keep)}): ` +
        `its ${tf} candles are kept as a recorded history range (candle_history_ranges), which retention skips; ` +
        `set ${variable}=forever to keep all ${tf} candles`,
    });
  }
  return out;
}
