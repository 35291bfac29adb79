import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SymbolWindows, type SessionConfig, type WindowsConfig } from '../../../actors/windows/index.js';
import { CandleCheck, type Candle } from '../../../schemas/candle.js';
import type { Tf } from '../../../schemas/common.js';
import { diffCandle, reference, type RefEvent, type RefTrade } from './reference.js';

// ---- generators ----

/** A decimal string with `dec` fraction digits plus `pad` trailing zeros, as venues send them. */
function decimalText(units: bigint, dec: number, pad: number): string {
  let s = units.toString().padStart(dec + 1, '0');
  if (dec > 0) s = s.slice(0, s.length - dec) + '.' + s.slice(s.length - dec);
  if (pad > 0) s += (dec > 0 ? '' : '.') + '0'.repeat(pad);
  return s;
}

const priceArb = fc.oneof(
  { weight: 12, arbitrary: fc.tuple(fc.bigInt({ min: 1n, max: 9_000_000n }), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 4 })) },
  // beyond 2^53 significant digits: the bigint paths (kept so sums fit the contract's 64-character decimals)
  { weight: 1, arbitrary: fc.tuple(fc.bigInt({ min: 10n ** 15n, max: 10n ** 19n }), fc.integer({ min: 0, max: 12 }), fc.constant(0)) },
).map(([u, d, p]) => decimalText(u, d, p));

const qtyArb = fc.oneof(
  { weight: 12, arbitrary: fc.tuple(fc.bigInt({ min: 1n, max: 5_000_000_000n }), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 4 })) },
  { weight: 1, arbitrary: fc.tuple(fc.bigInt({ min: 10n ** 16n, max: 10n ** 19n }), fc.integer({ min: 0, max: 10 }), fc.constant(0)) },
  { weight: 1, arbitrary: fc.tuple(fc.constant(0n), fc.integer({ min: 0, max: 3 }), fc.constant(0)) },
).map(([u, d, p]) => decimalText(u, d, p));

interface Step {
  dt: number;
  advance: number | null;
  jump: boolean;
  price: string;
  qty: string;
  side: 'buy' | 'sell';
  count: number | undefined;
}

/** `dense`: mostly sub-second spacing, so nearly every second has trades (VWAP ring edges). */
function stepArb(maxGap: number, price = priceArb, dense = false): fc.Arbitrary<Step> {
  return fc.record({
    dt: fc.oneof(
      { weight: dense ? 60 : 12, arbitrary: fc.integer({ min: 0, max: 1_500 }) },
      { weight: 3, arbitrary: fc.integer({ min: 1_000, max: 90_000 }) },
      { weight: 1, arbitrary: fc.integer({ min: 60_000, max: maxGap }) },
      { weight: 2, arbitrary: fc.integer({ min: -3_000, max: -1 }) }, // out of order
      { weight: 1, arbitrary: fc.integer({ min: -2 * 3_600_000, max: -60_000 }) }, // late
    ),
    advance: fc.oneof({ weight: 10, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.integer({ min: -5_000, max: 180_000 }) }),
    jump: fc.boolean(),
    price,
    qty: qtyArb,
    side: fc.constantFrom('buy' as const, 'sell' as const),
    count: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
  });
}

/** Steps → events: the cursor only moves forward; negative dt makes an out-of-order or late trade. */
function toEvents(start: number, steps: Step[]): RefEvent[] {
  const events: RefEvent[] = [];
  let cursor = start;
  let id = 100;
  for (const s of steps) {
    if (s.advance !== null) {
      const w = Math.max(0, cursor + s.advance);
      events.push({ kind: 'advance', ts: w });
      if (s.jump) cursor = Math.max(cursor, w);
    }
    if (s.dt >= 0) cursor += s.dt;
    const trade: RefTrade = { id: String(id++), price: s.price, qty: s.qty, side: s.side, ts: Math.max(0, s.dt >= 0 ? cursor : cursor + s.dt) };
    if (s.count !== undefined) trade.count = s.count;
    events.push({ kind: 'trade', trade });
  }
  return events;
}

// ---- running the kernel ----

interface KernelRun {
  emitted: Candle[];
  open: Candle[];
  vwaps: Record<string, string | null>[];
  windows: SymbolWindows<RefTrade>;
}

function feed(w: SymbolWindows<RefTrade>, e: RefEvent): void {
  if (e.kind === 'trade') w.apply(e.trade);
  else w.advance(e.ts);
}

