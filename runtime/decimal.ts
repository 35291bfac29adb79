import { TickworkError } from './errors.js';

/**
 * Exact decimal arithmetic: the project's one decimal type.
 *
 * A `Decimal` is `units × 10^-scale` with bigint `units`; it is the readable, allocation-happy
 * form for everything off the hot path (formatting, division, corrections, snapshots).
 *
 * The per-trade path uses two allocation-free helpers instead:
 *   - `FastDecimal.parse(s)` reads a venue string into a safe-integer `units` (trailing
 *     fraction zeros stripped, so "27123.45000000" → 2712345 at scale 2), falling back to a
 *     bigint when more than ~15 significant digits are present;
 *   - `ExactSum` accumulates such values exactly: a number part kept within ±2^52 (where every
 *     integer sum is exact in a double) plus a bigint carry that the number part spills into.
 * Nothing is ever accumulated in a float that could round.
 *
 * Rounding (division, rescaling down): half-up, i.e. ties away from zero, the rule of
 * PostgreSQL's `round(numeric, n)`. `'half-even'` is available on request.
 */

export interface Decimal {
  readonly units: bigint;
  readonly scale: number;
}

export type Rounding = 'half-up' | 'half-even';

/** Malformed decimal input or an impossible operation (division by zero). */
export class DecimalError extends TickworkError {
  constructor(message: string) {
    super('DECIMAL_INVALID', message);
  }
}

/** Largest magnitude the number fast paths hold: sums of two such values stay ≤ 2^53, exact in a double. */
export const FAST_LIMIT = 2 ** 52;

/** 10^k as a double, exact for k ≤ 22. */
export const POW10: readonly number[] = Array.from({ length: 23 }, (_, k) => 10 ** k);
/** Largest |u| with u × 10^k ≤ FAST_LIMIT. */
const FAST_BELOW: readonly number[] = POW10.map((p) => Math.floor(FAST_LIMIT / p));

const POW10N: bigint[] = [];
/** 10^k as a bigint (cached). */
export function pow10n(k: number): bigint {
  let p = POW10N[k];
  if (p === undefined) {
    p = 10n ** BigInt(k);
    if (k < 256) POW10N[k] = p;
  }
  return p;
}

export const ZERO: Decimal = Object.freeze({ units: 0n, scale: 0 });

/** Parses a plain decimal string ("-12.3400", "0.00012"), keeping the scale as written. */
export function parseDecimal(s: string): Decimal {
  const dot = s.indexOf('.');
  const intPart = dot < 0 ? s : s.slice(0, dot);
  const frac = dot < 0 ? '' : s.slice(dot + 1);
  if (!/^-?[0-9]+$/.test(intPart) || (dot >= 0 && !/^[0-9]+$/.test(frac))) {
    throw new DecimalError(`not a decimal: ${JSON.stringify(s.length > 80 ? s.slice(0, 80) + '…' : s)}`);
  }
  const neg = intPart.charCodeAt(0) === 45;
  const digits = (neg ? intPart.slice(1) : intPart) + frac;
  const u = BigInt(digits);
  return { units: neg ? -u : u, scale: frac.length };
}

/** `units / 10^scale` as a Decimal (convenience for tests and callers holding scaled integers). */
export function decimal(units: bigint | number, scale: number): Decimal {
  return { units: typeof units === 'bigint' ? units : BigInt(units), scale };
}

/** Number of fraction digits as written ("1.50" → 2, "3" → 0). */
export function fractionDigits(s: string): number {
  const dot = s.indexOf('.');
  return dot < 0 ? 0 : s.length - dot - 1;
}

export function isZero(d: Decimal): boolean {
  return d.units === 0n;
}

