import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Candle } from '../../schemas/candle.js';
import type { Tf } from '../../schemas/common.js';
import type { Trade } from '../../schemas/trade.js';
import { CandleStore } from '../../store/candles.js';
import { migrate } from '../../store/migrate.js';
import { isolated } from '../harness.js';
import { norm, referenceCandles } from './reference.js';

// Hybrid storage against real PostgreSQL (own schema tw_<id>): only 1m is stored, 5m…4h are
// derived in SQL, and must equal what direct aggregation of the same trades gives.
const iso = isolated();
const schema = iso.ns.pgSchema;
const DERIVED: Tf[] = ['5m', '15m', '1h', '4h'];
let store: CandleStore;

beforeAll(async () => {
  await migrate(iso.sql(), schema, { now: Date.UTC(2030, 0, 1) });
  store = new CandleStore(iso.sql(), { schema, storedTfs: ['1m'], retentionMs: {}, partitionsAheadMs: 86_400_000 });
});
afterAll(() => iso.cleanup());

/** Field-by-field: ids, times, counts and flags exactly; decimals by value; vwap exactly (its scale is part of the rule). */
function comparable(c: Candle): Record<string, unknown> {
  return {
    ...c,
    open: norm(c.open),
    high: norm(c.high),
    low: norm(c.low),
    close: norm(c.close),
    volume: norm(c.volume),
    quoteVolume: norm(c.quoteVolume),
    buyVolume: norm(c.buyVolume),
  };
}

const decimalArb = (maxUnits: number, maxDigits: number) =>
  fc.tuple(fc.integer({ min: 1, max: maxUnits }), fc.integer({ min: 0, max: maxDigits })).map(([units, digits]) => {
    const s = String(units).padStart(digits + 1, '0');
    return digits ? `${s.slice(0, -digits)}.${s.slice(-digits)}` : s;
  });

const tradesArb = fc
  .record({
    day: fc.integer({ min: 0, max: 20 }),
    startMin: fc.integer({ min: 0, max: 1439 }),
    spanMs: fc.constantFrom(600_000, 7_200_000, 18_000_000),
    raw: fc.array(
      fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), price: decimalArb(2_000_000, 4), qty: decimalArb(5_000_000, 6), buy: fc.boolean() }),
      { minLength: 1, maxLength: 150 },
    ),
    // Clustered trades (many in one minute) as well as sparse ones.
    cluster: fc.boolean(),
  })
  .map(({ day, startMin, spanMs, raw, cluster }) => {
    const start = Date.UTC(2030, 0, 1 + day) + startMin * 60_000 + 17;
    const span = cluster ? 90_000 : spanMs;
    const ts = raw.map((r) => start + Math.floor(r.at * span)).sort((a, b) => a - b);
    return raw.map(
      (r, i): Trade => ({
        venue: 'binance',
        symbol: 'X-USDT',
        venueSymbol: 'XUSDT',
        id: String(1000 + i),
        price: r.price,
        qty: r.qty,
        side: r.buy ? 'buy' : 'sell',
        ts: ts[i]!,
        recvTs: ts[i]!,
      }),
    );
  });

describe('hybrid storage: derived timeframes (PostgreSQL)', () => {
  it('derivation from stored 1m equals direct aggregation of the trades, field by field', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(tradesArb, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 6 }), fc.boolean(), async (input, a, b, limit, desc) => {
        const symbol = `D${run++}-USDT`;
        const trades = input.map((t) => ({ ...t, symbol }));
        await store.upsert(referenceCandles(trades, '1m'));
        for (const tf of DERIVED) {
          const expected = referenceCandles(trades, tf);
          const derived = await store.query({ venue: 'binance', symbol, tf, limit: 10_000 });
          expect(derived.map(comparable), `${tf} of ${symbol}`).toEqual(expected.map(comparable));
        }
        // from/to/limit/order over a derived timeframe select the same candles as over direct ones.
        const expected = referenceCandles(trades, '5m');
        const lo = expected[0]!.openTime - 600_000;
        const span = expected[expected.length - 1]!.openTime + 600_000 - lo;
        const [from, to] = [lo + (a % span), lo + (b % span)].sort((x, y) => x - y) as [number, number];
        const inRange = expected.filter((c) => c.openTime >= from && c.openTime <= to);
        const want = desc ? inRange.reverse().slice(0, limit) : inRange.slice(0, limit);
        const got = await store.query({ venue: 'binance', symbol, tf: '5m', from, to, limit, order: desc ? 'desc' : 'asc' });
        expect(got.map(comparable)).toEqual(want.map(comparable));
      }),
      { numRuns: 50 },
    );
  });

  it('an interval without trades derives OHLC = previous close, zero volume, vwap = previous close at vwap digits', async () => {
    const t = (id: string, ts: number, price: string): Trade => ({
      venue: 'binance', symbol: 'GAP-USDT', venueSymbol: 'GAPUSDT', id, price, qty: '1.5', side: 'buy', ts, recvTs: ts,
    });
    const t0 = Date.UTC(2030, 0, 2, 10, 0, 5);
    const trades = [t('1', t0, '10.25'), t('2', t0 + 12 * 60_000, '11')];
    await store.upsert(referenceCandles(trades, '1m'));
    const [first, gap, last] = await store.query({ venue: 'binance', symbol: 'GAP-USDT', tf: '5m', limit: 10 });
    expect(first).toMatchObject({ open: '10.25', close: '10.25', trades: 1, vwap: '10.250000', closed: true });
    expect(gap).toMatchObject({ open: '10.25', high: '10.25', low: '10.25', close: '10.25', trades: 0, vwap: '10.250000', firstTradeId: null, closed: true });
    expect(Number(gap!.volume)).toBe(0);
    expect(last).toMatchObject({ open: '11', trades: 1, closed: false });
  });
});
