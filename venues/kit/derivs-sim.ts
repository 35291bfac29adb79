import { fixed, trimmed, type MarketEvent, type SymbolSpec, type SyntheticMarket } from '../../simulate/market.js';

/**
 * The derivatives of a simulated perpetual, derived from the synthetic market (so every venue's
 * simulator tells one story): mark = the book's mid, index = the last trade, funding = a base
 * 1 bp per interval plus an eighth of the mark's premium over the index (capped at ±7.5 bps), open
 * interest growing with the traded volume, and a liquidation for every sweep of 3 fills or more
 * (the taker side is the liquidation order's side). All decimals are exact text from integer ticks.
 */

export const FUNDING_INTERVAL_MS = 8 * 3_600_000;

export interface DerivSnapshot {
  mark: string;
  index: string;
  /** Funding rate, 8 decimals. */
  rate: string;
  /** The next settlement (epoch ms, a multiple of the interval). */
  next: number;
  /** Open interest, base units, and in quantity ticks. */
  oi: string;
  oiTicks: bigint;
  /** Open interest × mark, quote units. */
  oiValue: string;
}

export interface SimLiquidation {
  side: 'buy' | 'sell';
  price: string;
  qty: string;
  /** The size in quantity ticks. */
  qtyTicks: number;
  ts: number;
}

export class DerivsModel {
  constructor(private readonly market: SyntheticMarket | null) {}

  /** The symbol's derivative values now, or null outside a synthetic market. */
  values(spec: SymbolSpec, now: number): DerivSnapshot | null {
    const m = this.market;
    const b = m?.book(spec.symbol);
    const t = m?.ticker(spec.symbol);
    if (!b || !t) return null;
    const mid2 = b.bid + b.ask; // twice the mid, in ticks
    const index = t.last;
    // premium in 1e-8 units, an eighth of it on top of 1 bp, capped at ±7.5 bps
    const premium = Math.round(((mid2 - 2 * index) * 1e8) / (2 * index));
    const rate = Math.max(-75_000, Math.min(75_000, 10_000 + Math.round(premium / 8)));
    const oiTicks = t.volume + 1000n * 10n ** BigInt(spec.qtyDp);
    const oiValue = oiTicks * BigInt(mid2) * 5n; // × mid: mid2 / 2 = mid2 × 5 / 10 → one more decimal
    return {
      mark: trimmed(BigInt(mid2) * 5n, spec.priceDp + 1),
      index: trimmed(index, spec.priceDp),
      rate: fixed(rate, 8),
      next: (Math.floor(now / FUNDING_INTERVAL_MS) + 1) * FUNDING_INTERVAL_MS,
      oi: trimmed(oiTicks, spec.qtyDp),
      oiTicks,
      oiValue: trimmed(oiValue, spec.qtyDp + spec.priceDp + 1),
    };
  }

  /** A sweep of 3 fills or more is a liquidation: its side, last price and whole size. */
  liquidation(ev: MarketEvent): SimLiquidation | null {
    if (ev.kind !== 'trade' || ev.fills.length < 3) return null;
    const spec = ev.spec;
    const last = ev.fills[ev.fills.length - 1]!;
    const qty = ev.fills.reduce((a, f) => a + f.qty, 0);
    return { side: ev.side, price: trimmed(last.price, spec.priceDp), qty: trimmed(qty, spec.qtyDp), qtyTicks: qty, ts: last.ts };
  }
}

/** At most one frame per `everyMs` per key (symbol), by event time. */
export class Throttle {
  private readonly last = new Map<string, number>();
  constructor(private readonly everyMs: number) {}

  ok(key: string, ts: number): boolean {
    const l = this.last.get(key);
    if (l !== undefined && ts - l < this.everyMs) return false;
    this.last.set(key, ts);
    return true;
  }
}
