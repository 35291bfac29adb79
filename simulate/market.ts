import { TickworkError } from '../runtime/errors.js';
import { MarketDepth, type DepthChange } from './depth.js';
import { FairPrice, pathKey } from './fair.js';
import { Random, hash32 } from './random.js';
import type { SymbolHistoryStats, SyntheticOptions } from './types.js';

/**
 * The synthetic market: per-symbol books walked by bursty taker orders and quote changes, every
 * price and size an integer count of ticks (never a float) formatted by the venue adapters. Quote
 * changes pull each book towards a fair price shared by every venue plus this venue's own noise
 * (simulate/fair.ts), so venues quote alike and cross only now and then.
 * The event sequence depends only on the seed, the options and the times it is ticked at.
 */

export interface SymbolSpec {
  /** Canonical `BASE-QUOTE`. */
  symbol: string;
  base: string;
  quote: string;
  /** Position in the options' list (Zipf weight: earlier symbols trade more). */
  index: number;
  priceDp: number;
  qtyDp: number;
}

export type Side = 'buy' | 'sell';

/** One individual trade (fill); `side` is the taker's. */
export interface TradeRecord {
  id: number;
  aggId: number;
  price: number;
  qty: number;
  ts: number;
  side: Side;
}

/** Fills of one taker order at one price (Binance aggTrade, OKX `trades` aggregation). */
export interface AggRecord {
  id: number;
  firstId: number;
  lastId: number;
  price: number;
  qty: number;
  ts: number;
  side: Side;
}

export interface BookTop {
  bid: number;
  bidQty: number;
  ask: number;
  askQty: number;
  /** Book update id, increasing per change (Binance `u`, Bybit `u`). */
  updateId: number;
}

export interface TradeEvent {
  kind: 'trade';
  spec: SymbolSpec;
  ts: number;
  side: Side;
  fills: TradeRecord[];
  aggs: AggRecord[];
  /** Per-symbol message sequence (Coinbase `sequence`, Bybit `seq`, OKX `seqId`). */
  seq: number;
  book: BookTop;
  prevBook: BookTop;
  ticker: TickerStats;
  /** The true L2 book's changes for this event, in order (simulate/depth.ts). */
  depth: DepthChange[];
}

export interface QuoteEvent {
  kind: 'quote';
  spec: SymbolSpec;
  ts: number;
  seq: number;
  book: BookTop;
  prevBook: BookTop;
  ticker: TickerStats;
  depth: DepthChange[];
}

export type MarketEvent = TradeEvent | QuoteEvent;

/** Session statistics the venues' ticker frames carry. Volumes are exact integers of ticks. */
export interface TickerStats {
  open: number;
  high: number;
  low: number;
  last: number;
  lastQty: number;
  lastTradeId: number;
  /** Σ qty, in qty ticks. */
  volume: bigint;
  /** Σ price × qty, at priceDp + qtyDp decimals. */
  quoteVolume: bigint;
  trades: number;
}

// Reference prices in USD for realistic magnitudes; unknown assets get a stable hashed price.
const USD: Record<string, number> = {
  BTC: 27123.45, XBT: 27123.45, ETH: 1650.12, BNB: 215.3, SOL: 21.35, XRP: 0.5123, ADA: 0.2612,
  DOGE: 0.06123, DOT: 4.123, LTC: 65.12, LINK: 7.234, AVAX: 9.87, MATIC: 0.5512, TRX: 0.0891,
  UNI: 4.32, ATOM: 7.12, XLM: 0.1123, BCH: 235.1, ETC: 15.23, FIL: 3.21, NEAR: 1.123,
  USD: 1, USDT: 1, USDC: 1, BUSD: 1, FDUSD: 1, DAI: 1, TUSD: 1, EUR: 1.07, GBP: 1.25,
};

const usdOf = (asset: string): number => USD[asset] ?? 0.5 + (hash32(asset) % 20000) / 100;

