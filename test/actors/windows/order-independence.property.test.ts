/**
 * Arrival order does not matter: any order of the same trades in which no trade arrives more
 * than the history after its bar (the bounded delay a reordered stream has) ends in the same
 * candles, open bars, VWAPs and latest trade as the run in (ts, id) order.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SymbolWindows, type SessionConfig, type WindowTrade, type WindowsConfig } from '../../../actors/windows/index.js';
import { TF_MS, type Tf } from '../../../schemas/common.js';
import type { Candle } from '../../../schemas/candle.js';

/** `units` with `dec` fraction digits: every price (or quantity) of a stream has the same digits, as venues send. */
function decimalText(units: bigint, dec: number): string {
  let s = units.toString().padStart(dec + 1, '0');
  if (dec > 0) s = s.slice(0, s.length - dec) + '.' + s.slice(s.length - dec);
  return s;
}

/** (ts, id) order, written independently of the kernel: numerals by value, other ids shorter first, then by character. */
function byTimeThenId(a: WindowTrade, b: WindowTrade): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  const num = /^(0|[1-9][0-9]*)$/;
  if (num.test(a.id) && num.test(b.id)) return BigInt(a.id) < BigInt(b.id) ? -1 : BigInt(a.id) > BigInt(b.id) ? 1 : 0;
  return a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

interface Case {
  trades: WindowTrade[];
  /** Arrival delay per trade, at most the bound. */
  delays: number[];
  /** Tie-breaks among equal arrival keys. */
  jitter: number[];
  cut: number;
}

const idArb = fc.oneof(
  fc.bigInt({ min: 0n, max: 5_000n }), // short numerals next to long ones: numeric, not text, order
  fc.bigInt({ min: 10n ** 15n, max: 10n ** 20n - 1n }),
  fc.uuid().map((u) => u), // non-numeric ids are ordered too (fixed, arrival-free order)
);

function caseArb(start: number, maxGap: number, maxDelay: number): fc.Arbitrary<Case> {
  return fc
    .record({
      n: fc.integer({ min: 1, max: 120 }),
      priceDigits: fc.integer({ min: 0, max: 8 }),
      qtyDigits: fc.integer({ min: 0, max: 8 }),
      idsFollowTime: fc.boolean(),
    })
    .chain(({ n, priceDigits, qtyDigits, idsFollowTime }) =>
      fc.record({
        steps: fc.array(
          fc.record({
            dt: fc.oneof(
              { weight: 4, arbitrary: fc.constant(0) }, // ties in time
              { weight: 10, arbitrary: fc.integer({ min: 1, max: 2_000 }) },
              { weight: 3, arbitrary: fc.integer({ min: 1_000, max: 90_000 }) },
              { weight: 1, arbitrary: fc.integer({ min: 60_000, max: maxGap }) },
            ),
            price: fc.oneof(
              { weight: 9, arbitrary: fc.bigInt({ min: 1n, max: 2_000n }) }, // few distinct prices: ties in high/low
              { weight: 1, arbitrary: fc.bigInt({ min: 10n ** 15n, max: 10n ** 19n }) },
            ),
            qty: fc.bigInt({ min: 1n, max: 9_000_000_000n }),
            buy: fc.boolean(),
            count: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
          }),
          { minLength: n, maxLength: n },
        ),
        ids: fc.uniqueArray(idArb, { minLength: n, maxLength: n, selector: (x) => String(x) }),
        delays: fc.array(fc.oneof(fc.constant(maxDelay), fc.integer({ min: 0, max: maxDelay })), { minLength: n, maxLength: n }),
        jitter: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n, maxLength: n }),
        cut: fc.integer({ min: 0, max: n }),
        priceDigits: fc.constant(priceDigits),
        qtyDigits: fc.constant(qtyDigits),
        idsFollowTime: fc.constant(idsFollowTime),
      }),
    )
    .map(({ steps, ids, delays, jitter, cut, priceDigits, qtyDigits, idsFollowTime }) => {
      const idTexts = ids.map(String);
      if (idsFollowTime) idTexts.sort((a, b) => byTimeThenId({ ts: 0, id: a } as WindowTrade, { ts: 0, id: b } as WindowTrade));
      let ts = start;
      const trades = steps.map((s, i): WindowTrade => {
        ts += s.dt;
        const t: WindowTrade = { id: idTexts[i]!, price: decimalText(s.price, priceDigits), qty: decimalText(s.qty, qtyDigits), side: s.buy ? 'buy' : 'sell', ts };
        if (s.count !== undefined) t.count = s.count;
        return t;
      });
      return { trades, delays, jitter, cut };
    });
}

interface Outcome {
  /** Last revision per tf:openTime (closed candles, then open bars). */
  candles: [string, Candle][];
  open: Candle[];
  vwaps: Record<string, string | null>;
  lastTrade: WindowTrade | null;
  stats: SymbolWindows['stats'];
}

