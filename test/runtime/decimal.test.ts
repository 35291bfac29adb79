import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  DecimalError,
  ExactSum,
  FAST_LIMIT,
  FastDecimal,
  add,
  compare,
  compareScaled,
  decimal,
  div,
  divScaledHalfUp,
  formatDecimal,
  formatExact,
  formatUnitsExact,
  fractionDigits,
  mul,
  normalize,
  parseDecimal,
  rescale,
  sub,
  type Decimal,
} from '../../runtime/decimal.js';

const d = parseDecimal;
const s = (x: Decimal) => formatDecimal(x);

/** Independent reference: a decimal string as a fraction n / 10^k via string surgery. */
function asFraction(text: string): [bigint, number] {
  const neg = text.startsWith('-');
  const [i, f = ''] = (neg ? text.slice(1) : text).split('.');
  const n = BigInt(i! + f);
  return [neg ? -n : n, f.length];
}
function sameValue(a: string, b: string): boolean {
  const [x, xs] = asFraction(a);
  const [y, ys] = asFraction(b);
  const k = Math.max(xs, ys);
  return x * 10n ** BigInt(k - xs) === y * 10n ** BigInt(k - ys);
}

const decimalText = fc
  .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 3 }))
  .map(([neg, u, dec, pad]) => {
    let t = u.toString().padStart(dec + 1, '0');
    if (dec > 0) t = t.slice(0, t.length - dec) + '.' + t.slice(t.length - dec);
    if (pad > 0) t += (dec > 0 ? '' : '.') + '0'.repeat(pad);
    return neg && u !== 0n ? '-' + t : t;
  });

describe('decimal: parse and format', () => {
  it('round-trips strings as written, keeping the scale', () => {
    for (const t of ['0', '1', '27123.45000000', '0.00012', '-3.5', '123456789012345678901234567890.123456789012345678901234567890']) {
      expect(s(d(t))).toBe(t);
    }
    expect(s(d('000123.40'))).toBe('123.40'); // leading zeros are not part of the value
    expect(d('27123.45000000')).toEqual({ units: 2712345000000n, scale: 8 });
    expect(fractionDigits('1.500')).toBe(3);
    expect(fractionDigits('15')).toBe(0);
  });

  it('rejects what is not a plain decimal with a typed error', () => {
    for (const bad of ['', '.5', '1.', '1e5', '+1', '1.2.3', 'abc', '--1', '1,5', ' 1']) {
      expect(() => d(bad), bad).toThrow(DecimalError);
      expect(() => new FastDecimal().parse(bad), bad).toThrow(DecimalError);
    }
  });

  it('formats with more digits (padding) or fewer (half-up rounding)', () => {
    expect(formatDecimal(d('1.5'), 4)).toBe('1.5000');
    expect(formatDecimal(d('0.000123'), 2)).toBe('0.00');
    expect(formatDecimal(d('2.345'), 2)).toBe('2.35');
    expect(formatDecimal(d('-2.345'), 2)).toBe('-2.35');
    expect(formatDecimal(d('2.345'), 2, 'half-even')).toBe('2.34');
    expect(formatDecimal(d('0.05'), 0)).toBe('0');
    expect(formatDecimal(d('-0.4'), 0)).toBe('0');
    expect(formatExact(d('1.2300'), 2)).toBe('1.23');
    expect(formatExact(d('1.2345'), 2)).toBe('1.2345');
    expect(formatExact(d('0'), 8)).toBe('0.00000000');
    expect(formatExact(d('5.000'), 0)).toBe('5');
    expect(formatExact(d('-0.0500'), 1)).toBe('-0.05');
    expect(normalize(d('1.2300'))).toEqual({ units: 123n, scale: 2 });
  });
});

describe('decimal: formatUnitsExact (the kernel\'s number path of formatExact)', () => {
  it('writes what formatExact writes, for any safe integer, scale and minimum digits', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom(0, 10, -10, 2 ** 53, -(2 ** 53), 1_000_000_000)),
        fc.integer({ min: 0, max: 18 }),
        fc.integer({ min: 0, max: 18 }),
        (units, scale, minScale) => {
          expect(formatUnitsExact(units, scale, minScale)).toBe(formatExact(decimal(BigInt(units), scale), minScale));
        },
      ),
      { numRuns: 5_000 },
    );
    expect(formatUnitsExact(0, 7, 2)).toBe('0.00');
    expect(formatUnitsExact(-5000, 5, 1)).toBe('-0.05');
    expect(formatUnitsExact(12_300, 2, 0)).toBe('123');
  });
});

