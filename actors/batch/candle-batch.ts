import type { Candle } from '../../schemas/candle.js';
import type { Tf } from '../../schemas/common.js';
import { SymbolWindows, type WindowsConfig, type WindowTrade } from '../windows/index.js';

/**
 * The batch path over the live path's window kernel (`SymbolWindows`): a past range of one
 * venue+symbol, trades in, closed candles out, nothing of the live actors touched. The same
 * kernel means the same candles: sessions, gap bars, every configured timeframe, exact decimals.
 *
 * Which candles it writes (the seam with the live path):
 * - only bars wholly inside `[fromMs, toMs)`: a bar cut by either end would be partial;
 * - per timeframe, only bars that open before the live path's first bar of that timeframe
 *   (`seam`): from there on the candles are the live actor's. Its first bar may be partial (it
 *   starts at the first live trade); it stays as the live path made it, never double counted.
 * Bars at or after the seam are still computed and handed to `compare` (a range overlapping live
 * data must give the live candles; the caller checks that they do). Trades before the range are
 * read only for the latest of them, whose price the gap bars before the range's first trade carry.
 */
export interface CandleBatchOptions {
  /** The kernel's configuration, as the live actors have it (venue, symbol, timeframes, session). */
  windows: WindowsConfig;
  fromMs: number;
  toMs: number;
  /** Per timeframe, openTime of the live path's first bar; absent: no live candles for that timeframe. */
  seam?: Partial<Record<Tf, number>>;
  /**
   * Receives candles to store, one call at a time: a call starts once the previous one has
   * settled and at least `minChunk` candles wait; the kernel runs on meanwhile.
   */
  write(candles: Candle[]): Promise<void>;
  /** Receives the closed candles at or after the seam (owned by the live path), for a comparison. */
  compare?(candles: Candle[]): void;
  /** Candles waiting while a write is in flight at which the kernel waits for it (back-pressure; default 20,000). */
  chunk?: number;
  /** Candles a write starts with when the store is free (default 5,000; the last write may have fewer). */
  minChunk?: number;
  /** A trade the kernel refuses (a price or quantity that is not a decimal): skipped, told here. */
  onInvalid?(trade: WindowTrade, err: Error): void;
}

export interface CandleBatchResult {
  /** Trades read from the source. */
  read: number;
  /** Trades inside [fromMs, toMs) given to the kernel. */
  applied: number;
  /** Trades outside the range (a source page may reach past it). */
  outOfRange: number;
  /** Trades outside the symbol's trading session (ignored, as live). */
  outsideSession: number;
  /** Trades too late for the kernel's correction history (dropped, as live). */
  droppedLate: number;
  /** Trades the kernel refused (malformed price or quantity), skipped. */
  invalid: number;
  /** Candles handed to `write`, per timeframe. */
  written: Partial<Record<Tf, number>>;
  /** Bars at or after the seam (the live path's), not written. */
  atSeam: number;
  /** Bars cut by the range's ends, not written. */
  partial: number;
  firstTradeTs: number | null;
  lastTradeTs: number | null;
}

const DEFAULT_CHUNK = 20_000;
const DEFAULT_MIN_CHUNK = 5_000;
/**
 * A jump in event time this long is crossed in bounded steps (`advanceToward`) before the trade is
 * applied; shorter ones the trade's own `apply` closes (far below the kernel's maxGapBars).
 */
const LONG_GAP_MS = 3_600_000;

/**
 * Runs one venue+symbol range through a fresh `SymbolWindows`. Trades may come in pages (REST,
 * files, archive); order within `historySize` bars does not matter, as in the live path.
 */
