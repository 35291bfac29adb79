import type { Candle } from '../schemas/candle.js';
import { TIMEFRAMES, type Tf } from '../schemas/common.js';
import { counter } from '../runtime/metrics.js';
import type { Sql } from '../runtime/pg.js';
import { existingPartitions, PARTITION_GRANULARITY, partitionName, periodStart } from './partitions.js';
import type { TransactionSql } from 'postgres';

/**
 * Bulk candle writes for the batch path (backfill, rebuild): COPY into a temporary table, then one
 * statement into `candles`, so a day of seven timeframes (~88,000 rows per symbol with 1s) goes
 * in a few round trips. The live sink keeps its own upsert (store/candles.ts); these are its
 * batch counterparts, with the same version order where a stored row meets a computed one.
 */
export interface BulkResult {
  inserted: number;
  /** Rows that differed and were replaced. */
  updated: number;
  /** Rows already stored exactly so (a re-run), or stored with more trades (left alone). */
  unchanged: number;
}

const bulkRows = counter({ name: 'tickwork_store_candles_bulk_total', help: 'candle rows written by the batch path (backfill, rebuild)', labelNames: ['outcome'] as const });

const COLUMNS = 'venue, symbol, tf, open_time, close_time, open, high, low, close, volume, quote_volume, vwap, buy_volume, trades, first_trade_id, last_trade_id, closed';
const VALUES = 'open, high, low, close, volume, quote_volume, vwap, buy_volume, trades, first_trade_id, last_trade_id, closed';

/** A text value for COPY's text format (only ids could hold a tab, newline or backslash). */
const text = (v: string | null): string => (v === null ? '\\N' : /[\t\n\r\\]/.test(v) ? v.replace(/[\t\n\r\\]/g, (c) => ({ '\t': '\\t', '\n': '\\n', '\r': '\\r', '\\': '\\\\' })[c]!) : v);