describe('decimal: divScaledHalfUp (the live candles\' VWAP without bigint)', () => {
  const ref = (n: number, m: number, e: number) => div(decimal(BigInt(n), 0), decimal(BigInt(m), 0), e).units;
  it('rounds num × 10^e / den half up exactly as div does, or declines (null) only past the safe range', () => {
    const unit = fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: FAST_LIMIT }), fc.constantFrom(0, 1, FAST_LIMIT, FAST_LIMIT - 1));
    const den = fc.oneof(fc.integer({ min: 1, max: 1_000 }), fc.integer({ min: 1, max: 10_000_000_000 }), fc.integer({ min: 1, max: FAST_LIMIT }), fc.constantFrom(1, 2, 3, 7, FAST_LIMIT, FAST_LIMIT - 1));
    let declined = 0;
    fc.assert(
      fc.property(unit, den, fc.integer({ min: 0, max: 24 }), (n, m, e) => {
        const got = divScaledHalfUp(n, m, e);
        const want = ref(n, m, e);
        if (got === null) {
          declined++;
          // declines only when the result would pass the safe range or a digit cannot be taken
          expect(want > BigInt(FAST_LIMIT) || m * 10 > FAST_LIMIT).toBe(true);
        } else expect(BigInt(got)).toBe(want);
      }),
      { numRuns: 20_000 },
    );
    expect(declined).toBeLessThan(20_000);
    // halves go up; a price-like VWAP over 8 digits whose numerator alone would leave the range
    expect(divScaledHalfUp(5, 2, 0)).toBe(3);
    expect(divScaledHalfUp(7, 2, 0)).toBe(4);
    expect(divScaledHalfUp(1, 3, 2)).toBe(33);
    expect(divScaledHalfUp(2, 3, 2)).toBe(67);
    // 19999.31 × 0.18733 (quote at scale 7) over 0.18733 (scale 5), to 8 digits: e = 8 + 5 − 7
    const qu = 37_464_707_423;
    expect(qu * 10 ** 6).toBeGreaterThan(FAST_LIMIT);
    expect(divScaledHalfUp(qu, 18_733, 6)).toBe(1_999_931_000_000);
    expect(divScaledHalfUp(FAST_LIMIT - 1, FAST_LIMIT, 0)).toBe(1);
    expect(divScaledHalfUp(FAST_LIMIT / 2 - 1, FAST_LIMIT, 0)).toBe(0);
  });
});

