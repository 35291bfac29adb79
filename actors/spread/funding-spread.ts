import { div, formatDecimal, mul, parseDecimal, sub, type Decimal } from '../../runtime/decimal.js';
import { FUNDING_8H_MS, type DerivTicker } from '../../schemas/deriv.js';

/**
 * The funding spread between two perpetual venues of one symbol: long where funding is lower,
 * short where it is higher, collecting the difference each settlement. Rates are per each venue's
 * own interval (8 h, 4 h, 1 h), so both are first normalized to 8 h:
 *
 *     r₈ = r × 8 h / interval,   spread = (r₈(short) − r₈(long)) × 10⁴ bps per 8 h
 *
 * computed exactly as a ratio: ((r_s·i_l − r_l·i_s) · 8 h) / (i_l · i_s).
 */

export interface FundingSide {
  venue: string;
  rate: string;
  intervalMs: number;
  /** Mark price (or index, or last), reported with the spread. */
  price: string;
}

export interface FundingSpread {
  num: Decimal;
  den: Decimal;
  /** Rounded half-up to 4 decimals, bps per 8 h. */
  bps: string;
}

const EIGHT_H: Decimal = { units: BigInt(FUNDING_8H_MS), scale: 0 };
const TEN_THOUSAND: Decimal = { units: 10_000n, scale: 0 };

/** A ticker usable for funding: a rate, an interval and a price, received within `staleMs` of `now`. */
export function fundingSide(t: DerivTicker | undefined, now: number, staleMs: number): FundingSide | null {
  if (t === undefined || t.fundingRate === null || t.fundingIntervalMs === null || now - t.recvTs > staleMs) return null;
  const price = t.markPrice ?? t.indexPrice ?? t.lastPrice;
  if (price === null) return null;
  return { venue: t.venue, rate: t.fundingRate, intervalMs: t.fundingIntervalMs, price };
}

export function fundingSpread(long: FundingSide, short: FundingSide): FundingSpread {
  const il: Decimal = { units: BigInt(long.intervalMs), scale: 0 };
  const is: Decimal = { units: BigInt(short.intervalMs), scale: 0 };
  const num = mul(sub(mul(parseDecimal(short.rate), il), mul(parseDecimal(long.rate), is)), EIGHT_H);
  const den = mul(il, is);
  return { num, den, bps: formatDecimal(div(mul(num, TEN_THOUSAND), den, 4), 4) };
}

/** A rate normalized to 8 h, exact to 12 decimals (half-up), as reported beside the spread. */
export function rate8h(side: FundingSide): string {
  return formatDecimal(div(mul(parseDecimal(side.rate), EIGHT_H), { units: BigInt(side.intervalMs), scale: 0 }, 12), 12);
}
