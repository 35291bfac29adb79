import { add, compare, div, formatDecimal, mul, normalize, pow10n, sub, type Decimal } from '../../runtime/decimal.js';

/**
 * Cross-venue arbitrage net of costs, exact (bigint decimals, no float anywhere):
 * buy on venue A by walking its asks, sell on venue B by walking its bids, one unit at a time in
 * effect, while the marginal unit still earns something after fees:
 *
 *     bid_B × (1 − f_B)  >  ask_A × (1 + f_A + t)
 *
 * (`f` the taker fee of each venue, `t` a transfer/rebalancing cost, as fractions). The size where
 * that stops holding is Q*; it is capped by a maximum notional (Σ ask × qty, before fees) and
 * rounded DOWN to the pair's lot step (so every unit kept is still profitable). Then
 *
 *     net      = proceeds × (1 − f_B) − cost × (1 + f_A + t)
 *     netBps   = net / (cost × (1 + f_A)) × 10⁴
 *
 * where cost = Σ ask × q and proceeds = Σ bid × q over the levels walked (a partial last level
 * counts its part).
 */

/** One level as decimals (the walk reads only as many as it needs). */
export interface WalkLevel {
  price: Decimal;
  qty: Decimal;
}

export interface WalkCosts {
  /** Taker fee of the buy venue, a fraction (10 bps = 0.001). */
  buyFee: Decimal;
  sellFee: Decimal;
  /** Transfer / rebalancing cost per unit of notional, a fraction (0 when inventory is pre-funded). */
  transfer: Decimal;
  /** Cap on Σ ask × qty (quote currency, before fees); null = no cap. */
  maxNotional: Decimal | null;
  /** Q* is a whole multiple of this (base units); null = the venues' own quantity precision. */
  lotStep: Decimal | null;
}

export interface WalkResult {
  /** Q*, base units (0 when not even the best levels are profitable after fees). */
  qty: Decimal;
  /** Σ ask × q bought, before fees. */
  cost: Decimal;
  /** Σ bid × q sold, before fees. */
  proceeds: Decimal;
  /** cost × (1 + f_A): the money spent, the bps denominator. */
  spent: Decimal;
  /** Net profit, quote currency, exact. */
  net: Decimal;
  /** Levels touched on each side. */
  askLevels: number;
  bidLevels: number;
  /** What stopped the walk: the edge reached zero, the notional cap, or a book ran out. */
  stop: 'edge' | 'notional' | 'book';
}

const ONE: Decimal = { units: 1n, scale: 0 };
const ZERO: Decimal = { units: 0n, scale: 0 };
const TEN_THOUSAND: Decimal = { units: 10_000n, scale: 0 };

/** A fee in basis points as a fraction ("10" → 0.0010), exactly. */
export const bpsFraction = (bps: Decimal): Decimal => ({ units: bps.units, scale: bps.scale + 4 });