export function specFor(symbol: string, index: number, startPrice?: string): SymbolSpec & { start: number } {
  // perpetuals (`BTC-USDT-PERP`) trade like their spot pair
  const m = /^([A-Z0-9]+)-([A-Z0-9]+)(?:-PERP)?$/.exec(symbol);
  if (!m) throw new TickworkError('USAGE_INVALID', `simulator: symbol ${symbol} is not canonical BASE-QUOTE`);
  const base = m[1]!;
  const quote = m[2]!;
  const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
  const qtyDp = clamp(Math.round(Math.log10(usdOf(base))) + 1, 0, 8);
  if (startPrice !== undefined) {
    const sm = /^(\d+)(?:\.(\d+))?$/.exec(startPrice);
    if (!sm) throw new TickworkError('USAGE_INVALID', `simulator: start price ${startPrice} for ${symbol} is not a decimal`);
    const priceDp = sm[2]?.length ?? 0;
    const start = Number((sm[1] ?? '') + (sm[2] ?? ''));
    if (!(start > 0)) throw new TickworkError('USAGE_INVALID', `simulator: start price for ${symbol} must be > 0`);
    return { symbol, base, quote, index, priceDp, qtyDp, start };
  }
  const price = usdOf(base) / usdOf(quote);
  const priceDp = clamp(4 - Math.floor(Math.log10(price)), 2, 8);
  return { symbol, base, quote, index, priceDp, qtyDp, start: Math.max(1, Math.round(price * 10 ** priceDp)) };
}

/** `ticks` as a decimal with exactly `dp` decimals, e.g. (2712345, 2) → "27123.45". */
export function fixed(ticks: number | bigint, dp: number): string {
  const neg = ticks < 0;
  const digits = (neg ? -BigInt(ticks) : BigInt(ticks)).toString();
  if (dp === 0) return (neg ? '-' : '') + digits;
  const padded = digits.padStart(dp + 1, '0');
  return `${neg ? '-' : ''}${padded.slice(0, -dp)}.${padded.slice(-dp)}`;
}

/** As `fixed`, then padded with zeros to `width` decimals (Binance's 8-decimal strings). */
export const padded = (ticks: number | bigint, dp: number, width: number): string => {
  const s = fixed(ticks, dp);
  if (dp >= width) return s;
  return dp === 0 ? `${s}.${'0'.repeat(width)}` : s + '0'.repeat(width - dp);
};

/** As `fixed`, without trailing fractional zeros ("27123.40" → "27123.4", "5.00" → "5"). */
export const trimmed = (ticks: number | bigint, dp: number): string => {
  const s = fixed(ticks, dp);
  return dp === 0 ? s : s.replace(/\.?0+$/, '');
};

/**
 * The first trade and aggTrade ids of a symbol's market: a stable per-symbol base plus `idOffset`
 * (trade ids run at twice the aggTrade ids). A past market numbers its trades below these.
 */
export function firstIds(symbol: string, idOffset = 0): { trade: number; agg: number } {
  const agg = 100_000_000 + (hash32(symbol) % 900_000_000) + idOffset;
  return { trade: agg * 2, agg };
}

interface SymbolState {
  spec: SymbolSpec;
  /** Centre of the fair price, ticks. */
  start: number;
  /** Keys of the shared fair-price path and of this venue's deviation from it (simulate/fair.ts). */
  path: number;
  venueKey: number;
  /** Ticks this venue's prices sit away from where the fair price puts them (`diverge`). */
  offset: number;
  gapMax: number;
  book: BookTop;
  seq: number;
  nextTradeId: number;
  nextAggId: number;
  fills: TradeRecord[];
  aggs: AggRecord[];
  generatedTrades: number;
  generatedAggs: number;
  ticker: TickerStats;
  weight: number;
}

export class SyntheticMarket {
  readonly specs: SymbolSpec[];
  /** The true L2 book of every symbol, moved with each event. */
  readonly depth: MarketDepth;
  private readonly states = new Map<string, SymbolState>();
  private readonly list: SymbolState[];
  private readonly rng: Random;
  private readonly fair: FairPrice;
  /** Books are moved to the fair price of the first instant the market is ticked at. */
  private anchored = false;
  private readonly burst: number;
  private readonly orderRate: number;
  private readonly quoteRate: number;
  private readonly tickMs: number;
  private readonly cumWeights: number[];
  // NaN until the first tick (or start) anchors the schedule to a clock.
  private nextOrderAt = NaN;
  private nextQuoteAt = NaN;
  private hot = false;
  private regimeUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private isPaused = false;