function runKernel(cfg: WindowsConfig, events: readonly RefEvent[], cut?: number): KernelRun {
  let w = new SymbolWindows<RefTrade>(cfg);
  const emitted: Candle[] = [];
  const vwaps: Record<string, string | null>[] = [];
  events.forEach((e, i) => {
    if (i === cut) {
      const json = JSON.stringify(w.toSnapshot());
      w = SymbolWindows.fromSnapshot<RefTrade>(JSON.parse(json));
    }
    feed(w, e);
    emitted.push(...w.drainClosed());
    vwaps.push(w.vwaps());
    // the live state's candles text, written directly, is the generic stringify of the open candles
    const direct = w.openCandlesJson();
    const generic = JSON.stringify(Object.fromEntries(w.openCandles().map((c) => [c.tf, c])));
    if (direct !== generic) throw new Error(`openCandlesJson after event ${i}:\n${direct}\n${generic}`);
  });
  return { emitted, open: w.openCandles(), vwaps, windows: w };
}

/** Checks the kernel's final candles (last emitted version, plus open bars) against the reference. */
function checkAgainstReference(cfg: WindowsConfig & { pricePrecision: number }, events: RefEvent[]): void {
  const tfs = (cfg.timeframes ?? []) as Tf[];
  const ref = reference(
    {
      venue: cfg.venue,
      symbol: cfg.symbol,
      timeframes: tfs,
      vwapWindows: cfg.vwapWindows ?? [],
      pricePrecision: cfg.pricePrecision,
      session: cfg.session ?? null,
      historySize: cfg.historySize ?? 16,
    },
    events,
  );
  const run = runKernel(cfg, events);
  const got = new Map<string, Candle>();
  const firstSeen = new Map<string, number[]>();
  for (const c of run.emitted) {
    expect(CandleCheck.Check(c), JSON.stringify(c)).toBe(true);
    expect(c.closed).toBe(true);
    const key = `${c.tf}:${c.openTime}`;
    if (!got.has(key)) {
      const seq = firstSeen.get(c.tf) ?? [];
      // candles of one timeframe close in time order, except bars created before the first
      // one closed (a trade older than it arrived later)
      if (seq.length > 0 && c.openTime > seq[0]!) expect(c.openTime).toBeGreaterThan(Math.max(...seq));
      seq.push(c.openTime);
      firstSeen.set(c.tf, seq);
    }
    got.set(key, c);
  }
  for (const c of run.open) {
    expect(CandleCheck.Check(c)).toBe(true);
    expect(c.closed).toBe(false);
    got.set(`${c.tf}:${c.openTime}`, c);
  }
  expect([...got.keys()].sort()).toEqual([...ref.candles.keys()].sort());
  for (const [key, want] of ref.candles) {
    const bad = diffCandle(got.get(key)!, want);
    expect(bad, `${key}\n got ${JSON.stringify(got.get(key))}\nwant ${JSON.stringify(want)}`).toEqual([]);
  }
  expect(run.vwaps).toEqual(ref.vwaps);
}

const base = { venue: 'binance', symbol: 'BTC-USDT', vwapWindows: ['10s', '1m', '5m'] };
const START = Date.UTC(2024, 2, 7, 13, 59, 30);

