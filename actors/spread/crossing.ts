import { compare, div, formatDecimal, mul, sub, type Decimal } from '../../runtime/decimal.js';

const TEN_THOUSAND: Decimal = { units: 10_000n, scale: 0 };

/** (bid − ask) / ask × 10000, exact, rounded half-up to 4 decimals ("39.7614"). `ask` must be > 0. */
export function spreadBps(bid: Decimal, ask: Decimal): string {
  return formatDecimal(div(mul(sub(bid, ask), TEN_THOUSAND), ask, 4), 4);
}

/**
 * Whether `bid` exceeds `ask` (> 0) by at least `minBps`, decided exactly on the unrounded
 * spread: (bid − ask) × 10000 ≥ minBps × ask, and bid > ask even when minBps is 0.
 */
export function crossesBy(bid: Decimal, ask: Decimal, minBps: Decimal): boolean {
  return compare(bid, ask) > 0 && compare(mul(sub(bid, ask), TEN_THOUSAND), mul(minBps, ask)) >= 0;
}

/** One venue's latest top of book for a symbol; a side is null when the venue has none (price ≤ 0). */
export interface VenueTop {
  venue: string;
  bid: Decimal | null;
  ask: Decimal | null;
  /** The prices exactly as the venue sent them (what the opportunity reports). */
  bidText: string;
  askText: string;
  /** Venue time of the quote, epoch ms. */
  ts: number;
}

/** Buy at `buy`'s ask, sell at `sell`'s bid. */
export interface Crossing {
  buy: VenueTop;
  sell: VenueTop;
}

/**
 * The best cross-venue pair: among venues A ≠ B where A's bid exceeds B's ask by at least
 * `minBps`, the one with the largest bid/ask ratio (= largest spread in bps), compared exactly
 * by cross-multiplication; ties go to the lexically first (buy, sell) venue pair. Null if none.
 */
export function bestCrossing(tops: Iterable<VenueTop>, minBps: Decimal): Crossing | null {
  const all = [...tops];
  let best: Crossing | null = null;
  for (const buy of all) {
    const ask = buy.ask;
    if (ask === null) continue;
    for (const sell of all) {
      const bid = sell.bid;
      if (bid === null || sell.venue === buy.venue || !crossesBy(bid, ask, minBps)) continue;
      if (best === null || better(bid, ask, sell.venue, buy.venue, best)) best = { buy, sell };
    }
  }
  return best;
}

/** bid/ask > best.bid/best.ask ⇔ bid × best.ask > best.bid × ask (asks are positive). */
function better(bid: Decimal, ask: Decimal, sellVenue: string, buyVenue: string, best: Crossing): boolean {
  const c = compare(mul(bid, best.buy.ask!), mul(best.sell.bid!, ask));
  if (c !== 0) return c > 0;
  return buyVenue < best.buy.venue || (buyVenue === best.buy.venue && sellVenue < best.sell.venue);
}

/** Same pair at the same prices (by value: "1.50" equals "1.5"). */
export function sameCrossing(a: Crossing, b: Crossing): boolean {
  return (
    a.buy.venue === b.buy.venue &&
    a.sell.venue === b.sell.venue &&
    compare(a.buy.ask!, b.buy.ask!) === 0 &&
    compare(a.sell.bid!, b.sell.bid!) === 0
  );
}
