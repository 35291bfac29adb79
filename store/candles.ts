import { Type, type Static } from '@sinclair/typebox';
import type { Candle } from '../schemas/candle.js';
import { MAX_EPOCH_MS } from '../schemas/candle-check.js';
import { TF_MS, TIMEFRAMES, type Tf } from '../schemas/common.js';
import { CsvList, list, loadEnv } from '../runtime/config.js';
import { ConfigError, TickworkError } from '../runtime/errors.js';
import { counter, histogram } from '../runtime/metrics.js';
import type { Sql } from '../runtime/pg.js';
import { applyRetention, ensurePartitions, missingPartitions, type RetentionResult } from './partitions.js';

const Retention = (dflt: string) =>
  Type.String({ default: dflt, pattern: '^([0-9]+[smhd]|forever)$', description: 'a duration like 2d, 36h, 90m or "forever"' });

/** Storage settings (env vars, validated by the one loader). */
export const StoreEnv = Type.Object({
  TICKWORK_STORED_TFS: CsvList(
    `comma-separated timeframes stored in PostgreSQL, including 1m (others are derived from 1m); of ${TIMEFRAMES.join(',')}`,
    TIMEFRAMES.join(','),
  ),
  TICKWORK_RETENTION_1S: Retention('2d'),
  TICKWORK_RETENTION_1M: Retention('30d'),
  TICKWORK_RETENTION_5M: Retention('forever'),
  TICKWORK_RETENTION_15M: Retention('forever'),
  TICKWORK_RETENTION_1H: Retention('forever'),
  TICKWORK_RETENTION_4H: Retention('forever'),
  TICKWORK_RETENTION_1D: Retention('forever'),
  TICKWORK_PARTITIONS_AHEAD_DAYS: Type.Integer({ default: 7, minimum: 1, maximum: 366, description: 'days 1-366' }),
});
export type StoreConfig = Static<typeof StoreEnv>;

export interface CandleStoreOptions {
  /** Schema holding the tables; default: the one `candles` resolves to on the connection's search_path. */
  schema?: string;
  /** Timeframes written and read as stored; the others are derived from 1m. Default: the variables' defaults. */
  storedTfs?: readonly Tf[];
  /** Retention per timeframe in ms (null/absent: forever). Default: the variables' defaults. */
  retentionMs?: Partial<Record<Tf, number | null>>;
  /** How far ahead `maintain()` creates partitions, ms. Default: the variables' defaults. */
  partitionsAheadMs?: number;
}