  constructor(
    private readonly opts: SyntheticOptions,
    private readonly historyLimit: number,
    private readonly onEvent: (ev: MarketEvent) => void,
  ) {
    if (opts.symbols.length === 0) throw new TickworkError('USAGE_INVALID', 'simulator: synthetic market needs at least one symbol');
    if (!(opts.tradesPerSec >= 0)) throw new TickworkError('USAGE_INVALID', 'simulator: tradesPerSec must be >= 0');
    this.rng = new Random(opts.seed ?? 1);
    this.depth = new MarketDepth(opts.seed ?? 1);
    this.fair = new FairPrice(opts.fair);
    this.burst = Math.min(0.95, Math.max(0, opts.burstiness ?? 0.3));
    this.tickMs = opts.tickMs ?? 5;
    const meanFills = 1 / (1 - 0.85 * this.burst);
    // Hot periods (x4 rate, ~100 ms) among cold ones (~400 ms) keep the requested mean.
    const regimeFactor = this.burst > 0 ? 1.6 : 1;
    this.orderRate = opts.tradesPerSec / meanFills / regimeFactor;
    this.quoteRate = opts.quotesPerSec ?? Math.max(1, opts.tradesPerSec / 2);
    const idOffset = opts.idOffset ?? 0;
    this.list = opts.symbols.map((symbol, index) => {
      const { start, ...spec } = specFor(symbol, index, opts.startPrice?.[symbol]);
      const gapMax = Math.max(1, Math.round(start * 1e-5));
      const half = Math.max(1, Math.floor(gapMax / 2));
      const idBase = firstIds(symbol).agg;
      const first = firstIds(symbol, idOffset);
      const st: SymbolState = {
        spec,
        start,
        path: pathKey(spec.base, spec.quote),
        venueKey: hash32(`${opts.seed ?? 1}:${symbol}`),
        offset: 0,
        gapMax,
        book: { bid: Math.max(1, start - half), bidQty: 0, ask: Math.max(2, start + half), askQty: 0, updateId: idBase * 3 },
        seq: idBase * 7,
        nextTradeId: first.trade,
        nextAggId: first.agg,
        fills: [],
        aggs: [],
        generatedTrades: 0,
        generatedAggs: 0,
        ticker: { open: start, high: start, low: start, last: start, lastQty: 0, lastTradeId: 0, volume: 0n, quoteVolume: 0n, trades: 0 },
        weight: 1 / (index + 1) ** 0.8,
      };
      st.book.bidQty = this.qty(st);
      st.book.askQty = this.qty(st);
      if (opts.trueBook !== false) this.depth.init(symbol, st.book, gapMax);
      this.states.set(symbol, st);
      return st;
    });
    this.specs = this.list.map((s) => s.spec);
    let acc = 0;
    const total = this.list.reduce((a, s) => a + s.weight, 0);
    this.cumWeights = this.list.map((s) => (acc += s.weight / total));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.rebase(Date.now());
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref?.();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    if (!this.isPaused) return;
    this.isPaused = false;
    this.rebase(Date.now());
  }

  spec(symbol: string): SymbolSpec | undefined {
    return this.states.get(symbol)?.spec;
  }

  book(symbol: string): BookTop | undefined {
    return this.states.get(symbol)?.book;
  }

  ticker(symbol: string): TickerStats | undefined {
    return this.states.get(symbol)?.ticker;
  }

  /** Fills with id >= fromId (or the most recent when fromId is undefined), oldest first, at most `limit`. */
  trades(symbol: string, q: { fromId?: number; startTime?: number; endTime?: number; limit: number; beforeId?: number }): TradeRecord[] {
    const st = this.states.get(symbol);
    return st ? query(st.fills, q) : [];
  }

  aggTrades(symbol: string, q: { fromId?: number; startTime?: number; endTime?: number; limit: number; beforeId?: number }): AggRecord[] {
    const st = this.states.get(symbol);
    return st ? query(st.aggs, q) : [];
  }

  history(): Record<string, SymbolHistoryStats> {
    const out: Record<string, SymbolHistoryStats> = {};
    for (const st of this.list) {
      const ids = st.generatedTrades > 0;
      const aggs = st.generatedAggs > 0;
      out[st.spec.symbol] = {
        trades: st.generatedTrades,
        firstTradeId: ids ? st.nextTradeId - st.generatedTrades : null,
        lastTradeId: ids ? st.nextTradeId - 1 : null,
        aggTrades: st.generatedAggs,
        firstAggId: aggs ? st.nextAggId - st.generatedAggs : null,
        lastAggId: aggs ? st.nextAggId - 1 : null,
      };
    }
    return out;
  }

  private rebase(now: number): void {
    if (!this.anchored) this.anchor(now);
    this.nextOrderAt = now + (this.orderRate > 0 ? this.rng.exp(1000 / this.orderRate) : Infinity);
    this.nextQuoteAt = now + (this.quoteRate > 0 ? this.rng.exp(1000 / this.quoteRate) : Infinity);
    this.regimeUntil = now;
  }

