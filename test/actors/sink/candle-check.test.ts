import { describe, expect, it } from 'vitest';
import type { Candle } from '../../../schemas/candle.js';
import { candleRevision, parseCandleRevision } from '../../../schemas/candle.js';
import { candleSubjectTokens, checkCandle, type CandleExpectation } from '../../../schemas/candle-check.js';

const T0 = Date.UTC(2024, 0, 2, 3, 0, 0);
const ON: CandleExpectation = { tf: '1m', venue: 'binance', symbol: 'BTC-USDT', closed: true };

/** A consistent candle: 3 trades 100.5 × 1, 101 × 0.5, 99.75 × 2 (vwap = 400.5 / 3.5 at 6 digits). */
const good: Candle = {
  venue: 'binance',
  symbol: 'BTC-USDT',
  tf: '1m',
  openTime: T0,
  closeTime: T0 + 59_999,
  open: '100.50',
  high: '101.00',
  low: '99.75',
  close: '99.75',
  volume: '3.50',
  quoteVolume: '350.5000',
  vwap: '100.142857',
  trades: 3,
  buyVolume: '1.00',
  firstTradeId: '1',
  lastTradeId: '3',
  closed: true,
};
const gap: Candle = { ...good, open: '99.75', high: '99.75', low: '99.75', volume: '0', quoteVolume: '0', buyVolume: '0', vwap: '99.750000', trades: 0, firstTradeId: null, lastTradeId: null };