describe('decimal: arithmetic', () => {
  it('adds, subtracts and multiplies exactly beyond 2^53', () => {
    const big = '9007199254740993.000000000000000001'; // 2^53 + 1 and a tiny fraction
    expect(s(add(d(big), d('0.000000000000000001')))).toBe('9007199254740993.000000000000000002');
    expect(s(sub(d('0.1'), d('0.3')))).toBe('-0.2');
    expect(s(sub(d('1'), d(big)))).toBe('-9007199254740992.000000000000000001');
    expect(s(mul(d('27123.45000000'), d('0.00012000')))).toBe('3.2548140000000000');
    expect(s(mul(d('123456789012345678.9'), d('98765432109876543.21')))).toBe('12193263113702179522374638011112635.269');
  });

  it('divides with half-up rounding (ties away from zero) and half-even on request', () => {
    expect(s(div(d('1'), d('3'), 4))).toBe('0.3333');
    expect(s(div(d('2'), d('3'), 4))).toBe('0.6667');
    expect(s(div(d('1'), d('8'), 2))).toBe('0.13'); // 0.125 → tie → up
    expect(s(div(d('-1'), d('8'), 2))).toBe('-0.13');
    expect(s(div(d('1'), d('-8'), 2))).toBe('-0.13');
    expect(s(div(d('1'), d('8'), 2, 'half-even'))).toBe('0.12');
    expect(s(div(d('3'), d('8'), 2, 'half-even'))).toBe('0.38');
    expect(s(div(d('2.5'), d('1'), 0))).toBe('3');
    expect(s(div(d('2.5'), d('1'), 0, 'half-even'))).toBe('2');
    expect(s(div(d('100.123456'), d('0.001'), 2))).toBe('100123.46');
    expect(s(div(d('12345678901234567890.5'), d('2'), 0))).toBe('6172839450617283945'); // .25 → down
    expect(() => div(d('1'), d('0.000'), 2)).toThrow(DecimalError);
  });

  it('matches an independent fraction reference on random inputs', () => {
    fc.assert(
      fc.property(decimalText, decimalText, (a, b) => {
        const [x, xs] = asFraction(a);
        const [y, ys] = asFraction(b);
        const k = Math.max(xs, ys);
        const X = x * 10n ** BigInt(k - xs);
        const Y = y * 10n ** BigInt(k - ys);
        expect(add(d(a), d(b))).toEqual(rescale({ units: X + Y, scale: k }, add(d(a), d(b)).scale));
        expect(sameValue(s(sub(d(a), d(b))), s({ units: X - Y, scale: k }))).toBe(true);
        expect(sameValue(s(mul(d(a), d(b))), s({ units: x * y, scale: xs + ys }))).toBe(true);
        expect(compare(d(a), d(b))).toBe(X < Y ? -1 : X > Y ? 1 : 0);
        if (Y !== 0n) {
          // floor-based half-up on magnitudes, independent of divRound
          const q = div(d(a), d(b), 6);
          const num = (X < 0n ? -X : X) * 10n ** 6n;
          const den = Y < 0n ? -Y : Y;
          let m = num / den;
          if (2n * (num % den) >= den) m += 1n;
          expect(q.units).toBe((X < 0n) !== (Y < 0n) ? -m : m);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('decimal: hot-path helpers', () => {
  it('FastDecimal strips trailing zeros, keeps the written digits, and falls back to bigint', () => {
    const p = new FastDecimal();
    p.parse('27123.45000000');
    expect([p.units, p.big, p.scale, p.digits]).toEqual([2712345, null, 2, 8]);
    p.parse('0.00012000');
    expect([p.units, p.scale, p.digits]).toEqual([12, 5, 8]);
    p.parse('100');
    expect([p.units, p.scale, p.digits]).toEqual([100, 0, 0]);
    p.parse('0.000');
    expect([p.units, p.scale, p.digits]).toEqual([0, 0, 3]);
    p.parse('-0.50');
    expect([p.units, p.scale]).toEqual([-5, 1]);
    p.parse('4503599627370497'); // 2^52 + 1: just past the fast range
    expect(p.big).toBe(4503599627370497n);
    p.parse('0.000000000000000000000000001'); // 27 decimals, one digit
    expect([p.units, p.big, p.scale]).toEqual([1, null, 27]);
    p.parse('1.000000000000000000000000001');
    expect([p.big, p.scale]).toEqual([10n ** 27n + 1n, 27]);
  });

  it('FastDecimal equals the general parser on random strings', () => {
    fc.assert(
      fc.property(decimalText, (t) => {
        const p = new FastDecimal().parse(t);
        expect(p.toDecimal()).toEqual(normalize(d(t)));
        expect(p.digits).toBe(fractionDigits(t));
        if (p.big === null) expect(Math.abs(p.units)).toBeLessThanOrEqual(FAST_LIMIT);
      }),
      { numRuns: 500 },
    );
  });

  it('ExactSum stays exact across the number/bigint boundary and scale changes', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.tuple(fc.integer({ min: -FAST_LIMIT, max: FAST_LIMIT }), fc.integer({ min: 0, max: 30 })).map(([u, sc]) => ({ units: BigInt(u), scale: sc, fast: true })),
            fc.tuple(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), fc.integer({ min: 0, max: 30 })).map(([u, sc]) => ({ units: u, scale: sc, fast: false })),
          ),
          { maxLength: 60 },
        ),
        (xs) => {
          const sum = new ExactSum();
          let ref: Decimal = decimal(0n, 0);
          for (const x of xs) {
            if (x.fast) sum.add(Number(x.units), x.scale);
            else sum.addBig(x.units, x.scale);
            ref = add(ref, x);
          }
          expect(compare(sum.toDecimal(), ref)).toBe(0);
          expect(sum.isZero()).toBe(ref.units === 0n);
          const copy = new ExactSum();
          copy.addSum(sum);
          copy.addSum(sum, -1);
          expect(copy.isZero()).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
    // many additions near the limit spill into the bigint part without rounding
    const s2 = new ExactSum();
    for (let i = 0; i < 1000; i++) s2.add(FAST_LIMIT - 1, 8);
    expect(s2.toDecimal()).toEqual({ units: 1000n * BigInt(FAST_LIMIT - 1), scale: 8 });
  });

  it('compareScaled compares exactly, also when aligning scales leaves the double range', () => {
    expect(compareScaled(15, 1, 150, 2)).toBe(0);
    expect(compareScaled(2712345, 2, 271234500000001, 10)).toBe(-1);
    expect(compareScaled(4503599627370495, 0, 4503599627370495, 20)).toBe(1);
    expect(compareScaled(1, 30, 0, 0)).toBe(1);
    fc.assert(
      fc.property(fc.integer({ min: -FAST_LIMIT, max: FAST_LIMIT }), fc.integer({ min: 0, max: 25 }), fc.integer({ min: -FAST_LIMIT, max: FAST_LIMIT }), fc.integer({ min: 0, max: 25 }), (a, as, b, bs) => {
        expect(compareScaled(a, as, b, bs)).toBe(compare(decimal(a, as), decimal(b, bs)));
      }),
      { numRuns: 500 },
    );
  });
});
