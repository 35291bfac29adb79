import { describe, expect, it } from 'vitest';
import { bpsAtLeast, bpsFraction, commonStep, floorToStep, netBps, walkBooks, type WalkCosts, type WalkLevel } from '../../../actors/spread/book-walk.js';
import { formatExact, parseDecimal, type Decimal } from '../../../runtime/decimal.js';

const lv = (levels: [string, string][]): WalkLevel[] => levels.map(([p, q]) => ({ price: parseDecimal(p), qty: parseDecimal(q) }));
const fee = (bps: string) => bpsFraction(parseDecimal(bps));
const costs = (over: Partial<WalkCosts> = {}): WalkCosts => ({ buyFee: fee('10'), sellFee: fee('10'), transfer: fee('0'), maxNotional: null, lotStep: null, ...over });
const text = (d: Decimal) => formatExact(d, 0);

const ASKS = lv([
  ['100.0', '1.0'],
  ['100.5', '2.0'],
  ['101.0', '5'],
]);
const BIDS = lv([
  ['101.2', '0.5'],
  ['101.0', '1.5'],
  ['100.8', '3'],
]);

describe('walkBooks: hand-computed', () => {
  it('walks both books while bid×(1−f_B) > ask×(1+f_A): Q* = 3.0, net 1.2961, 43.0168 bps', () => {
    // 101.2·0.999 > 100·1.001 (0.5), 101.0·0.999 > 100.1 (0.5), 100.899 > 100.5·1.001 (1.0),
    // 100.8·0.999 = 100.6992 > 100.6005 (1.0), then 100.6992 < 101·1.001: the edge is gone.
    const r = walkBooks(ASKS, BIDS, costs());
    expect([text(r.qty), text(r.cost), text(r.proceeds), text(r.spent), text(r.net), r.stop, r.askLevels, r.bidLevels]).toEqual([
      '3',
      '301',
      '302.9',
      '301.301',
      '1.2961',
      'edge',
      3,
      3,
    ]);
    // 1.2961 / 301.301 × 10⁴ = 43.016783..., half-up to 4 decimals
    expect(netBps(r)).toBe('43.0168');
    expect(bpsAtLeast(r.net, r.spent, parseDecimal('43.0167'))).toBe(true);
    expect(bpsAtLeast(r.net, r.spent, parseDecimal('43.0168'))).toBe(false); // exact value is below the rounded one
  });

  it('caps at the maximum notional (at the quantity precision) and rounds down to the lot step, giving back the last units', () => {
    // cap 150: 0.5 @100 + 0.5 @100 + floor(50/100.5, 1 dp) = 0.4 @100.5 → Q 1.4; step 0.3 → 1.2 (the last fill keeps 0.2)
    const r = walkBooks(ASKS, BIDS, costs({ maxNotional: parseDecimal('150'), lotStep: parseDecimal('0.3') }));
    expect([text(r.qty), text(r.cost), text(r.proceeds), text(r.net), r.stop]).toEqual(['1.2', '120.1', '121.3', '0.9586', 'notional']);
    expect(netBps(r)).toBe('79.7371');
  });

  it('nothing when the fees exceed the spread: 101.2×0.994 = 100.5928 ≤ 100×1.006 = 100.6', () => {
    const r = walkBooks(ASKS, BIDS, costs({ buyFee: fee('60'), sellFee: fee('60') }));
    expect([text(r.qty), text(r.net), r.stop, netBps(r)]).toEqual(['0', '0', 'edge', null]);
  });

  it('a transfer cost is paid on the notional like a fee: same Q* here, net 302.9×0.999 − 301×1.0014 = 1.1757', () => {
    // marginal buy prices 100.14, 100.6407, 101.1414 against sells 101.0988, 100.899, 100.6992: stops at 101
    const r = walkBooks(ASKS, BIDS, costs({ transfer: fee('4') }));
    expect([text(r.qty), text(r.net), text(r.spent)]).toEqual(['3', '1.1757', '301.301']);
    // with 20 bps of transfer the 100.5 level no longer pays against 100.8: 100.5 × 1.003 = 100.8015 > 100.6992
    const t = walkBooks(ASKS, BIDS, costs({ transfer: fee('20') }));
    expect(text(t.qty)).toBe('2');
  });

  it('stops when a book runs out', () => {
    const r = walkBooks(lv([['1', '2']]), lv([['2', '1']]), costs());
    expect([text(r.qty), r.stop]).toEqual(['1', 'book']);
  });

  it('lot steps: the common multiple of both venues\' steps; flooring', () => {
    expect(text(commonStep(parseDecimal('0.001'), parseDecimal('0.0004'))!)).toBe('0.002');
    expect(text(commonStep(null, parseDecimal('0.01'))!)).toBe('0.01');
    expect(commonStep(null, null)).toBeNull();
    expect(text(floorToStep(parseDecimal('1.2345'), parseDecimal('0.002')))).toBe('1.234');
  });
});