/** Same value at `scale` digits: exact when growing, rounded (default half-up) when shrinking. */
export function rescale(d: Decimal, scale: number, rounding: Rounding = 'half-up'): Decimal {
  if (scale === d.scale) return d;
  if (scale > d.scale) return { units: d.units * pow10n(scale - d.scale), scale };
  return { units: divRound(d.units, pow10n(d.scale - scale), rounding), scale };
}

/** Drops trailing fraction zeros (smallest exact scale). */
export function normalize(d: Decimal): Decimal {
  let { units, scale } = d;
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale--;
  }
  return scale === d.scale ? d : { units, scale };
}

export function add(a: Decimal, b: Decimal): Decimal {
  if (a.scale === b.scale) return { units: a.units + b.units, scale: a.scale };
  return a.scale > b.scale
    ? { units: a.units + b.units * pow10n(a.scale - b.scale), scale: a.scale }
    : { units: a.units * pow10n(b.scale - a.scale) + b.units, scale: b.scale };
}

export function sub(a: Decimal, b: Decimal): Decimal {
  return add(a, { units: -b.units, scale: b.scale });
}

export function mul(a: Decimal, b: Decimal): Decimal {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

/** a / b rounded to `scale` fraction digits. Throws DecimalError when b is zero. */
export function div(a: Decimal, b: Decimal, scale: number, rounding: Rounding = 'half-up'): Decimal {
  if (b.units === 0n) throw new DecimalError('division by zero');
  // a/b × 10^scale = a.units × 10^(scale + b.scale − a.scale) / b.units
  const e = scale + b.scale - a.scale;
  const num = e >= 0 ? a.units * pow10n(e) : a.units;
  const den = e >= 0 ? b.units : b.units * pow10n(-e);
  return { units: divRound(num, den, rounding), scale };
}

/** −1, 0 or 1 as a <, =, > b. */
export function compare(a: Decimal, b: Decimal): -1 | 0 | 1 {
  let x = a.units;
  let y = b.units;
  if (a.scale > b.scale) y *= pow10n(a.scale - b.scale);
  else if (b.scale > a.scale) x *= pow10n(b.scale - a.scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function max(a: Decimal, b: Decimal): Decimal {
  return compare(a, b) >= 0 ? a : b;
}

export function min(a: Decimal, b: Decimal): Decimal {
  return compare(a, b) <= 0 ? a : b;
}

/** Renders with `scale` fraction digits (default: the value's own), rounding when fewer. */
export function formatDecimal(d: Decimal, scale: number = d.scale, rounding: Rounding = 'half-up'): string {
  const r = rescale(d, scale, rounding);
  const neg = r.units < 0n;
  return pointed((neg ? -r.units : r.units).toString(), scale, neg);
}

/** Unsigned `digits` as a decimal with `scale` fraction digits (zeros before when it is shorter), signed. */
function pointed(digits: string, scale: number, neg: boolean): string {
  if (scale > 0) {
    if (digits.length <= scale) digits = '0'.repeat(scale - digits.length + 1) + digits;
    digits = digits.slice(0, digits.length - scale) + '.' + digits.slice(digits.length - scale);
  }
  return neg ? '-' + digits : digits;
}

/** Renders exactly, with at least `minScale` fraction digits (more only if the value needs them). */
export function formatExact(d: Decimal, minScale: number): string {
  if (d.scale <= minScale) return formatDecimal(d, minScale);
  const s = formatDecimal(d);
  // drop trailing fraction zeros down to minScale (string work is cheaper than bigint division)
  let end = s.length;
  const stop = s.length - (d.scale - minScale);
  while (end > stop && s.charCodeAt(end - 1) === 48) end--;
  if (end === s.length) return s;
  return s.charCodeAt(end - 1) === 46 ? s.slice(0, end - 1) : s.slice(0, end);
}

/**
 * `formatExact` of `units × 10^-scale` for a safe-integer `units`, with no bigint: the hot path's
 * sums of one bar are such numbers (see CandleSeries), and a day of 1s bars formats 260,000 of them.
 */
export function formatUnitsExact(units: number, scale: number, minScale: number): string {
  const neg = units < 0;
  let digits = String(neg ? -units : units);
  let sc = scale;
  if (units === 0) sc = minScale;
  // trailing fraction zeros go, down to minScale
  while (sc > minScale && digits.charCodeAt(digits.length - 1) === 48) {
    digits = digits.slice(0, -1);
    sc--;
  }
  if (sc < minScale) {
    digits += '0'.repeat(minScale - sc);
    sc = minScale;
  }
  return pointed(digits, sc, neg);
}

/**
 * `num × 10^e / den` rounded half up, for safe integers 0 ≤ num ≤ FAST_LIMIT, 0 < den ≤ FAST_LIMIT
 * and e ≥ 0, with no bigint (a VWAP: quote units over volume units); null when the result passes
 * FAST_LIMIT or den is too large to take a digit at a time. Long division, as many digits per
 * step as keep the dividend ≤ FAST_LIMIT: each step's double quotient has an exact floor there
 * (its rounding error is at most (n/den)·2^-53 ≤ 1/(2·den), less than the 1/den from a
 * non-integer quotient to the next integer) and an exact remainder. Equal to `div`
 * (test/runtime/decimal.test.ts).
 */
export function divScaledHalfUp(num: number, den: number, e: number): number | null {
  let q = Math.floor(num / den);
  let r = num - q * den;
  while (e > 0) {
    let k = Math.min(e, POW10.length - 1);
    let n = r * POW10[k]!;
    while (k > 0 && n > FAST_LIMIT) n = r * POW10[--k]!;
    if (k === 0) return null;
    const d = Math.floor(n / den);
    r = n - d * den;
    q = q * POW10[k]! + d;
    if (q > FAST_LIMIT) return null;
    e -= k;
  }
  return 2 * r >= den ? q + 1 : q;
}

/** num / den (den ≠ 0) rounded to an integer. */
function divRound(num: bigint, den: bigint, rounding: Rounding): bigint {
  const q = num / den;
  const r = num % den;
  if (r === 0n) return q;
  const twice = (r < 0n ? -r : r) * 2n;
  const absDen = den < 0n ? -den : den;
  const away = twice > absDen || (twice === absDen && (rounding === 'half-up' || (q & 1n) !== 0n));
  if (!away) return q;
  return (num < 0n) !== (den < 0n) ? q - 1n : q + 1n;
}

/**
 * Exact −1/0/1 comparison of `au × 10^-as` with `bu × 10^-bs` for safe-integer units,
 * without allocating unless aligning the scales would leave the exact double range.
 */
export function compareScaled(au: number, as: number, bu: number, bs: number): number {
  if (as !== bs) {
    if (as < bs) {
      const k = bs - as;
      if (k < POW10.length && au <= FAST_BELOW[k]! && au >= -FAST_BELOW[k]!) au *= POW10[k]!;
      else return compare(decimal(au, as), decimal(bu, bs));
    } else {
      const k = as - bs;
      if (k < POW10.length && bu <= FAST_BELOW[k]! && bu >= -FAST_BELOW[k]!) bu *= POW10[k]!;
      else return compare(decimal(au, as), decimal(bu, bs));
    }
  }
  return au < bu ? -1 : au > bu ? 1 : 0;
}

/**
 * Mutable scaled decimal for the hot path: value = (big ?? units) × 10^-scale, `big` null
 * whenever the value fits `units` (|units| ≤ FAST_LIMIT). Reused, never allocated per trade;
 * hot code passes these objects rather than bare numbers, since a double passed to a call
 * that is not inlined is boxed (an allocation per call).
 * After `parse(s)` the scale is the smallest exact one and `digits` the fraction length as written.
 */
export class FastDecimal {
  units = 0;
  big: bigint | null = null;
  scale = 0;
  digits = 0;

  parse(s: string): this {
    const n = s.length;
    let i = 0;
    let neg = false;
    if (n > 0 && s.charCodeAt(0) === 45) {
      neg = true;
      i = 1;
    }
    let units = 0;
    let scale = 0;
    let zeros = 0; // fraction zeros not yet folded in (they may be trailing)
    let intDigits = 0;
    let fracDigits = -1; // −1 until the dot
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 46) {
        if (fracDigits >= 0 || intDigits === 0) return this.invalid(s);
        fracDigits = 0;
        continue;
      }
      const d = c - 48;
      if (d < 0 || d > 9) return this.invalid(s);
      if (fracDigits < 0) {
        intDigits++;
        units = units * 10 + d;
      } else {
        fracDigits++;
        if (d === 0) {
          zeros++;
          continue;
        }
        if (units === 0) units = d;
        else if (zeros + 1 < POW10.length) units = units * POW10[zeros + 1]! + d;
        else return this.parseBig(s);
        scale += zeros + 1;
        zeros = 0;
      }
      if (units > FAST_LIMIT) return this.parseBig(s);
    }
    if (intDigits === 0 || fracDigits === 0) return this.invalid(s);
    this.units = neg && units !== 0 ? -units : units;
    this.big = null;
    this.scale = scale;
    this.digits = fracDigits < 0 ? 0 : fracDigits;
    return this;
  }

  /** The value as a Decimal (allocates; off the hot path). */
  toDecimal(): Decimal {
    return { units: this.big ?? BigInt(this.units), scale: this.scale };
  }

  set(units: number, big: bigint | null, scale: number): this {
    this.units = units;
    this.big = big;
    this.scale = scale;
    return this;
  }

  copyFrom(o: FastDecimal): this {
    this.units = o.units;
    this.big = o.big;
    this.scale = o.scale;
    this.digits = o.digits;
    return this;
  }

  /** this = a × b (digits are not meaningful for products). */
  setProduct(a: FastDecimal, b: FastDecimal): this {
    this.scale = a.scale + b.scale;
    this.digits = this.scale;
    if (a.big === null && b.big === null) {
      const u = a.units * b.units;
      if (u <= FAST_LIMIT && u >= -FAST_LIMIT) {
        this.units = u;
        this.big = null;
        return this;
      }
    }
    this.big = (a.big ?? BigInt(a.units)) * (b.big ?? BigInt(b.units));
    this.units = Number.NaN;
    return this;
  }

  /** Exact −1/0/1 comparison with another value. */
  compareTo(o: FastDecimal): number {
    if (this.big === null && o.big === null) {
      let a = this.units;
      let b = o.units;
      const k = o.scale - this.scale;
      if (k > 0) {
        if (k < POW10.length && a <= FAST_BELOW[k]! && a >= -FAST_BELOW[k]!) a *= POW10[k]!;
        else return compare(this.toDecimal(), o.toDecimal());
      } else if (k < 0) {
        if (-k < POW10.length && b <= FAST_BELOW[-k]! && b >= -FAST_BELOW[-k]!) b *= POW10[-k]!;
        else return compare(this.toDecimal(), o.toDecimal());
      }
      return a < b ? -1 : a > b ? 1 : 0;
    }
    return compare(this.toDecimal(), o.toDecimal());
  }

  private parseBig(s: string): this {
    const d = normalize(parseDecimal(s));
    this.big = d.units;
    this.units = Number.NaN;
    this.scale = d.scale;
    this.digits = fractionDigits(s);
    return this;
  }

  private invalid(s: string): never {
    parseDecimal(s); // throws the descriptive error
    throw new DecimalError(`not a decimal: ${JSON.stringify(s)}`);
  }
}

/**
 * An exact running sum of scaled integers: value = (hi + lo) × 10^-scale, |lo| ≤ FAST_LIMIT.
 * The scale grows to the largest scale added; adding a smaller scale multiplies up.
 */
export class ExactSum {
  hi = 0n;
  lo = 0;
  scale = 0;

  /** Adds `units × 10^-scale`; `units` must be a safe integer with |units| ≤ FAST_LIMIT. */
  add(units: number, scale: number): void {
    if (scale !== this.scale) {
      if (scale > this.scale) this.rescale(scale);
      else {
        const k = this.scale - scale;
        if (k >= POW10.length || units > FAST_BELOW[k]! || units < -FAST_BELOW[k]!) {
          this.hi += BigInt(units) * pow10n(k);
          return;
        }
        units *= POW10[k]!;
      }
    }
    const lo = this.lo + units;
    if (lo > FAST_LIMIT || lo < -FAST_LIMIT) {
      this.hi += BigInt(lo);
      this.lo = 0;
    } else this.lo = lo;
  }

  /**
   * Adds a hot-path value (either representation). The same logic as `add`, repeated so that
   * no double crosses a call boundary on the per-trade path.
   */
  addValue(x: FastDecimal): void {
    if (x.big !== null) {
      this.addBig(x.big, x.scale);
      return;
    }
    let units = x.units;
    if (x.scale !== this.scale) {
      if (x.scale > this.scale) this.rescale(x.scale);
      else {
        const k = this.scale - x.scale;
        if (k >= POW10.length || units > FAST_BELOW[k]! || units < -FAST_BELOW[k]!) {
          this.hi += BigInt(units) * pow10n(k);
          return;
        }
        units *= POW10[k]!;
      }
    }
    const lo = this.lo + units;
    if (lo > FAST_LIMIT || lo < -FAST_LIMIT) {
      this.hi += BigInt(lo);
      this.lo = 0;
    } else this.lo = lo;
  }

  /** Subtracts a hot-path value (either representation). */
  subValue(x: FastDecimal): void {
    if (x.big !== null) this.addBig(-x.big, x.scale);
    else this.add(-x.units, x.scale);
  }

  copyFrom(o: ExactSum): this {
    this.hi = o.hi;
    this.lo = o.lo;
    this.scale = o.scale;
    return this;
  }

  /** Adds `units × 10^-scale` for any bigint units. */
  addBig(units: bigint, scale: number): void {
    if (scale > this.scale) this.rescale(scale);
    this.hi += scale === this.scale ? units : units * pow10n(this.scale - scale);
  }

  addDecimal(d: Decimal): void {
    this.addBig(d.units, d.scale);
  }

  /** Adds another sum (sign −1 subtracts it). */
  addSum(o: ExactSum, sign: 1 | -1 = 1): void {
    this.addBig(sign === 1 ? o.hi : -o.hi, o.scale);
    this.add(sign === 1 ? o.lo : -o.lo, o.scale);
  }

  clear(): void {
    this.hi = 0n;
    this.lo = 0;
    this.scale = 0;
  }

  isZero(): boolean {
    // hi and lo may cancel out after subtractions
    return this.hi === 0n ? this.lo === 0 : this.hi + BigInt(this.lo) === 0n;
  }

  toDecimal(): Decimal {
    return { units: this.hi + BigInt(this.lo), scale: this.scale };
  }

  setDecimal(d: Decimal): this {
    this.hi = d.units;
    this.lo = 0;
    this.scale = d.scale;
    return this;
  }

  static of(d: Decimal): ExactSum {
    return new ExactSum().setDecimal(d);
  }

  private rescale(scale: number): void {
    const k = scale - this.scale;
    if (this.hi !== 0n) this.hi *= pow10n(k);
    if (this.lo !== 0) {
      if (k < POW10.length && this.lo <= FAST_BELOW[k]! && this.lo >= -FAST_BELOW[k]!) this.lo *= POW10[k]!;
      else {
        this.hi += BigInt(this.lo) * pow10n(k);
        this.lo = 0;
      }
    }
    this.scale = scale;
  }
}