export interface CandleQuery {
  venue: string;
  symbol: string;
  tf: Tf;
  /** Inclusive bounds on openTime, epoch ms. */
  from?: number;
  to?: number;
  limit: number;
  /** `asc` (default): the first `limit` candles from `from`. `desc`: the latest `limit` up to `to`, newest first. */
  order?: 'asc' | 'desc';
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const durationMs = (v: string): number | null => (v === 'forever' ? null : Number(v.slice(0, -1)) * UNIT_MS[v.slice(-1)]!);

export type StoreSettings = Required<Omit<CandleStoreOptions, 'schema'>>;

/** Reads the storage variables into CandleStore options (ConfigError naming the bad variable). */
export function loadStoreSettings(env: NodeJS.ProcessEnv): StoreSettings {
  const c = loadEnv(StoreEnv, env);
  const tfs = list(c.TICKWORK_STORED_TFS);
  const bad = tfs.find((t) => !(TIMEFRAMES as readonly string[]).includes(t));
  if (bad !== undefined || !tfs.includes('1m')) {
    throw new ConfigError(
      'TICKWORK_STORED_TFS',
      `invalid environment variable TICKWORK_STORED_TFS: ${JSON.stringify(c.TICKWORK_STORED_TFS)}; expected timeframes of ${TIMEFRAMES.join(',')} including 1m`,
    );
  }
  return {
    storedTfs: tfs as Tf[],
    retentionMs: {
      '1s': durationMs(c.TICKWORK_RETENTION_1S),
      '1m': durationMs(c.TICKWORK_RETENTION_1M),
      '5m': durationMs(c.TICKWORK_RETENTION_5M),
      '15m': durationMs(c.TICKWORK_RETENTION_15M),
      '1h': durationMs(c.TICKWORK_RETENTION_1H),
      '4h': durationMs(c.TICKWORK_RETENTION_4H),
      '1d': durationMs(c.TICKWORK_RETENTION_1D),
    },
    partitionsAheadMs: c.TICKWORK_PARTITIONS_AHEAD_DAYS * 86_400_000,
  };
}

const upserted = counter({ name: 'tickwork_store_candles_upserted_total', help: 'candle rows inserted or updated in PostgreSQL' });
const stale = counter({
  name: 'tickwork_store_candles_stale_total',
  help: 'candles not written because the stored version is newer (higher revision, or more trades at the same revision)',
});
const unstored = counter({
  name: 'tickwork_store_candles_unstored_total',
  help: 'candles of timeframes not stored (TICKWORK_STORED_TFS), dropped by the store',
});
const upsertSeconds = histogram({
  name: 'tickwork_store_upsert_seconds',
  help: 'duration of one candle batch upsert',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
});

interface CandleRow {
  venue: string;
  symbol: string;
  tf: string;
  open_ms: number;
  close_ms: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  quote_volume: string;
  vwap: string;
  buy_volume: string;
  trades: string;
  first_trade_id: string | null;
  last_trade_id: string | null;
  closed: boolean;
}

const toCandle = (r: CandleRow): Candle => ({
  venue: r.venue,
  symbol: r.symbol,
  tf: r.tf as Tf,
  openTime: r.open_ms,
  closeTime: r.close_ms,
  open: r.open,
  high: r.high,
  low: r.low,
  close: r.close,
  volume: r.volume,
  quoteVolume: r.quote_volume,
  vwap: r.vwap,
  trades: Number(r.trades),
  buyVolume: r.buy_volume,
  firstTradeId: r.first_trade_id,
  lastTradeId: r.last_trade_id,
  closed: r.closed,
});

/**
 * A candle version as the sink writes it: the candle and its revision (the Tickwork-Revision header,
 * schemas/candle.ts; 0 or absent for a version without one).
 */
export type RevisedCandle = Candle & { revision?: number };

const keyOf = (c: Candle): string => `${c.venue}\u0000${c.symbol}\u0000${c.tf}\u0000${c.openTime}`;
const revisionOf = (c: RevisedCandle): number => c.revision ?? 0;
/**
 * The version order the upsert enforces, (revision, trades, closed) compared in that order: a
 * higher revision wins whatever its trades, so a forged candle claiming more trades cannot replace
 * a revised one; among versions of one revision (rows and workers without revisions: 0) more
 * trades win, then closed; at a tie the later write wins.
 */
const newerOrSame = (a: RevisedCandle, b: RevisedCandle): boolean => {
  const ra = revisionOf(a);
  const rb = revisionOf(b);
  if (ra !== rb) return ra > rb;
  return a.trades > b.trades || (a.trades === b.trades && (a.closed || !b.closed));
};

let DEFAULTS: StoreSettings | null = null;

/**
 * The SQL adapter for candles: batched idempotent upsert, range queries, hybrid timeframes
 * (derived from stored 1m candles when a timeframe is not stored), partitions and retention.
 */
export class CandleStore {
  private readonly stored: ReadonlySet<Tf>;
  private readonly retentionMs: Partial<Record<Tf, number | null>>;
  private readonly aheadMs: number;
  private schemaName: Promise<string> | null;

  constructor(
    private readonly sql: Sql,
    opts: CandleStoreOptions = {},
  ) {
    // The composition root passes loadStoreSettings(env); tests and tools may rely on the defaults.
    const dflt = (DEFAULTS ??= loadStoreSettings({}));
    this.stored = new Set(opts.storedTfs ?? dflt.storedTfs);
    if (!this.stored.has('1m')) throw new TickworkError('CONFIG_INVALID', 'CandleStore: storedTfs must include 1m (derived timeframes are built from it)');
    this.retentionMs = opts.retentionMs ?? dflt.retentionMs;
    this.aheadMs = opts.partitionsAheadMs ?? dflt.partitionsAheadMs;
    this.schemaName = opts.schema ? Promise.resolve(opts.schema) : null;
  }

  /** Timeframes answered from their own rows; the rest of TIMEFRAMES except 1s are derived from 1m. */
  get storedTfs(): Tf[] {
    return TIMEFRAMES.filter((t) => this.stored.has(t));
  }

  schema(): Promise<string> {
    this.schemaName ??= this.sql<{ schema: string | null }[]>`
      select n.nspname as schema from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.oid = to_regclass('candles')`.then(([r]) => {
      if (!r?.schema) throw new TickworkError('SERVICE_UNAVAILABLE', 'CandleStore: table "candles" not found; run `tickwork migrate`');
      return r.schema;
    });
    this.schemaName.catch(() => (this.schemaName = null)); // retry the lookup next time
    return this.schemaName;
  }