/** Walks `asks` (best = lowest first) against `bids` (best = highest first). */
export function walkBooks(asks: Iterable<WalkLevel>, bids: Iterable<WalkLevel>, c: WalkCosts): WalkResult {
  const buyMult = add(add(ONE, c.buyFee), c.transfer);
  const sellMult = sub(ONE, c.sellFee);
  const ai = asks[Symbol.iterator]();
  const bi = bids[Symbol.iterator]();
  let a = ai.next();
  let b = bi.next();
  let askLevels = 0;
  let bidLevels = 0;
  let aLeft: Decimal = ZERO;
  let bLeft: Decimal = ZERO;
  if (!a.done) {
    aLeft = a.value.qty;
    askLevels++;
  }
  if (!b.done) {
    bLeft = b.value.qty;
    bidLevels++;
  }
  /** Fills in order: [ask price, bid price, qty]. */
  const fills: [Decimal, Decimal, Decimal][] = [];
  let qty: Decimal = ZERO;
  let cost: Decimal = ZERO;
  let stop: WalkResult['stop'] = 'book';
  while (!a.done && !b.done) {
    const pa = a.value.price;
    const pb = b.value.price;
    if (compare(mul(pb, sellMult), mul(pa, buyMult)) <= 0) {
      stop = 'edge';
      break;
    }
    let take = compare(aLeft, bLeft) <= 0 ? aLeft : bLeft;
    let capped = false;
    if (c.maxNotional !== null) {
      const room = sub(c.maxNotional, cost);
      // the most this level may add within the cap, at the precision the quantities are given in
      const fit = floorDiv(room, pa, Math.max(aLeft.scale, bLeft.scale, c.lotStep?.scale ?? 0));
      if (compare(fit, take) < 0) {
        take = fit;
        capped = true;
      }
    }
    if (take.units > 0n) {
      fills.push([pa, pb, take]);
      qty = add(qty, take);
      cost = add(cost, mul(pa, take));
      aLeft = sub(aLeft, take);
      bLeft = sub(bLeft, take);
    }
    if (capped) {
      stop = 'notional';
      break;
    }
    if (aLeft.units === 0n) {
      a = ai.next();
      if (!a.done) {
        aLeft = a.value.qty;
        askLevels++;
      }
    }
    if (bLeft.units === 0n) {
      b = bi.next();
      if (!b.done) {
        bLeft = b.value.qty;
        bidLevels++;
      }
    }
  }
  // Round down to the lot step: the units given back are the last (least profitable) ones.
  if (c.lotStep !== null && c.lotStep.units > 0n) {
    const kept = floorToStep(qty, c.lotStep);
    let excess = sub(qty, kept);
    while (excess.units > 0n && fills.length > 0) {
      const last = fills[fills.length - 1]!;
      if (compare(last[2], excess) <= 0) {
        excess = sub(excess, last[2]);
        fills.pop();
      } else {
        last[2] = sub(last[2], excess);
        excess = ZERO;
      }
    }
    qty = kept;
  }
  let spentCost: Decimal = ZERO;
  let proceeds: Decimal = ZERO;
  for (const [pa, pb, q] of fills) {
    spentCost = add(spentCost, mul(pa, q));
    proceeds = add(proceeds, mul(pb, q));
  }
  const net = sub(mul(proceeds, sellMult), mul(spentCost, buyMult));
  return {
    qty: normalize(qty),
    cost: normalize(spentCost),
    proceeds: normalize(proceeds),
    spent: normalize(mul(spentCost, add(ONE, c.buyFee))),
    net: normalize(net),
    askLevels,
    bidLevels,
    stop,
  };
}

/**
 * netBps = net / spent × 10⁴, rounded half-up (ties away from zero) to 4 fraction digits: the
 * project's one rounding rule (runtime/decimal.ts), as PostgreSQL's round(numeric, 4). Null when
 * nothing is spent. Decisions never use this rounded figure: see `bpsAtLeast`.
 */
export function netBps(r: Pick<WalkResult, 'net' | 'spent'>): string | null {
  if (r.spent.units === 0n) return null;
  return formatDecimal(div(mul(r.net, TEN_THOUSAND), r.spent, 4), 4);
}

/** Exactly whether net / spent × 10⁴ ≥ `bps` (spent > 0), by cross-multiplication: no rounding involved. */
export function bpsAtLeast(net: Decimal, spent: Decimal, bps: Decimal): boolean {
  return compare(mul(net, TEN_THOUSAND), mul(bps, spent)) >= 0;
}

/** Exactly whether n1/d1 > n2/d2 (d1, d2 > 0). */
export function ratioGreater(n1: Decimal, d1: Decimal, n2: Decimal, d2: Decimal): boolean {
  return compare(mul(n1, d2), mul(n2, d1)) > 0;
}

/** a / b rounded toward zero to `scale` digits (a ≥ 0, b > 0): the most of b's unit that fits in a. */
export function floorDiv(a: Decimal, b: Decimal, scale: number): Decimal {
  if (a.units <= 0n) return { units: 0n, scale };
  const e = scale + b.scale - a.scale;
  const num = e >= 0 ? a.units * pow10n(e) : a.units;
  const den = e >= 0 ? b.units : b.units * pow10n(-e);
  return { units: num / den, scale };
}

/** The largest multiple of `step` (> 0) not above `q` (≥ 0). */
export function floorToStep(q: Decimal, step: Decimal): Decimal {
  const s = Math.max(q.scale, step.scale);
  const qu = q.units * pow10n(s - q.scale);
  const su = step.units * pow10n(s - step.scale);
  return { units: (qu / su) * su, scale: s };
}

/** The smallest step both `a` and `b` divide (their least common multiple as decimals): 0.001 and 0.0004 → 0.002. */
export function commonStep(a: Decimal | null, b: Decimal | null): Decimal | null {
  if (a === null) return b;
  if (b === null) return a;
  const s = Math.max(a.scale, b.scale);
  const au = a.units * pow10n(s - a.scale);
  const bu = b.units * pow10n(s - b.scale);
  return normalize({ units: (au / gcd(au, bu)) * bu, scale: s });
}

function gcd(x: bigint, y: bigint): bigint {
  while (y !== 0n) [x, y] = [y, x % y];
  return x < 0n ? -x : x;
}