function run(cfg: WindowsConfig, trades: readonly WindowTrade[], cut = -1): Outcome {
  let w = new SymbolWindows(cfg);
  const last = new Map<string, Candle>();
  trades.forEach((t, i) => {
    if (i === cut) w = SymbolWindows.fromSnapshot(JSON.parse(JSON.stringify(w.toSnapshot())));
    w.apply(t);
    for (const c of w.drainClosed()) last.set(`${c.tf}:${c.openTime}`, c);
  });
  const open = w.openCandles();
  for (const c of open) last.set(`${c.tf}:${c.openTime}`, c);
  return { candles: [...last.entries()].sort(([a], [b]) => (a < b ? -1 : 1)), open, vwaps: w.vwaps(), lastTrade: w.lastTrade, stats: { ...w.stats } };
}

/** Runs a case in (ts, id) order and in its arrival order; returns the permuted run's stats. */
function checkCase(cfg: WindowsConfig, c: Case): SymbolWindows['stats'] {
  const inOrder = [...c.trades].sort(byTimeThenId);
  const arrival = c.trades
    .map((t, i) => ({ t, key: t.ts + c.delays[i]!, jitter: c.jitter[i]! }))
    .sort((a, b) => a.key - b.key || a.jitter - b.jitter)
    .map((x) => x.t);
  const want = run(cfg, inOrder);
  const got = run(cfg, arrival, c.cut);
  expect(got.candles.map(([k]) => k)).toEqual(want.candles.map(([k]) => k));
  for (let i = 0; i < want.candles.length; i++) expect(got.candles[i]![1], want.candles[i]![0]).toEqual(want.candles[i]![1]);
  expect(got.open).toEqual(want.open);
  expect(got.vwaps).toEqual(want.vwaps);
  expect(got.lastTrade).toEqual(want.lastTrade);
  expect(got.stats.applied).toBe(want.stats.applied);
  expect(got.stats.droppedLate).toBe(0);
  return got.stats;
}

const ALL: Tf[] = ['1s', '1m', '5m', '15m', '1h', '4h', '1d'];

// Property runs take seconds on a quiet machine and minutes on a loaded one: timeouts of 5 min.
describe('SymbolWindows: arrival order does not change the result (property)', () => {
  it('24/7, all timeframes: every trade delayed by up to (history − 1) 1s bars', () => {
    let late = 0;
    let created = 0;
    const runs = 250;
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 16 }).chain((history) => fc.tuple(fc.constant(history), caseArb(Date.UTC(2024, 2, 7, 23, 59, 30), 2 * 60_000, (history - 1) * TF_MS['1s']))),
        fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
        ([history, c], precision) => {
          const cfg: WindowsConfig = { venue: 'binance', symbol: 'BTC-USDT', timeframes: ALL, vwapWindows: ['1s', '10s', '1m'], historySize: history };
          if (precision !== undefined) cfg.pricePrecision = precision;
          const stats = checkCase(cfg, c);
          if (stats.late > 0) late++;
          if (stats.corrections > 0) created++;
        },
      ),
      { numRuns: runs },
    );
    // the permutations did reorder across bars, often
    expect(late).toBeGreaterThan(runs / 3);
    expect(created).toBeGreaterThan(runs / 5);
  }, 300_000);

  it('24/7, minute and longer timeframes: delays of up to (history − 1) minutes, gaps of hours', () => {
    let late = 0;
    const runs = 150;
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 8 }).chain((history) => fc.tuple(fc.constant(history), caseArb(Date.UTC(2024, 2, 7, 22, 30), 3 * 3_600_000, (history - 1) * TF_MS['1m']))),
        ([history, c]) => {
          const stats = checkCase({ venue: 'okx', symbol: 'ETH-USDT', timeframes: ['1m', '15m', '1h', '1d'], vwapWindows: ['5m', '1h'], historySize: history }, c);
          if (stats.late > 0) late++;
        },
      ),
      { numRuns: runs },
    );
    expect(late).toBeGreaterThan(runs / 3);
  }, 300_000);

  it('sessions (New York, DST change and a holiday): trades outside sessions ignored alike', () => {
    const NEW_YORK: SessionConfig = { timeZone: 'America/New_York', open: '09:30', close: '16:00', holidays: ['2024-03-12'] };
    let late = 0;
    const runs = 100;
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2024, 2, 8, 14), max: Date.UTC(2024, 2, 11, 20) }).chain((start) => caseArb(start, 4 * 3_600_000, 5 * TF_MS['1m'])),
        (c) => {
          const stats = checkCase({ venue: 'coinbase', symbol: 'BTC-USD', timeframes: ['1m', '5m', '1h', '1d'], vwapWindows: ['1m'], historySize: 6, session: NEW_YORK, pricePrecision: 2 }, c);
          if (stats.late > 0) late++;
        },
      ),
      { numRuns: runs },
    );
    expect(late).toBeGreaterThan(runs / 10);
  }, 300_000);
});