  /** Releases every event scheduled up to now. */
  tick(now = Date.now()): void {
    if (this.isPaused) return;
    if (Number.isNaN(this.nextOrderAt)) this.rebase(now);
    // Too far behind (blocked loop, overload): skip ahead rather than spiral.
    if (Math.min(this.nextOrderAt, this.nextQuoteAt) < now - 2000) this.rebase(now);
    for (let n = 0; n < 200_000; n++) {
      if (this.nextOrderAt <= this.nextQuoteAt) {
        if (this.nextOrderAt > now) break;
        const at = this.nextOrderAt;
        this.order(Math.floor(at));
        this.nextOrderAt = at + this.orderGap(at);
      } else {
        if (this.nextQuoteAt > now) break;
        const at = this.nextQuoteAt;
        this.quote(Math.floor(at));
        this.nextQuoteAt = at + this.rng.exp(1000 / this.quoteRate);
      }
    }
  }

  /** Starts every book at this venue's target price for `now`, so the first quotes are not a jump. */
  private anchor(now: number): void {
    this.anchored = true;
    for (const st of this.list) {
      const mid = Math.round(this.fair.target(st.start, st.path, st.venueKey, now)) + st.offset;
      const half = Math.max(1, Math.floor(st.gapMax / 2));
      st.book.bid = Math.max(1, mid - half);
      st.book.ask = Math.max(st.book.bid + 1, mid + half);
      const t = st.ticker;
      t.open = t.high = t.low = t.last = mid;
      if (this.opts.trueBook !== false) this.depth.init(st.spec.symbol, st.book, st.gapMax);
    }
  }

  /**
   * Puts the symbol's prices `ticks` away from where the fair price puts this venue (0: back), at
   * once and exactly: the top and every level of the true book move by the difference, as one quote
   * event; later requotes keep the offset. Two simulators with the same seed, one diverged, quote
   * the same book `ticks` apart (the divergence scenario of the arbitrage tests).
   */
  diverge(symbol: string, ticks: number, ts = Date.now()): void {
    const st = this.states.get(symbol);
    if (st === undefined) throw new TickworkError('USAGE_INVALID', `simulator: no symbol ${symbol} to diverge`);
    if (!Number.isSafeInteger(ticks)) throw new TickworkError('USAGE_INVALID', `simulator: divergence ticks must be an integer, got ${ticks}`);
    const delta = ticks - st.offset;
    if (delta === 0 || st.book.bid + delta < 1) return;
    st.offset = ticks;
    const prevBook = { ...st.book };
    st.book.bid += delta;
    st.book.ask += delta;
    st.book.updateId++;
    st.seq++;
    const depth = this.opts.trueBook !== false ? this.depth.shift(symbol, delta) : [];
    this.onEvent({ kind: 'quote', spec: st.spec, ts, seq: st.seq, book: { ...st.book }, prevBook, ticker: st.ticker, depth });
  }

  private orderGap(at: number): number {
    if (this.burst === 0) return this.rng.exp(1000 / this.orderRate);
    if (at >= this.regimeUntil) {
      this.hot = !this.hot;
      this.regimeUntil = at + this.rng.exp(this.hot ? 100 : 400);
    }
    return this.rng.exp(1000 / (this.orderRate * (this.hot ? 4 : 1)));
  }

  private pickSymbol(): SymbolState {
    const u = this.rng.next();
    for (let i = 0; i < this.cumWeights.length; i++) if (u < this.cumWeights[i]!) return this.list[i]!;
    return this.list[this.list.length - 1]!;
  }

  private gap(st: SymbolState): number {
    return 1 + Math.floor(this.rng.next() * st.gapMax);
  }

  /** A size worth ~$300 median (log-normal), at least one qty tick. */
  private qty(st: SymbolState): number {
    const usd = 300 * Math.exp(1.2 * this.rng.normal());
    return Math.max(1, Math.round((usd / usdOf(st.spec.base)) * 10 ** st.spec.qtyDp));
  }

