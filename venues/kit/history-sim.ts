import type { AggRecord, SymbolSpec, SyntheticMarket, TradeRecord } from '../../simulate/market.js';
import { hash32 } from '../../simulate/random.js';
import { SlidingWindowLimit } from '../../runtime/rate-limit.js';
import type { RateLimit } from './types.js';

/**
 * The simulator's REST trade history: the synthetic market's own recent trades, preceded by a
 * computed past, so a backfill of yesterday (or of 2019) has something to read. Past trade k
 * (k = 1 is the newest) is a pure function of (symbol, k): id = the market's first id − k, time
 * within [anchor − k·interval, anchor − (k−1)·interval), price on a slow deterministic wave, so
 * any range is answered in O(rows) without storing anything, identically on every request.
 * The past needs the symbol's first live id: until the market has traded it, there is none.
 */
export const PAST_INTERVAL_MS = 2_000;

/** The market's query shape: ids `fromId ≤ id < beforeId`, times `startTime ≤ ts ≤ endTime`. */
export interface HistoryQuery {
  fromId?: number;
  beforeId?: number;
  startTime?: number;
  endTime?: number;
  limit: number;
}

export class SimHistory {
  private readonly start = new Map<string, number>();

  constructor(
    private readonly market: SyntheticMarket,
    /** Time the past ends at: the simulator's start, before any live trade. */
    private readonly anchorMs: number = Date.now(),
    private readonly intervalMs: number = PAST_INTERVAL_MS,
  ) {
    // The price the past oscillates around: the market's opening mid, fixed once.
    for (const spec of market.specs) {
      const b = market.book(spec.symbol)!;
      this.start.set(spec.symbol, Math.max(1, Math.round((b.bid + b.ask) / 2)));
    }
  }

  /** Individual fills: the computed past, then the market's own, oldest first (newest `limit` without a lower bound). */
  trades(symbol: string, q: HistoryQuery): TradeRecord[] {
    const first = this.market.history()[symbol]?.firstTradeId ?? null;
    return this.merge(symbol, q, first, (k) => this.fill(symbol, first!, k), (mq) => this.market.trades(symbol, mq));
  }

  /** Aggregate trades (Binance): in the past one fill each. */
  aggTrades(symbol: string, q: HistoryQuery): AggRecord[] {
    const h = this.market.history()[symbol];
    const firstAgg = h?.firstAggId ?? null;
    const firstFill = h?.firstTradeId ?? null;
    return this.merge(
      symbol,
      q,
      firstAgg,
      (k) => {
        const f = this.fill(symbol, firstFill!, k);
        return { id: firstAgg! - k, firstId: f.id, lastId: f.id, price: f.price, qty: f.qty, ts: f.ts, side: f.side };
      },
      (mq) => this.market.aggTrades(symbol, mq),
    );
  }

  /** Past fill k of `symbol`, whose first live fill id is `firstId`. */
  private fill(symbol: string, firstId: number, k: number): TradeRecord {
    const spec = this.market.spec(symbol) as SymbolSpec;
    const p0 = this.start.get(symbol)!;
    const h = hash32(`${symbol}:${k}`);
    const wave = 0.01 * Math.sin(k / 3000) + 0.003 * Math.sin(k / 170);
    const step = Math.max(1, Math.round(p0 * 1e-5));
    const price = Math.max(1, Math.round(p0 * (1 + wave)) + ((h % 7) - 3) * step);
    const qty = 1 + (hash32(`${symbol}:q:${k}`) % 10 ** Math.min(spec.qtyDp, 6));
    return { id: firstId - k, aggId: firstId - k, price, qty, ts: this.tsOf(k, h), side: (h >>> 8) & 1 ? 'buy' : 'sell' };
  }

  private tsOf(k: number, h = 0): number {
    return this.anchorMs - k * this.intervalMs + (h % this.intervalMs);
  }

  /** Largest k whose trade is at or after `t` (0 when none is). */
  private kAtOrAfter(symbol: string, t: number): number {
    const k = Math.floor((this.anchorMs - t) / this.intervalMs);
    if (k < 0) return 0;
    const next = k + 1;
    return this.tsOf(next, hash32(`${symbol}:${next}`)) >= t ? next : k;
  }

  /** Past rows k ∈ [kLo, kHi] (from the query's bounds) before or after the market's rows, as the query asks. */
  private merge<T extends { id: number }>(sym: string, q: HistoryQuery, firstLive: number | null, past: (k: number) => T, live: (q: HistoryQuery) => T[]): T[] {
    const ascending = q.fromId !== undefined || q.startTime !== undefined;
    if (firstLive === null) return live(q);
    const rows = (lo: number, hi: number, n: number, newest: boolean): T[] => {
      const out: T[] = [];
      if (lo > hi || n <= 0) return out;
      // Ascending ids = descending k.
      if (newest) for (let k = Math.min(hi, lo + n - 1); k >= lo; k--) out.push(past(k));
      else for (let k = hi; k >= Math.max(lo, hi - n + 1); k--) out.push(past(k));
      return out;
    };
    const kLo = Math.max(
      1,
      q.beforeId !== undefined ? firstLive - q.beforeId + 1 : 1,
      q.endTime !== undefined ? this.kAtOrAfter(sym, q.endTime + 1) + 1 : 1,
    );
    const kHi = Math.min(
      firstLive - 1,
      q.fromId !== undefined ? firstLive - q.fromId : Infinity,
      q.startTime !== undefined ? this.kAtOrAfter(sym, q.startTime) : Infinity,
    );
    if (ascending) {
      const older = rows(kLo, kHi, q.limit, false);
      return older.length >= q.limit ? older : older.concat(live({ ...q, limit: q.limit - older.length }));
    }
    const recent = live(q);
    if (recent.length >= q.limit) return recent;
    return rows(kLo, kHi, q.limit - recent.length, true).concat(recent);
  }
}

/**
 * An endpoint's own request limit as the venue states it (`RestTrades.rate`), enforced by the
 * simulator: true while a request may pass, false when it breaks the limit (answer the venue's
 * rate-limit error and count the violation).
 */
export function endpointRate(rate: RateLimit | undefined): () => boolean {
  if (!rate) return () => true;
  const window = new SlidingWindowLimit({ limit: rate.count, windowMs: rate.perMs });
  return () => window.tryTake();
}
