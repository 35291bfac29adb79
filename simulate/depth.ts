import { Random } from './random.js';
import type { BookTop } from './market.js';

/**
 * The synthetic market's true L2 book per symbol: `DEPTH` levels a side around the top the market
 * walks (so every venue's best bid/ask frames and its book agree), integer ticks only. Each market
 * event moves it once: levels the new top passed are deleted, the top level takes the new size,
 * one level of the top 10 changes size (activity a lost update leaves visible to checksums), and the
 * side is refilled or trimmed to `DEPTH`. The changes, in order, ride on the event (`depth`); the
 * venues render them as their book deltas and serve `view` as their snapshots.
 */

/** Levels per side. */
export const DEPTH = 50;

/** One level change in ticks; `qty` 0 deletes. */
export interface DepthChange {
  side: 'bid' | 'ask';
  price: number;
  qty: number;
}

/** A side's levels best first, `[priceTicks, qtyTicks]`. */
export type DepthLevels = [price: number, qty: number][];

class Side {
  /** Prices best first. */
  readonly prices: number[] = [];
  readonly qty = new Map<number, number>();

  constructor(readonly name: 'bid' | 'ask') {}

  /** True when `a` is a better price than `b` on this side. */
  better(a: number, b: number): boolean {
    return this.name === 'bid' ? a > b : a < b;
  }

  set(price: number, qty: number, out: DepthChange[]): void {
    const had = this.qty.get(price);
    if (qty === 0) {
      if (had === undefined) return;
      this.qty.delete(price);
      this.prices.splice(this.prices.indexOf(price), 1);
    } else {
      if (had === qty) return;
      if (had === undefined) {
        let i = 0;
        while (i < this.prices.length && this.better(this.prices[i]!, price)) i++;
        this.prices.splice(i, 0, price);
      }
      this.qty.set(price, qty);
    }
    out.push({ side: this.name, price, qty });
  }

  levels(n: number): DepthLevels {
    return this.prices.slice(0, n).map((p) => [p, this.qty.get(p)!]);
  }
}

class SymbolDepth {
  readonly bids = new Side('bid');
  readonly asks = new Side('ask');
}

export class MarketDepth {
  private readonly books = new Map<string, SymbolDepth>();
  // Its own stream: adding books must not change the trades a seed produces.
  private readonly rng: Random;

  constructor(seed: number) {
    this.rng = new Random((seed ^ 0x0b00c) >>> 0);
  }

  /** Builds the symbol's book around its first top. */
  init(symbol: string, top: BookTop, tick: number): void {
    const d = new SymbolDepth();
    this.books.set(symbol, d);
    this.move(d, top, tick, []);
  }

  /** Moves the symbol's book to the market's new top; returns the changes, in order. */
  apply(symbol: string, top: BookTop, tick: number): DepthChange[] {
    const d = this.books.get(symbol);
    if (d === undefined) return [];
    const out: DepthChange[] = [];
    this.move(d, top, tick, out);
    return out;
  }

  /**
   * Moves every level of the symbol's book by `ticks` (sizes kept): a venue diverging from the
   * others by a known amount. Returns the changes: each old level deleted, each new one set.
   */
  shift(symbol: string, ticks: number): DepthChange[] {
    const d = this.books.get(symbol);
    const out: DepthChange[] = [];
    if (d === undefined || ticks === 0) return out;
    for (const s of [d.bids, d.asks]) {
      const levels = s.levels(s.prices.length);
      if (levels.some(([p]) => p + ticks < 1)) continue;
      for (const [p] of levels) s.set(p, 0, out);
      for (const [p, q] of levels) s.set(p + ticks, q, out);
    }
    return out;
  }

  /** The best `n` levels per side, best first. */
  view(symbol: string, n = DEPTH): { bids: DepthLevels; asks: DepthLevels } {
    const d = this.books.get(symbol);
    return { bids: d ? d.bids.levels(n) : [], asks: d ? d.asks.levels(n) : [] };
  }

  private move(d: SymbolDepth, top: BookTop, tick: number, out: DepthChange[]): void {
    this.side(d.bids, top.bid, top.bidQty, tick, out);
    this.side(d.asks, top.ask, top.askQty, tick, out);
    // one level behind the top changes size: activity below the best bid/ask
    const s = this.rng.next() < 0.5 ? d.bids : d.asks;
    const n = Math.min(10, s.prices.length);
    if (n > 1) {
      const p = s.prices[1 + Math.floor(this.rng.next() * (n - 1))]!;
      s.set(p, this.size(s.qty.get(p)!), out);
    }
  }

  private side(s: Side, best: number, bestQty: number, tick: number, out: DepthChange[]): void {
    while (s.prices.length > 0 && s.better(s.prices[0]!, best)) s.set(s.prices[0]!, 0, out);
    s.set(best, bestQty, out);
    // the market steps its top by up to `tick` ticks; levels sit a fraction of that apart
    const step = Math.max(1, Math.floor(tick / 2));
    while (s.prices.length < DEPTH) {
      const worst = s.prices[s.prices.length - 1]!;
      const gap = step * (1 + Math.floor(this.rng.next() * 3));
      const p = s.name === 'bid' ? worst - gap : worst + gap;
      if (p < 1) break;
      s.set(p, this.size(bestQty), out);
    }
    while (s.prices.length > DEPTH) s.set(s.prices[s.prices.length - 1]!, 0, out);
  }

  /** A size around `ref`, at least one tick. */
  private size(ref: number): number {
    return Math.max(1, Math.round(ref * (0.2 + this.rng.next() * 2.5)));
  }
}