describe('checkCandle (pure): a candle must be one real candle of its subject', () => {
  it('accepts a consistent candle, a gap candle, and the open candle on a live subject', () => {
    expect(checkCandle(good, ON)).toBeNull();
    expect(checkCandle(gap, ON)).toBeNull();
    expect(checkCandle({ ...good, closed: false }, { ...ON, closed: false })).toBeNull();
    // vwap (exactly 100.142857142…) within one unit of its last digit (rounding mode is the producer's).
    expect(checkCandle({ ...good, vwap: '100.142858' }, ON)).toBeNull();
    expect(checkCandle({ ...good, vwap: '100.142856' }, ON)?.code).toBe('CANDLE_VWAP_INVALID');
  });

  const cases: [string, Partial<Candle>, CandleExpectation, string][] = [
    ['subject symbol differs', { symbol: 'ETH-USDT' }, ON, 'CANDLE_SUBJECT_MISMATCH'],
    ['subject tf differs', {}, { ...ON, tf: '5m' }, 'CANDLE_SUBJECT_MISMATCH'],
    ['open candle on the closed subject', { closed: false }, ON, 'CANDLE_SUBJECT_MISMATCH'],
    ['closeTime not openTime + tf - 1', { closeTime: T0 + 60_000 }, ON, 'CANDLE_TIME_INVALID'],
    ['openTime off the grid', { openTime: T0 + 1, closeTime: T0 + 60_000 }, ON, 'CANDLE_TIME_INVALID'],
    ['time beyond year 9999', { openTime: 999_999_999_960_000, closeTime: 999_999_999_999_999 }, ON, 'CANDLE_TIME_INVALID'],
    ['high below close', { high: '99.80', close: '99.90', low: '99.75' }, ON, 'CANDLE_PRICE_INVALID'],
    ['low above open', { low: '100.60' }, ON, 'CANDLE_PRICE_INVALID'],
    ['a negative price', { low: '-1' }, ON, 'CANDLE_PRICE_INVALID'],
    ['a zero price', { open: '0' }, ON, 'CANDLE_PRICE_INVALID'],
    ['buy volume above volume', { buyVolume: '3.51' }, ON, 'CANDLE_VOLUME_INVALID'],
    ['negative volume', { volume: '-3.50' }, ON, 'CANDLE_VOLUME_INVALID'],
    ['quote / volume above high', { quoteVolume: '353.5001', vwap: '101.000029' }, ON, 'CANDLE_VOLUME_INVALID'],
    ['quote / volume below low', { quoteVolume: '349.1249' }, ON, 'CANDLE_VOLUME_INVALID'],
    ['vwap not quote / volume', { vwap: '100.5' }, ON, 'CANDLE_VWAP_INVALID'],
    ['trades 0 with volume', { trades: 0 }, ON, 'CANDLE_TRADES_INVALID'],
    ['trades with volume 0', { volume: '0', quoteVolume: '0', buyVolume: '0' }, ON, 'CANDLE_TRADES_INVALID'],
    ['trades without ids', { firstTradeId: null }, ON, 'CANDLE_TRADES_INVALID'],
    // The forgery: 1e9 trades on a candle that otherwise looks fine is not refused here
    // (only the revision rule keeps it from replacing the real candle), but 1e9 trades of nothing is.
    ['1e9 trades with no volume', { trades: 1e9, volume: '0', quoteVolume: '0', buyVolume: '0' }, ON, 'CANDLE_TRADES_INVALID'],
  ];
  for (const [what, change, expect_, code] of cases) {
    it(`refuses ${what} (${code})`, () => {
      const r = checkCandle({ ...good, ...change }, expect_);
      expect(r?.code).toBe(code);
      expect(r?.message.length).toBeGreaterThan(5);
    });
  }

  it('gap candles: flat prices, no volume, no ids, vwap = close', () => {
    expect(checkCandle({ ...gap, high: '100' }, ON)?.code).toBe('CANDLE_TRADES_INVALID');
    expect(checkCandle({ ...gap, firstTradeId: '1' }, ON)?.code).toBe('CANDLE_TRADES_INVALID');
    expect(checkCandle({ ...gap, vwap: '99.7' }, ON)?.code).toBe('CANDLE_VWAP_INVALID');
  });

  it('session symbols: a bar cut at the session close, or a DST day, passes; an over-long one does not', () => {
    const day: Candle = { ...good, tf: '1d', openTime: T0 + 13 * 3_600_000, closeTime: T0 + 13 * 3_600_000 + 6.5 * 3_600_000 - 1 };
    const on1d = { ...ON, tf: '1d' };
    expect(checkCandle(day, on1d)?.code).toBe('CANDLE_TIME_INVALID');
    expect(checkCandle(day, { ...on1d, session: true })).toBeNull();
    expect(checkCandle({ ...day, closeTime: day.openTime + 25 * 3_600_000 - 1 }, { ...on1d, session: true })).toBeNull();
    expect(checkCandle({ ...day, closeTime: day.openTime + 26 * 3_600_000 - 1 }, { ...on1d, session: true })?.code).toBe('CANDLE_TIME_INVALID');
  });

  it('subject tokens of closed and live candle subjects', () => {
    expect(candleSubjectTokens('md.candle.1m.binance.BTC-USDT')).toEqual({ tf: '1m', venue: 'binance', symbol: 'BTC-USDT', closed: true });
    expect(candleSubjectTokens('md.live.candle.1s.okx.SOL-USDT')).toEqual({ tf: '1s', venue: 'okx', symbol: 'SOL-USDT', closed: false });
    expect(candleSubjectTokens('md.trade.binance.BTC-USDT')).toBeNull();
    expect(candleSubjectTokens('md.candle.1m.binance')).toBeNull();
  });

  it('revisions: the worker helper and the header parser agree; absent is 0, junk is null', () => {
    expect(parseCandleRevision(candleRevision(4242))).toBe(4242);
    expect(parseCandleRevision(undefined)).toBe(0);
    expect(parseCandleRevision('')).toBe(0);
    for (const junk of ['0', '-1', '1.5', '1e3', '0x10', ' 7', '99999999999999999']) expect(parseCandleRevision(junk)).toBeNull();
    expect(() => candleRevision(0)).toThrow(/revision/);
    expect(() => candleRevision(1.5)).toThrow(/revision/);
  });
});