/**
 * Reference: the books cut into units of the quantity precision (bigint), each unit bought and sold
 * at its own level, kept while its marginal edge is positive: Σ in integers scaled by 10^k.
 */
function reference(asks: [bigint, bigint][], bids: [bigint, bigint][], feeA: bigint, feeB: bigint): { qty: bigint; net: bigint; den: bigint } {
  // prices at scale 2, quantities at scale 1, fees in bps at scale 0
  const unitsA = asks.flatMap(([p, q]) => Array.from({ length: Number(q) }, () => p));
  const unitsB = bids.flatMap(([p, q]) => Array.from({ length: Number(q) }, () => p));
  let qty = 0n;
  let cost = 0n;
  let proceeds = 0n;
  for (let i = 0; i < Math.min(unitsA.length, unitsB.length); i++) {
    const pa = unitsA[i]!;
    const pb = unitsB[i]!;
    if (pb * (10_000n - feeB) <= pa * (10_000n + feeA)) break;
    qty++;
    cost += pa;
    proceeds += pb;
  }
  // net = proceeds(1−fB) − cost(1+fA), at price scale 2 + qty scale 1 + fee scale 4
  return { qty, net: proceeds * (10_000n - feeB) - cost * (10_000n + feeA), den: 10n ** 7n };
}

describe('walkBooks against a per-unit bigint reference (random books)', () => {
  it('500 random book pairs: the same Q* and the same exact net', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 500; round++) {
      const asks: [bigint, bigint][] = [];
      const bids: [bigint, bigint][] = [];
      let pa = 10_000n + BigInt(rnd(200));
      let pb = 10_000n + BigInt(rnd(200));
      for (let i = 0; i < 1 + rnd(8); i++) {
        asks.push([pa, BigInt(1 + rnd(30))]);
        pa += BigInt(1 + rnd(20));
      }
      for (let i = 0; i < 1 + rnd(8); i++) {
        bids.push([pb, BigInt(1 + rnd(30))]);
        pb -= BigInt(1 + rnd(20));
      }
      const feeA = BigInt(rnd(15));
      const feeB = BigInt(rnd(15));
      const dec = (u: bigint, s: number): Decimal => ({ units: u, scale: s });
      const r = walkBooks(
        asks.map(([p, q]) => ({ price: dec(p, 2), qty: dec(q, 1) })),
        bids.map(([p, q]) => ({ price: dec(p, 2), qty: dec(q, 1) })),
        { buyFee: bpsFraction(dec(feeA, 0)), sellFee: bpsFraction(dec(feeB, 0)), transfer: dec(0n, 0), maxNotional: null, lotStep: null },
      );
      const ref = reference(asks, bids, feeA, feeB);
      expect(text(r.qty)).toBe(text(dec(ref.qty, 1)));
      expect(text(r.net)).toBe(text(dec(ref.net, 7)));
    }
  });
});