// Property runs take seconds on a quiet machine and minutes on a loaded one: timeouts of 5 min.
describe('SymbolWindows against the reference (property)', () => {
  it('24/7, all timeframes, short gaps, late and out-of-order trades', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb(10 * 60_000), { minLength: 1, maxLength: 90 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 20 }),
        (steps, precision, history) => {
          checkAgainstReference(
            { ...base, timeframes: ['1s', '1m', '5m', '15m', '1h', '4h', '1d'], pricePrecision: precision, historySize: history },
            toEvents(START, steps),
          );
        },
      ),
      { numRuns: 60 },
    );
  }, 300_000);

  it('24/7, minute and longer timeframes, gaps of hours to a day', () => {
    fc.assert(
      fc.property(fc.array(stepArb(30 * 3_600_000), { minLength: 1, maxLength: 80 }), fc.integer({ min: 0, max: 10 }), (steps, history) => {
        checkAgainstReference(
          { ...base, timeframes: ['1m', '5m', '15m', '1h', '4h', '1d'], pricePrecision: 8, historySize: history },
          toEvents(START, steps),
        );
      }),
      { numRuns: 40 },
    );
  }, 300_000);

  it('price precision from the digits seen (fixed digits per stream, as venues send)', () => {
    const fixed = fc.integer({ min: 0, max: 8 }).chain((d) =>
      fc.tuple(fc.constant(d), fc.array(stepArb(5 * 60_000, fc.bigInt({ min: 1n, max: 99_999_999n }).map((u) => decimalText(u, d, 0))), { minLength: 1, maxLength: 60 })),
    );
    fc.assert(
      fc.property(fixed, ([d, steps]) => {
        const events = toEvents(START, steps);
        const cfg = { ...base, timeframes: ['1s', '1m', '1h'] as Tf[] };
        // the kernel infers the precision; the reference is told it
        const ref = reference({ ...cfg, pricePrecision: d, session: null, historySize: 16 }, events);
        const run = runKernel(cfg, events);
        const last = new Map<string, Candle>();
        for (const c of [...run.emitted, ...run.open]) last.set(`${c.tf}:${c.openTime}`, c);
        for (const [key, want] of ref.candles) expect(diffCandle(last.get(key)!, want), key).toEqual([]);
        expect(run.vwaps).toEqual(ref.vwaps);
      }),
      { numRuns: 40 },
    );
  }, 300_000);

  const NEW_YORK: SessionConfig = { timeZone: 'America/New_York', open: '09:30', close: '16:00', weekdays: [1, 2, 3, 4, 5], holidays: ['2024-03-12'] };
  // Overnight sessions across the 2024-03-31 DST change (23 h sessions; the one opening on 03-30 lasts 22 h).
  const BERLIN: SessionConfig = { timeZone: 'Europe/Berlin', open: '22:00', close: '21:00', weekdays: [1, 2, 3, 4, 5, 6, 7], holidays: ['2024-03-28'] };

  it('sessions: New York equities across the 2024-03-10 DST change, with a holiday', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb(20 * 3_600_000), { minLength: 1, maxLength: 70 }),
        fc.integer({ min: Date.UTC(2024, 2, 7, 12), max: Date.UTC(2024, 2, 11, 20) }),
        fc.integer({ min: 0, max: 12 }),
        (steps, start, history) => {
          checkAgainstReference(
            { ...base, timeframes: ['1m', '5m', '15m', '1h', '4h', '1d'], pricePrecision: 2, session: NEW_YORK, historySize: history },
            toEvents(start, steps),
          );
        },
      ),
      { numRuns: 40 },
    );
  }, 300_000);

  it('sessions: Berlin overnight sessions across the 2024-03-31 DST change, with a holiday', () => {
    fc.assert(
      fc.property(
        fc.array(stepArb(12 * 3_600_000), { minLength: 1, maxLength: 70 }),
        fc.integer({ min: Date.UTC(2024, 2, 27, 12), max: Date.UTC(2024, 2, 31, 12) }),
        fc.integer({ min: 0, max: 12 }),
        (steps, start, history) => {
          checkAgainstReference(
            { ...base, timeframes: ['15m', '1h', '4h', '1d'], pricePrecision: 4, session: BERLIN, historySize: history },
            toEvents(start, steps),
          );
        },
      ),
      { numRuns: 30 },
    );
  }, 300_000);

  it('snapshot at a random cut point, through JSON, gives exactly the uninterrupted outputs', () => {
    const cfgArb = fc.constantFrom<WindowsConfig>(
      { ...base, timeframes: ['1s', '1m', '5m', '15m', '1h', '4h', '1d'], historySize: 4 },
      { ...base, timeframes: ['1m', '1h', '1d'], session: NEW_YORK, pricePrecision: 2 },
    );
    fc.assert(
      fc.property(
        cfgArb,
        fc.boolean().chain((dense) => fc.array(stepArb(3 * 3_600_000, priceArb, dense), { minLength: 1, maxLength: 80 })).chain((steps) => fc.tuple(fc.constant(steps), fc.integer({ min: 0, max: steps.length * 2 }))),
        (cfg, [steps, cutAt]) => {
          const events = toEvents(Date.UTC(2024, 2, 8, 14, 20), steps);
          const cut = Math.min(cutAt, events.length - 1);
          const a = runKernel(cfg, events);
          const b = runKernel(cfg, events, cut);
          expect(b.emitted).toEqual(a.emitted);
          expect(b.open).toEqual(a.open);
          expect(b.vwaps).toEqual(a.vwaps);
          expect(b.windows.stats).toEqual(a.windows.stats);
          expect(b.windows.lastTrade).toEqual(a.windows.lastTrade);
          expect(b.windows.toSnapshot()).toEqual(a.windows.toSnapshot());
        },
      ),
      { numRuns: 60 },
    );
  }, 300_000);
});