  private order(ts: number): void {
    const st = this.pickSymbol();
    const side: Side = this.rng.next() < 0.5 ? 'buy' : 'sell';
    let n = 1;
    while (n < 50 && this.rng.next() < 0.85 * this.burst) n++;
    const prevBook = { ...st.book };
    const fills: TradeRecord[] = [];
    const aggs: AggRecord[] = [];
    let price = side === 'buy' ? st.book.ask : st.book.bid;
    let agg: AggRecord | null = null;
    for (let i = 0; i < n; i++) {
      if (i > 0 && this.rng.next() < 0.35) {
        const next = side === 'buy' ? price + this.gap(st) : price - this.gap(st);
        if (next >= 1) price = next;
      }
      const qty = this.qty(st);
      if (agg === null || agg.price !== price) {
        agg = { id: st.nextAggId++, firstId: st.nextTradeId, lastId: st.nextTradeId, price, qty: 0, ts, side };
        aggs.push(agg);
      }
      const fill: TradeRecord = { id: st.nextTradeId++, aggId: agg.id, price, qty, ts, side };
      agg.lastId = fill.id;
      agg.qty += qty;
      fills.push(fill);
      this.account(st, fill);
    }
    // The swept side moves past the last fill; the other side follows to a fresh spread.
    const spread = this.gap(st);
    if (side === 'buy') {
      st.book.ask = price + this.gap(st);
      st.book.askQty = this.qty(st);
      if (st.book.bid >= st.book.ask || this.rng.next() < 0.5) {
        st.book.bid = Math.max(1, st.book.ask - spread);
        st.book.bidQty = this.qty(st);
      }
    } else {
      st.book.bid = Math.max(1, price - this.gap(st));
      st.book.bidQty = this.qty(st);
      if (st.book.ask <= st.book.bid || this.rng.next() < 0.5) {
        st.book.ask = st.book.bid + spread;
        st.book.askQty = this.qty(st);
      }
    }
    // Makers requote around the fair price: the sweep's impact fades instead of adding up.
    this.pull(st, ts);
    st.book.updateId += 1 + fills.length;
    st.seq += fills.length + 1;
    st.generatedTrades += fills.length;
    st.generatedAggs += aggs.length;
    append(st.fills, fills, this.historyLimit);
    append(st.aggs, aggs, this.historyLimit);
    const depth = this.depth.apply(st.spec.symbol, st.book, st.gapMax);
    this.onEvent({ kind: 'trade', spec: st.spec, ts, side, fills, aggs, seq: st.seq, book: { ...st.book }, prevBook, ticker: st.ticker, depth });
  }

  /** Moves the book (spread kept) half the way to this venue's target: the fair price and its own noise. */
  private pull(st: SymbolState, ts: number): void {
    const b = st.book;
    const step = Math.round((this.fair.target(st.start, st.path, st.venueKey, ts) + st.offset - (b.bid + b.ask) / 2) / 2);
    if (b.bid + step >= 1) {
      b.bid += step;
      b.ask += step;
    }
  }

  private account(st: SymbolState, f: TradeRecord): void {
    const t = st.ticker;
    t.last = f.price;
    t.lastQty = f.qty;
    t.lastTradeId = f.id;
    if (f.price > t.high) t.high = f.price;
    if (f.price < t.low) t.low = f.price;
    t.volume += BigInt(f.qty);
    t.quoteVolume += BigInt(f.price) * BigInt(f.qty);
    t.trades++;
  }

  private quote(ts: number): void {
    const st = this.pickSymbol();
    const prevBook = { ...st.book };
    const b = st.book;
    if (this.rng.next() < 0.6) {
      this.pull(st, ts);
      b.bidQty = this.qty(st);
      b.askQty = this.qty(st);
    } else if (this.rng.next() < 0.5) {
      b.bidQty = this.qty(st);
    } else {
      b.askQty = this.qty(st);
    }
    b.updateId++;
    st.seq++;
    const depth = this.depth.apply(st.spec.symbol, b, st.gapMax);
    this.onEvent({ kind: 'quote', spec: st.spec, ts, seq: st.seq, book: { ...b }, prevBook, ticker: st.ticker, depth });
  }
}

function append<T>(into: T[], items: T[], limit: number): void {
  for (const it of items) into.push(it);
  // Trim in chunks so the amortized cost per trade stays O(1).
  if (into.length > limit + Math.max(1000, limit >> 2)) into.splice(0, into.length - limit);
}

/** Ids are contiguous within a history, so `fromId` is an index; times are non-decreasing, so ranges bisect. */
function query<T extends { id: number; ts: number }>(
  rows: T[],
  q: { fromId?: number; startTime?: number; endTime?: number; limit: number; beforeId?: number },
): T[] {
  if (rows.length === 0) return [];
  const first = rows[0]!.id;
  let lo = 0;
  let hi = rows.length;
  if (q.fromId !== undefined) lo = Math.max(lo, Math.min(rows.length, q.fromId - first));
  if (q.beforeId !== undefined) hi = Math.min(hi, Math.max(0, q.beforeId - first));
  if (q.startTime !== undefined) lo = Math.max(lo, bisect(rows, q.startTime));
  if (q.endTime !== undefined) hi = Math.min(hi, bisect(rows, q.endTime + 1));
  if (lo >= hi) return [];
  // Without a starting point the most recent rows are wanted.
  if (q.fromId === undefined && q.startTime === undefined) return rows.slice(Math.max(lo, hi - q.limit), hi);
  return rows.slice(lo, Math.min(hi, lo + q.limit));
}

function bisect<T extends { ts: number }>(rows: T[], ts: number): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid]!.ts < ts) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