  /** Schema-qualified table name, for `this.sql(name)` identifiers. */
  private async table(name: string): Promise<string> {
    return `${await this.schema()}.${name}`;
  }

  /**
   * Writes a batch in ONE statement (unnest of column arrays: no parameter limit, any batch size).
   * Idempotent: the same candle twice leaves one row. A version replaces the row only when it is
   * newer or the same by (revision, trades, closed) (see `newerOrSame`): a correction carries a
   * higher revision; an older re-delivery does not overwrite it. At a tie the later write wins:
   * that is how a gap bar re-coloured by a correction of an earlier bar (same 0 trades, new close)
   * lands, since the sink writes in stream order. Candles of timeframes that are not stored are
   * dropped (they are derived on read). Returns how many rows were inserted or updated.
   */
  async upsert(candles: readonly RevisedCandle[]): Promise<number> {
    const latest = new Map<string, RevisedCandle>();
    let skipped = 0;
    for (const c of candles) {
      if (!this.stored.has(c.tf as Tf)) {
        skipped++;
        continue;
      }
      const k = keyOf(c);
      const prev = latest.get(k);
      if (!prev || newerOrSame(c, prev)) latest.set(k, c);
    }
    if (skipped) unstored.inc(skipped);
    if (latest.size === 0) return 0;
    // One lock order for every writer, so two sinks writing overlapping batches cannot deadlock.
    const rows = [...latest.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, c]) => c);
    const col = <T>(f: (c: RevisedCandle) => T) => rows.map(f);
    const str = (f: (c: RevisedCandle) => string | number | boolean | null) => rows.map((c) => {
      const v = f(c);
      return v === null ? null : String(v);
    });
    const candlesT = await this.table('candles');
    const symbolsT = await this.table('symbols');
    const end = upsertSeconds.startTimer();
    const [res] = await this.sql<{ written: number }[]>`
      with input as (
        select * from unnest(
          ${col((c) => c.venue)}::text[], ${col((c) => c.symbol)}::text[], ${col((c) => c.tf)}::text[],
          ${str((c) => c.openTime)}::text[]::bigint[], ${str((c) => c.closeTime)}::text[]::bigint[],
          ${col((c) => c.open)}::text[]::numeric[], ${col((c) => c.high)}::text[]::numeric[],
          ${col((c) => c.low)}::text[]::numeric[], ${col((c) => c.close)}::text[]::numeric[],
          ${col((c) => c.volume)}::text[]::numeric[], ${col((c) => c.quoteVolume)}::text[]::numeric[],
          ${col((c) => c.vwap)}::text[]::numeric[], ${col((c) => c.buyVolume)}::text[]::numeric[],
          ${str((c) => c.trades)}::text[]::bigint[],
          ${str((c) => c.firstTradeId)}::text[], ${str((c) => c.lastTradeId)}::text[],
          ${str((c) => c.closed)}::text[]::boolean[], ${str(revisionOf)}::text[]::bigint[]
        ) as t(venue, symbol, tf, open_ms, close_ms, open, high, low, close, volume, quote_volume, vwap,
               buy_volume, trades, first_trade_id, last_trade_id, closed, revision)
      ), written as (
        insert into ${this.sql(candlesT)} as c (venue, symbol, tf, open_time, close_time, open, high, low, close, volume,
          quote_volume, vwap, buy_volume, trades, first_trade_id, last_trade_id, closed, revision)
        select venue, symbol, tf,
          timestamptz 'epoch' + open_ms * interval '1 millisecond',
          timestamptz 'epoch' + close_ms * interval '1 millisecond',
          open, high, low, close, volume, quote_volume, vwap, buy_volume, trades, first_trade_id, last_trade_id, closed, revision
        from input
        on conflict (venue, symbol, tf, open_time) do update set
          close_time = excluded.close_time, open = excluded.open, high = excluded.high, low = excluded.low,
          close = excluded.close, volume = excluded.volume, quote_volume = excluded.quote_volume,
          vwap = excluded.vwap, buy_volume = excluded.buy_volume, trades = excluded.trades,
          first_trade_id = excluded.first_trade_id, last_trade_id = excluded.last_trade_id,
          closed = excluded.closed, revision = excluded.revision, updated_at = now()
        where (excluded.revision, excluded.trades, excluded.closed) >= (c.revision, c.trades, c.closed)
        returning 1
      ), seen as (
        insert into ${this.sql(symbolsT)} as s (venue, symbol)
        select distinct venue, symbol from input order by 1, 2
        on conflict (venue, symbol) do update set last_seen = now()
      )
      select count(*)::int as written from written`;
    end();
    const written = res?.written ?? 0;
    upserted.inc(written);
    if (written < rows.length) stale.inc(rows.length - written);
    return written;
  }

  /**
   * Candles of one venue/symbol/tf ordered by openTime. Stored timeframes read their rows;
   * others are derived from the stored 1m candles (see `queryDerived`). Decimal strings come back
   * exactly as stored (PostgreSQL `numeric` keeps the scale it was given).
   */
  async query(q: CandleQuery): Promise<Candle[]> {
    const tfMs = TF_MS[q.tf];
    if (tfMs === undefined) throw new TickworkError('API_BAD_REQUEST', `unknown timeframe ${String(q.tf)}`);
    const limit = Math.max(0, Math.floor(q.limit));
    if (limit === 0) return [];
    // Bounds past what a timestamp holds would throw in toISOString: nothing lies beyond them.
    if (q.from !== undefined && q.from > MAX_EPOCH_MS) return [];
    if (q.to !== undefined && q.to > MAX_EPOCH_MS) q = { ...q, to: MAX_EPOCH_MS };
    const desc = q.order === 'desc';
    if (this.stored.has(q.tf) || q.tf === '1s') return this.queryStored(q, limit, desc);
    return this.queryDerived(q, tfMs, limit, desc);
  }

  private async queryStored(q: CandleQuery, limit: number, desc: boolean): Promise<Candle[]> {
    const t = await this.table('candles');
    const rows = await this.sql<CandleRow[]>`
      select venue, symbol, tf,
        (extract(epoch from open_time) * 1000)::float8 as open_ms,
        (extract(epoch from close_time) * 1000)::float8 as close_ms,
        open, high, low, close, volume, quote_volume, vwap, buy_volume, trades, first_trade_id, last_trade_id, closed
      from ${this.sql(t)}
      where venue = ${q.venue} and symbol = ${q.symbol} and tf = ${q.tf}
        ${q.from !== undefined ? this.sql`and open_time >= ${msToIso(q.from)}::timestamptz` : this.sql``}
        ${q.to !== undefined ? this.sql`and open_time <= ${msToIso(q.to)}::timestamptz` : this.sql``}
      order by open_time ${desc ? this.sql`desc` : this.sql`asc`}
      limit ${limit}`;
    return rows.map(toCandle);
  }

  /**
   * A timeframe built from stored 1m candles, aligned to UTC epoch multiples of the timeframe
   * (session-aligned symbols should store their timeframes instead). It reproduces the symbol
   * actor's candle (actors/windows), string for string:
   * - open / high / low from the first / extreme non-empty minute (ties: the price written with
   *   more fraction digits, then the earliest minute, as the actor chooses), close from the last minute present; an
   *   interval without trades carries the previous close, as its gap minutes do;
   * - volume, buyVolume, quoteVolume, trades: exact sums; ids from the first / last non-empty minute;
   * - vwap = quoteVolume / volume rounded half-up to the minutes' vwap digits (price precision
   *   + 4, which only grows), or the close at those digits when the volume is 0;
   * - output digits as the actor's: volumes keep the minutes' digits (the quantity digits seen so
   *   far); quoteVolume is trimmed, then padded to max(price digits, quantity digits);
   * - closed when every minute present is closed and the interval's last minute is present
   *   (minutes before a symbol's first trade never exist).
   */
  private async queryDerived(q: CandleQuery, tfMs: number, limit: number, desc: boolean): Promise<Candle[]> {
    // Bucket openTimes within [from, to] inclusive; scan the 1m rows of those buckets only. (No
    // narrowing by `limit`: buckets without any stored minute yield no candle.)
    const lo = q.from !== undefined ? Math.ceil(q.from / tfMs) * tfMs : undefined;
    const hi = q.to !== undefined ? Math.floor(q.to / tfMs) * tfMs + tfMs : undefined;
    if (lo !== undefined && hi !== undefined && lo >= hi) return [];
    const t = await this.table('candles');
    const sql = this.sql;
    const rows = await sql<CandleRow[]>`
      with m as (
        select *, date_bin(${`${tfMs} milliseconds`}::interval, open_time, timestamptz 'epoch') as bucket
        from ${sql(t)}
        where venue = ${q.venue} and symbol = ${q.symbol} and tf = '1m'
          ${lo !== undefined ? sql`and open_time >= ${msToIso(lo)}::timestamptz` : sql``}
          ${hi !== undefined ? sql`and open_time < ${msToIso(hi)}::timestamptz` : sql``}
      ), g as (
        select bucket,
          coalesce((array_agg(open order by open_time) filter (where trades > 0))[1],
                   (array_agg(open order by open_time))[1]) as open,
          (array_agg(high order by high desc, scale(high) desc, open_time) filter (where trades > 0))[1] as high_ne,
          (array_agg(low order by low, scale(low) desc, open_time) filter (where trades > 0))[1] as low_ne,
          (array_agg(close order by open_time desc))[1] as close,
          sum(volume) as volume, sum(buy_volume) as buy_volume, trim_scale(sum(quote_volume)) as quote_sum,
          sum(trades) as trades,
          (array_agg(first_trade_id order by open_time) filter (where trades > 0))[1] as first_trade_id,
          (array_agg(last_trade_id order by open_time desc) filter (where trades > 0))[1] as last_trade_id,
          max(scale(vwap)) as vwap_digits,
          greatest(max(scale(vwap)) - 4, max(scale(volume))) as quote_digits,
          bool_and(closed) and max(open_time) = bucket + ${`${tfMs - 60_000} milliseconds`}::interval as closed
        from m group by bucket
      ), r as (
        select *, round(quote_sum, greatest(scale(quote_sum), quote_digits)) as quote_volume,
          quote_sum * ('1e' || vwap_digits)::numeric as scaled
        from g
      )
      select ${q.venue}::text as venue, ${q.symbol}::text as symbol, ${q.tf}::text as tf,
        (extract(epoch from bucket) * 1000)::float8 as open_ms,
        (extract(epoch from bucket) * 1000)::float8 + ${tfMs - 1} as close_ms,
        open, coalesce(high_ne, close) as high, coalesce(low_ne, close) as low, close,
        volume, quote_volume, buy_volume, trades, first_trade_id, last_trade_id, closed,
        case when volume > 0 then
          -- exact half-up rounding: integer quotient, plus one when the remainder is at least half
          (div(scaled, volume) + case when 2 * (scaled - div(scaled, volume) * volume) >= volume then 1 else 0 end)
            * ('1e-' || vwap_digits)::numeric
        else round(close, vwap_digits) end as vwap
      from r
      order by bucket ${desc ? sql`desc` : sql`asc`}
      limit ${limit}`;
    return rows.map(toCandle);
  }

  /** Venue/symbol pairs that ever had a candle stored, with the last time one was written. */
  async knownSymbols(): Promise<{ venue: string; symbol: string; lastSeen: number }[]> {
    const t = await this.table('symbols');
    const rows = await this.sql<{ venue: string; symbol: string; last_seen: number }[]>`
      select venue, symbol, (extract(epoch from last_seen) * 1000)::float8 as last_seen from ${this.sql(t)} order by venue, symbol`;
    return rows.map((r) => ({ venue: r.venue, symbol: r.symbol, lastSeen: Math.round(r.last_seen) }));
  }

  /** Creates missing time partitions covering `[from, to]` (epoch ms); returns the new names. */
  async ensurePartitions(from: number, to: number): Promise<string[]> {
    return ensurePartitions(this.sql, await this.schema(), from, to);
  }

  /** Partitions for today (or this month) through `partitionsAheadMs` ahead of `now`. */
  async ensurePartitionsAround(now: number): Promise<string[]> {
    return this.ensurePartitions(now, now + this.aheadMs);
  }

  /** Partitions `ensurePartitionsAround(now)` would create: the sink's check, which needs no DDL rights. */
  async missingPartitionsAround(now: number): Promise<string[]> {
    return missingPartitions(this.sql, await this.schema(), now, now + this.aheadMs);
  }

  /** Deletes (drops whole partitions where possible) candles past their timeframe's retention. */
  async applyRetention(now: number): Promise<RetentionResult[]> {
    return applyRetention(this.sql, await this.schema(), now, this.retentionMs);
  }

  /** Periodic upkeep (start-up, then e.g. hourly): partitions ahead, then retention. */
  async maintain(now: number = Date.now()): Promise<{ created: string[]; retention: RetentionResult[] }> {
    const created = await this.ensurePartitionsAround(now);
    const retention = await this.applyRetention(now);
    return { created, retention };
  }
}

const msToIso = (ms: number): string => new Date(ms).toISOString();
