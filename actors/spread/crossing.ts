import { div, formatDecimal, mul, sub, type Decimal } from '../../runtime/decimal.js';

const TEN_THOUSAND: Decimal = { units: 10_000n, scale: 0 };

/** The gross top-of-book spread (bid − ask) / ask × 10000, exact, rounded half-up to 4 decimals ("39.7614"). `ask` must be > 0. */
export function spreadBps(bid: Decimal, ask: Decimal): string {
  return formatDecimal(div(mul(sub(bid, ask), TEN_THOUSAND), ask, 4), 4);
}