const DAY_MS = 86_400_000;
/** Fewer direct rows than this are not worth a lock and a check. */
const DIRECT_MIN = 500;
/** Last day formatted by `iso`: a batch's timestamps fall on few days. */
let isoDay = Number.NaN;
let isoDate = '';
const two = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
/** `new Date(ms).toISOString()`, with the date part cached per day (a day of 1s bars formats 172,800 of them). */
function iso(ms: number): string {
  // Years 0–9999 only: outside them toISOString writes a signed six-digit year.
  if (!(ms >= 0 && ms < 253_402_300_800_000) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY_MS);
  if (day !== isoDay) {
    isoDay = day;
    isoDate = new Date(day * DAY_MS).toISOString().slice(0, 11);
  }
  let t = ms - day * DAY_MS;
  const milli = t % 1000;
  t = (t - milli) / 1000;
  const sec = t % 60;
  t = (t - sec) / 60;
  return `${isoDate}${two((t - (t % 60)) / 60)}:${two(t % 60)}:${two(sec)}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}

function copyText(rows: readonly Candle[]): string {
  let out = '';
  let venue = '';
  let venueText = '';
  let symbol = '';
  let symbolText = '';
  for (const c of rows) {
    if (c.venue !== venue) venueText = text((venue = c.venue));
    if (c.symbol !== symbol) symbolText = text((symbol = c.symbol));
    out += `${venueText}\t${symbolText}\t${c.tf}\t${iso(c.openTime)}\t${iso(c.closeTime)}\t${c.open}\t${c.high}\t${c.low}\t${c.close}\t${c.volume}\t${c.quoteVolume}\t${c.vwap}\t${c.buyVolume}\t${c.trades}\t${text(c.firstTradeId)}\t${text(c.lastTradeId)}\t${c.closed ? 't' : 'f'}\n`;
  }
  return out;
}

/** The last version of each candle in `candles` (a batch may emit a correction after the first), of the stored timeframes. */
function latest(candles: readonly Candle[], stored: ReadonlySet<Tf>): Candle[] {
  const rows = candles.filter((c) => stored.has(c.tf as Tf));
  // Without corrections a symbol's bars of each timeframe come in openTime order: nothing repeats, no key to build.
  const lastOpen = new Map<string, number>();
  let ordered = true;
  for (const c of rows) {
    const prev = lastOpen.get(c.tf);
    if (c.venue !== rows[0]!.venue || c.symbol !== rows[0]!.symbol || (prev !== undefined && !(c.openTime > prev))) {
      ordered = false;
      break;
    }
    lastOpen.set(c.tf, c.openTime);
  }
  if (ordered) return rows;
  const byKey = new Map<string, Candle>();
  for (const c of rows) byKey.set(`${c.venue}\u0000${c.symbol}\u0000${c.tf}\u0000${c.openTime}`, c);
  return [...byKey.values()];
}

export class CandleBulkWriter {
  private readonly stored: ReadonlySet<Tf>;

  constructor(
    private readonly sql: Sql,
    private readonly schema: string,
    /** Timeframes stored (TICKWORK_STORED_TFS); the others are derived from 1m on read, not written. */
    storedTfs: readonly Tf[] = TIMEFRAMES,
    /** Wall clock: which day is today (its partition the live sink writes). */
    private readonly now: () => number = Date.now,
  ) {
    this.stored = new Set(storedTfs);
  }

  /** Loads `rows` into a fresh temporary table `candle_load` of this transaction. */
  private async load(tx: TransactionSql<Record<string, never>>, rows: readonly Candle[]): Promise<void> {
    await tx.unsafe(`create temp table candle_load (like "${this.schema}".candles including defaults) on commit drop`);
    await this.copy(tx, 'candle_load', rows);
  }

  /**
   * COPY of `rows` into `table`. Only where no row can conflict: postgres.js does not end a COPY the
   * server failed (a unique violation hangs it), so nothing here relies on that error.
   */
  private async copy(tx: TransactionSql<Record<string, never>>, table: string, rows: readonly Candle[]): Promise<void> {
    const stream = await tx.unsafe(`copy ${table} (${COLUMNS}) from stdin`).writable();
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('finish', resolve);
      // Chunks of a few thousand rows: one string per chunk, not one per row.
      for (let i = 0; i < rows.length; i += 5000) stream.write(copyText(rows.slice(i, i + 5000)));
      stream.end();
    });
  }

  /**
   * Idempotent upsert: a new candle is inserted; a stored one is replaced only when it differs and
   * the new version has at least its trades (the sink's order: a computed bar never replaces one
   * that saw more). Re-running the same batch changes nothing.
   */
  async upsert(candles: readonly Candle[]): Promise<BulkResult> {
    const rows = latest(candles, this.stored);
    if (rows.length === 0) return { inserted: 0, updated: 0, unchanged: 0 };
    const t = `"${this.schema}".candles`;
    const res = await this.sql.begin(async (tx) => {
      const { direct, rest } = await this.split(tx, rows);
      if (direct.length > 0) await this.copy(tx, t, direct);
      if (rest.length === 0) {
        // The comparing path records the symbol with its rows; without it, it is recorded here.
        await tx.unsafe(`insert into "${this.schema}".symbols (venue, symbol) values ($1, $2) on conflict (venue, symbol) do update set last_seen = now()`, [rows[0]!.venue, rows[0]!.symbol]);
        return { inserted: direct.length, updated: 0 };
      }
      const r = await this.compareAndWrite(tx, rest);
      return { inserted: direct.length + r.inserted, updated: r.updated };
    });
    const out = { ...res, unchanged: rows.length - res.inserted - res.updated };
    bulkRows.inc({ outcome: 'inserted' }, out.inserted);
    bulkRows.inc({ outcome: 'updated' }, out.updated);
    return out;
  }

  /**
   * The rows that can be copied straight into `candles` (a first backfill of a past day: no
   * temporary table to write, read and sort), and the rest. Direct: one venue and symbol, 1s bars
   * of past days (daily partitions the live sink does not write to) with nothing stored in their
   * span. Those partitions are locked against other writers (SHARE ROW EXCLUSIVE, until commit)
   * before the check, so no row can land between the check and the COPY; the monthly partitions
   * of the other timeframes, which the live sink writes, are not locked.
   */
  private async split(tx: TransactionSql<Record<string, never>>, rows: readonly Candle[]): Promise<{ direct: Candle[]; rest: readonly Candle[] }> {
    const { venue, symbol } = rows[0]!;
    const today = periodStart(this.now(), 'day');
    const direct: Candle[] = [];
    const rest: Candle[] = [];
    const parts = new Set<string>();
    const tfs = new Set<string>();
    let from = Number.POSITIVE_INFINITY;
    let to = Number.NEGATIVE_INFINITY;
    // The previous row's timeframe and day: a batch's rows come a day at a time, so the day and its
    // partition name (Date work) are worked out once per day, not per row.
    let lastTf = '';
    let day = Number.NaN;
    for (const c of rows) {
      if (c.venue !== venue || c.symbol !== symbol) return { direct: [], rest: rows };
      const tf = c.tf as Tf;
      if (PARTITION_GRANULARITY[tf] !== 'day' || c.openTime >= today) {
        rest.push(c);
        continue;
      }
      direct.push(c);
      if (tf !== lastTf || !(c.openTime >= day && c.openTime < day + DAY_MS)) {
        day = periodStart(c.openTime, 'day');
        parts.add(partitionName(tf, day));
        lastTf = tf;
      }
      tfs.add(tf);
      if (c.openTime < from) from = c.openTime;
      if (c.openTime > to) to = c.openTime;
    }
    if (direct.length < DIRECT_MIN) return { direct: [], rest: rows };
    const names = [...parts].sort();
    // A missing partition: its rows would go to the DEFAULT one, which is not ours to lock.
    const existing = await existingPartitions(tx, this.schema);
    if (!names.every((n) => existing.has(n))) return { direct: [], rest: rows };
    await tx.unsafe(`lock table ${names.map((n) => `"${this.schema}"."${n}"`).join(', ')} in share row exclusive mode`);
    const stored = await tx.unsafe(`select 1 from "${this.schema}".candles where venue = $1 and symbol = $2 and tf = any($3::text[]) and open_time between $4 and $5 limit 1`, [
      venue,
      symbol,
      [...tfs],
      iso(from),
      iso(to),
    ]);
    return stored.length === 0 ? { direct, rest } : { direct: [], rest: rows };
  }

  /** Inserts the new rows of `rows` and replaces stored ones that differ, in the sink's version order. */
  private async compareAndWrite(tx: TransactionSql<Record<string, never>>, rows: readonly Candle[]): Promise<{ inserted: number; updated: number }> {
    const t = `"${this.schema}".candles`;
    await this.load(tx, rows);
    // New rows first: a first backfill of a range is done after this one pass.
    const [fresh] = await tx.unsafe<{ inserted: number }[]>(`
      with written as (
        insert into ${t} (${COLUMNS})
        select ${COLUMNS} from candle_load order by venue, symbol, tf, open_time
        on conflict (venue, symbol, tf, open_time) do nothing
        returning 1
      ), seen as (
        insert into "${this.schema}".symbols as s (venue, symbol)
        select distinct venue, symbol from candle_load order by 1, 2
        on conflict (venue, symbol) do update set last_seen = now()
      )
      select count(*)::int as inserted from written`);
    const inserted = fresh?.inserted ?? 0;
    if (inserted === rows.length) return { inserted, updated: 0 };
    // Some were stored: those that differ are replaced. The rows just inserted are equal to theirs.
    const [changed] = await tx.unsafe<{ updated: number }[]>(`
      with written as (
        insert into ${t} as c (${COLUMNS})
        select ${COLUMNS} from candle_load order by venue, symbol, tf, open_time
        on conflict (venue, symbol, tf, open_time) do update set
          close_time = excluded.close_time, open = excluded.open, high = excluded.high, low = excluded.low,
          close = excluded.close, volume = excluded.volume, quote_volume = excluded.quote_volume,
          vwap = excluded.vwap, buy_volume = excluded.buy_volume, trades = excluded.trades,
          first_trade_id = excluded.first_trade_id, last_trade_id = excluded.last_trade_id,
          closed = excluded.closed, updated_at = now()
        where (excluded.trades, excluded.closed) >= (c.trades, c.closed)
          and (c.${VALUES.split(', ').join(', c.')}) is distinct from (excluded.${VALUES.split(', ').join(', excluded.')})
        returning 1
      )
      select count(*)::int as updated from written`);
    return { inserted, updated: changed?.updated ?? 0 };
  }

  /**
   * Replaces the stored candles of one venue/symbol for `tfs` whose bar lies wholly in
   * [fromMs, toMs) by what `produce` writes, in one transaction (rebuild): the old rows are deleted
   * first, the new ones written as they come; a failure leaves the old rows. Returns the rows
   * deleted and written, and what `produce` returned.
   */
  async replaceRange<R>(
    venue: string,
    symbol: string,
    tfs: readonly Tf[],
    fromMs: number,
    toMs: number,
    produce: (write: (candles: readonly Candle[]) => Promise<void>) => Promise<R>,
  ): Promise<{ deleted: number; written: number; result: R }> {
    const kept = tfs.filter((tf) => this.stored.has(tf));
    const t = `"${this.schema}".candles`;
    const out = await this.sql.begin(async (tx) => {
      const del = await tx.unsafe(`delete from ${t} where venue = $1 and symbol = $2 and tf = any($3::text[]) and open_time >= $4 and close_time < $5`, [
        venue,
        symbol,
        kept as string[],
        iso(fromMs),
        iso(toMs),
      ]);
      let written = 0;
      const result = await produce(async (candles) => {
        const rows = latest(candles, this.stored).filter((c) => c.venue === venue && c.symbol === symbol && kept.includes(c.tf as Tf));
        if (rows.length === 0) return;
        await this.load(tx, rows);
        // A later chunk may hold a correction of a row written by an earlier one: the last version wins.
        await tx.unsafe(`
          insert into ${t} as c (${COLUMNS}) select ${COLUMNS} from candle_load order by venue, symbol, tf, open_time
          on conflict (venue, symbol, tf, open_time) do update set
            close_time = excluded.close_time, open = excluded.open, high = excluded.high, low = excluded.low,
            close = excluded.close, volume = excluded.volume, quote_volume = excluded.quote_volume,
            vwap = excluded.vwap, buy_volume = excluded.buy_volume, trades = excluded.trades,
            first_trade_id = excluded.first_trade_id, last_trade_id = excluded.last_trade_id,
            closed = excluded.closed, updated_at = now()`);
        await tx.unsafe('drop table candle_load');
        written += rows.length;
      });
      return { deleted: del.count, written, result };
    });
    bulkRows.inc({ outcome: 'replaced' }, out.written);
    return out;
  }
}