export async function runCandleBatch<T extends WindowTrade>(trades: AsyncIterable<readonly T[]>, opts: CandleBatchOptions): Promise<CandleBatchResult> {
  const { fromMs, toMs, seam = {} } = opts;
  const windows = new SymbolWindows<T>(opts.windows);
  const chunk = opts.chunk ?? DEFAULT_CHUNK;
  const minChunk = Math.min(opts.minChunk ?? DEFAULT_MIN_CHUNK, chunk);
  const res: CandleBatchResult = { read: 0, applied: 0, outOfRange: 0, outsideSession: 0, droppedLate: 0, invalid: 0, written: {}, atSeam: 0, partial: 0, firstTradeTs: null, lastTradeTs: null };
  let out: Candle[] = [];
  let live: Candle[] = [];
  // One write in flight while the kernel goes on: the store ingests a batch while the next builds
  // up, so on two cores parsing and the kernel overlap the store's work. A failed write is thrown
  // at the next flush.
  let writing: Promise<void> | null = null;
  let failed: { err: unknown } | null = null;
  const settle = async (): Promise<void> => {
    if (writing) await writing;
    if (failed) throw failed.err;
  };
  const sort = (closed: readonly Candle[]): void => {
    for (const c of closed) {
      const tf = c.tf as Tf;
      if (c.openTime < fromMs || c.closeTime >= toMs) res.partial++;
      else if (seam[tf] !== undefined && c.openTime >= seam[tf]) {
        res.atSeam++;
        live.push(c);
      } else {
        out.push(c);
        res.written[tf] = (res.written[tf] ?? 0) + 1;
      }
    }
  };
  const flush = async (force: boolean): Promise<void> => {
    if (live.length && opts.compare) opts.compare(live);
    live = [];
    if (failed) throw failed.err;
    if (writing && !force && out.length < chunk) {
      // Pages may all come from buffers already read (promise callbacks only): a turn of the event
      // loop lets the store's replies in, or each round trip of the write would wait for the next read.
      await new Promise((resolve) => setImmediate(resolve));
      return;
    }
    if (out.length === 0 || (!force && out.length < minChunk)) return;
    const batch = out;
    out = [];
    await settle();
    writing = opts.write(batch).then(
      () => void (writing = null),
      (err: unknown) => {
        writing = null;
        failed = { err };
      },
    );
  };
  // Event time jumps over a quiet stretch in bounded steps, draining the gap bars of each.
  const reach = async (ts: number): Promise<void> => {
    while (!windows.advanceToward(ts)) {
      sort(windows.drainClosed());
      await flush(false);
    }
  };

  // The kernel refuses a malformed trade before changing anything: skip it, as the live path dead-letters it.
  const apply = (t: T): boolean => {
    try {
      windows.apply(t);
      return true;
    } catch (err) {
      res.invalid++;
      opts.onInvalid?.(t, err as Error);
      return false;
    }
  };
  // The latest trade before the range: applied first, its price carries the gap bars before the
  // range's first trade (its own bar opens before fromMs, so it is never written).
  let prior: T | null = null;
  for await (const page of trades) {
    for (const t of page) {
      res.read++;
      const ts = t.ts;
      if (!(ts >= fromMs && ts < toMs)) {
        res.outOfRange++;
        if (ts < fromMs && res.applied === 0 && (prior === null || ts >= prior.ts)) prior = t;
        continue;
      }
      if (ts - windows.watermark >= LONG_GAP_MS) await reach(ts);
      if (prior !== null) {
        apply(prior);
        prior = null;
      }
      if (!apply(t)) continue;
      res.applied++;
      if (res.firstTradeTs === null || ts < res.firstTradeTs) res.firstTradeTs = ts;
      if (res.lastTradeTs === null || ts > res.lastTradeTs) res.lastTradeTs = ts;
    }
    // Closed bars are taken a page at a time (in emission order, as `reach` takes them).
    sort(windows.drainClosed());
    await flush(false);
  }
  // Close every bar that ends by the end of the range (gap bars after the last trade included).
  if (res.applied > 0) await reach(toMs);
  sort(windows.drainClosed());
  await flush(true);
  await settle();
  res.outsideSession = windows.stats.outsideSession;
  res.droppedLate = windows.stats.droppedLate;
  res.applied -= res.outsideSession;
  return res;
}
