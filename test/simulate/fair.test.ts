// The synthetic market's shared fair price: venues quote around it and cross only now and then.
import { beforeAll, describe, expect, it } from 'vitest';
import { FairPrice, pathKey } from '../../simulate/fair.js';
import { SyntheticMarket, type BookTop } from '../../simulate/market.js';

const T0 = 1_700_000_000_000;
const MIN = 60_000;
const SYMBOLS = ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'];

interface Run {
  symbol: string;
  /** Both venues' tops every 250 ms, from the first instant both have one. */
  samples: [BookTop, BookTop][];
  /** Time of each sample, ms after T0. */
  at: number[];
}

/** Two venues as `up --demo` runs them (seeds 1 and 2, 20 trades/s), ticked together on a simulated clock. */
function twoVenues(minutes: number): Run[] {
  const tops = [new Map<string, BookTop>(), new Map<string, BookTop>()];
  const markets = [1, 2].map((seed, i) => new SyntheticMarket({ symbols: SYMBOLS, tradesPerSec: 20, seed }, 1000, (ev) => tops[i]!.set(ev.spec.symbol, { ...ev.book })));
  const out: Run[] = SYMBOLS.map((symbol) => ({ symbol, samples: [], at: [] }));
  for (let t = 0; t <= minutes * MIN; t += 50) {
    for (const m of markets) m.tick(T0 + t);
    if (t % 250 !== 0) continue;
    for (const o of out) {
      const a = tops[0]!.get(o.symbol);
      const b = tops[1]!.get(o.symbol);
      if (a && b) {
        o.samples.push([a, b]);
        o.at.push(t);
      }
    }
  }
  return out;
}

/** bid − ask of the pair in bps of the ask, for the better of the two directions (> 0: the quotes cross). */
const crossBps = ([a, b]: [BookTop, BookTop]): number => Math.max(((a.bid - b.ask) / b.ask) * 1e4, ((b.bid - a.ask) / a.ask) * 1e4);

describe('fair price (simulate/fair.ts)', () => {
  it('is a pure function of pair and time, shared by every instance, with day-scale moves of a few percent', () => {
    const a = new FairPrice();
    const b = new FairPrice();
    const btc = pathKey('BTC', 'USDT');
    expect(pathKey('BTC', 'USD')).toBe(btc);
    expect(pathKey('ETH', 'USDT')).not.toBe(btc);
    const moves: number[] = [];
    for (let d = 0; d < 200; d++) {
      const t = T0 + d * 3 * 86_400_000;
      expect(a.logFair(btc, t)).toBe(b.logFair(btc, t));
      moves.push(Math.abs(a.logFair(btc, t + 86_400_000) - a.logFair(btc, t)));
    }
    const mean = moves.reduce((s, x) => s + x, 0) / moves.length;
    expect(mean).toBeGreaterThan(0.005);
    expect(mean).toBeLessThan(0.05);
    // A venue's own deviation stays within a few bps.
    for (let t = T0; t < T0 + 3_600_000; t += 997) expect(Math.abs(a.deviation(42, t))).toBeLessThan(8e-4);
    expect(() => new FairPrice({ dailyVolatility: -1 })).toThrow(/dailyVolatility/);
  });

  it('pinned (no volatility, no noise) it keeps the start price', () => {
    const f = new FairPrice({ dailyVolatility: 0, venueNoiseBps: 0, dislocationBps: 0 });
    expect(f.target(2_712_345, pathKey('BTC', 'USDT'), 7, T0 + 12_345_678)).toBe(2_712_345);
  });
});

describe('two synthetic venues around one fair price (seeded)', () => {
  let runs: Run[] = [];
  beforeAll(() => {
    runs = twoVenues(30);
  }, 120_000);

  // The model before the shared fair price (independent walks) had them crossed by >= 1 bp 73-96 % of this half hour.
  it('cross by 1 bp or more (the spread actor default) only a small part of the time, in separate episodes, both ways', () => {
    for (const { symbol, samples } of runs) {
      expect(samples.length, symbol).toBeGreaterThan(7000);
      const crossings = samples.map(crossBps);
      const share = crossings.filter((x) => x >= 1).length / samples.length;
      let episodes = 0;
      for (let i = 0; i < crossings.length; i++) if (crossings[i]! >= 1 && !(crossings[i - 1]! >= 1)) episodes++;
      const aAbove = samples.filter(([a, b]) => (a.bid - b.ask) * 1e4 >= b.ask).length;
      const bAbove = samples.filter(([a, b]) => (b.bid - a.ask) * 1e4 >= a.ask).length;
      // occasional, not permanent: ~2 % measured for these seeds
      expect(share, `${symbol}: share of time crossed by >= 1 bp`).toBeGreaterThan(0.003);
      expect(share, `${symbol}: share of time crossed by >= 1 bp`).toBeLessThan(0.08);
      expect(episodes, `${symbol}: crossing episodes in 30 min`).toBeGreaterThanOrEqual(5);
      expect(aAbove, symbol).toBeGreaterThan(0);
      expect(bAbove, symbol).toBeGreaterThan(0);
      // never apart for long: the books stay within a few bps of each other
      const apart = samples.map(([a, b]) => (Math.abs(a.bid + a.ask - b.bid - b.ask) / (a.bid + a.ask)) * 1e4);
      expect(Math.max(...apart), symbol).toBeLessThan(10);
    }
  });

  it('both venues follow the fair price, which moves', () => {
    const fair = new FairPrice();
    const { samples, at } = runs.find((r) => r.symbol === 'BTC-USDT')!;
    const mids = samples.map(([a]) => (a.bid + a.ask) / 2);
    // the fair price moved over the half hour by more than the venues' noise ...
    expect(Math.abs(fair.logFair(pathKey('BTC', 'USDT'), T0 + 30 * MIN) - fair.logFair(pathKey('BTC', 'USDT'), T0))).toBeGreaterThan(1e-4);
    // ... and each venue's mid went along with it: its mid 10 min apart moved as the fair price did, within 2 bps
    const fairAt = (i: number) => Math.exp(fair.logFair(pathKey('BTC', 'USDT'), T0 + at[i]!));
    for (const i of [2400, 4800, 7000]) {
      const venueMove = mids[i]! / mids[i - 2400]!;
      const fairMove = fairAt(i) / fairAt(i - 2400);
      expect(Math.abs(venueMove / fairMove - 1) * 1e4).toBeLessThan(2);
    }
  });
});
