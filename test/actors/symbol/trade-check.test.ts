import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TRADE_CHECK,
  TradeCheck,
  tradeCheckConfig,
  widestCandleDecimal,
  type IdRule,
  type SymbolRecent,
  type TradeRejectCode,
} from '../../../actors/symbol/trade-check.js';
import { SymbolWindows } from '../../../actors/windows/index.js';
import { TickworkError } from '../../../runtime/errors.js';
import { decimal, formatDecimal, mul, parseDecimal } from '../../../runtime/decimal.js';
import { CandleCheck, type Candle } from '../../../schemas/candle.js';
import type { Trade } from '../../../schemas/trade.js';

const NOW = Date.UTC(2025, 5, 2, 12, 0, 0);
const H = 3_600_000;
const DAY = 24 * H;

/** Id formats of the venues we have, as the venue registry would pass them in. */
const ID_RULES: Record<string, IdRule> = {
  binance: { numericDigits: 20, advance: { perSecond: 100_000, slack: 1_000_000 } },
  coinbase: { numericDigits: 20, uuid: true },
  bybit: { numericDigits: 20, uuid: true },
  kraken: { numericDigits: 20, pattern: /^[0-9]{10,17}-[0-9a-f]{8}$/ },
  okx: { numericDigits: 20 },
};
const check = new TradeCheck(tradeCheckConfig({ idRules: ID_RULES }));
const FRESH: SymbolRecent = { lastTs: null, highestId: null };
const RECENT: SymbolRecent = { lastTs: NOW - 1_000, highestId: 4_000_000n };

function trade(over: Partial<Trade> = {}): Trade {
  return { venue: 'binance', symbol: 'MIS-USDT', venueSymbol: 'MISUSDT', id: '4000001', price: '0.5123', qty: '12.00', side: 'buy', ts: NOW - 500, recvTs: NOW - 400, ...over };
}
/** The reject code (or null) for `t` on subject binance/MIS-USDT. */
function code(t: Trade, recent: SymbolRecent = RECENT, c: TradeCheck = check): TradeRejectCode | null {
  return c.check('binance', 'MIS-USDT', t, recent, NOW)?.code ?? null;
}
const messageOf = (t: Trade, recent: SymbolRecent = RECENT) => check.check('binance', 'MIS-USDT', t, recent, NOW)?.message;

describe('TradeCheck', () => {
  it('passes a plain trade, fresh symbol or not', () => {
    expect(code(trade())).toBeNull();
    expect(code(trade(), FRESH)).toBeNull();
  });

  it('refuses a body naming another venue or symbol than its subject (okx ETH-USDT on md.trade.binance.MIS-USDT)', () => {
    const okx = trade({ venue: 'okx', symbol: 'ETH-USDT', venueSymbol: 'ETH-USDT' });
    expect(code(okx)).toBe('TRADE_SUBJECT_MISMATCH');
    expect(messageOf(okx)).toBe('body names okx ETH-USDT on the subject of binance MIS-USDT');
    expect(code(trade({ symbol: 'ETH-USDT' }))).toBe('TRADE_SUBJECT_MISMATCH');
    expect(code(trade({ venue: 'binance-us' }))).toBe('TRADE_SUBJECT_MISMATCH');
  });

  it('refuses ids the venue does not use: a 30-digit id, leading zeros, a UUID on binance', () => {
    const id30 = '123456789012345678901234567890';
    expect(code(trade({ id: id30 }), FRESH)).toBe('TRADE_ID_INVALID');
    expect(messageOf(trade({ id: id30 }), FRESH)).toBe(`id "${id30}" has 30 digits (binance ids have at most 20)`);
    expect(code(trade({ id: '12345678901234567890' }), FRESH)).toBeNull(); // 20 digits: u64 range
    expect(code(trade({ id: '0004000001' }))).toBe('TRADE_ID_INVALID');
    expect(code(trade({ id: '1b4e28ba-2fa1-11d2-883f-0016d3cca427' }))).toBe('TRADE_ID_INVALID');
    expect(messageOf(trade({ id: 'abc' }))).toBe('id "abc" is not a numeric (≤ 20 digits) id of binance');
  });

  it('takes each venue’s own id formats from the table passed in (UUIDs for coinbase-style ids, Kraken v1 synthetic ids)', () => {
    const on = (venue: string, id: string) => check.check(venue, 'BTC-USD', trade({ venue, symbol: 'BTC-USD', id }), FRESH, NOW)?.code ?? null;
    expect(on('coinbase', '1b4e28ba-2fa1-11d2-883f-0016d3cca427')).toBeNull();
    expect(on('coinbase', '98765432')).toBeNull();
    expect(on('okx', '1b4e28ba-2fa1-11d2-883f-0016d3cca427')).toBe('TRADE_ID_INVALID');
    expect(on('kraken', '1534614057321597-0a1b2c3d')).toBeNull();
    expect(on('kraken', '1534614057321597-0a1b2c3d; DROP')).toBe('TRADE_ID_INVALID');
    // a venue missing from the table gets the default rule: numerals up to 20 digits or UUIDs
    expect(on('newvenue', '1b4e28ba-2fa1-11d2-883f-0016d3cca427')).toBeNull();
    expect(on('newvenue', '1'.repeat(21))).toBe('TRADE_ID_INVALID');
  });

  it('refuses a numeric id far above the symbol’s highest unless trade time moved on as far', () => {
    // binance: at most 1,000,000 + 100,000 per second of trade time since the latest trade
    expect(code(trade({ id: String(4_000_000 + 1_000_000) }))).toBeNull();
    expect(code(trade({ id: String(4_000_000 + 1_200_001), ts: NOW - 500 }))).toBe('TRADE_ID_INVALID'); // 0.5 s: 1,050,000 allowed
    expect(messageOf(trade({ id: '99999999999999999999' }))).toMatch(/is more than 1050000 above the symbol's highest id 4000000/);
    const afterOutage: SymbolRecent = { lastTs: NOW - 2 * H, highestId: 4_000_000n };
    expect(code(trade({ id: String(4_000_000 + 500_000_000) }), afterOutage)).toBeNull(); // 2 h: 721,000,000 allowed
    expect(code(trade({ id: '99999999999999999999' }), FRESH)).toBeNull(); // nothing to compare with yet
    expect(check.check('okx', 'MIS-USDT', trade({ venue: 'okx', id: '99999999999999999999' }), RECENT, NOW)).toBeNull(); // okx: no advance rule
  });

  it('refuses prices and quantities that are not above zero (price −1000000, 0.000)', () => {
    expect(code(trade({ price: '-1000000' }))).toBe('TRADE_PRICE_INVALID');
    expect(messageOf(trade({ price: '-1000000' }))).toBe('price "-1000000" is negative');
    expect(code(trade({ price: '0.000' }))).toBe('TRADE_PRICE_INVALID');
    expect(code(trade({ price: '-0' }))).toBe('TRADE_PRICE_INVALID');
    expect(code(trade({ qty: '0' }))).toBe('TRADE_QTY_INVALID');
    expect(messageOf(trade({ qty: '0.00000000' }))).toBe('qty "0.00000000" is zero');
    expect(code(trade({ qty: '-3' }))).toBe('TRADE_QTY_INVALID');
    expect(code(trade({ price: '0.000000000001', qty: '0.000000000001' }))).toBeNull();
  });

  it('refuses more digits than candles can carry (a qty of 60 nines)', () => {
    const nines = '9'.repeat(60);
    expect(code(trade({ qty: nines }))).toBe('TRADE_QTY_INVALID');
    expect(messageOf(trade({ qty: nines }))).toBe(`qty "${'9'.repeat(40)}…" has 60 integer digits (at most 15)`);
    expect(code(trade({ qty: '1.' + '0'.repeat(13) }))).toBe('TRADE_QTY_INVALID'); // trailing zeros count: candles keep the digits
    expect(code(trade({ price: '1' + '0'.repeat(12) }))).toBe('TRADE_PRICE_INVALID');
    expect(messageOf(trade({ price: '0.' + '1'.repeat(13) }))).toMatch(/has 13 fraction digits \(at most 12\)/);
  });

  it('keeps every candle of trades at the digit bounds within the candle schema, for up to 10^10 trades a candle', () => {
    const price = '9'.repeat(12) + '.' + '9'.repeat(12);
    const qty = '9'.repeat(15) + '.' + '9'.repeat(12);
    expect(code(trade({ price, qty }))).toBeNull();
    expect(widestCandleDecimal(DEFAULT_TRADE_CHECK.price, DEFAULT_TRADE_CHECK.qty)).toBeLessThanOrEqual(64);

    // the kernel's own candle from such trades
    const w = new SymbolWindows({ venue: 'binance', symbol: 'MIS-USDT', timeframes: ['1m'], vwapWindows: [] });
    for (let i = 0; i < 3; i++) w.apply({ id: String(i + 1), price, qty, side: 'buy', ts: NOW + i });
    const c = w.openCandles()[0]!;
    expect(CandleCheck.Check(c), JSON.stringify(c)).toBe(true);

    // the sums of 10^10 of them: exact volume, quoteVolume and buyVolume, vwap = the price
    const n = decimal(10n ** 10n, 0);
    const volume = formatDecimal(mul(parseDecimal(qty), n));
    const quoteVolume = formatDecimal(mul(mul(parseDecimal(price), parseDecimal(qty)), n));
    const worst: Candle = { ...c, volume, quoteVolume, buyVolume: volume, vwap: price + '0000', trades: 10_000_000_000 };
    expect(quoteVolume.length).toBeGreaterThan(50);
    expect(CandleCheck.Check(worst), JSON.stringify(worst)).toBe(true);
  });

  it('refuses count above the bound', () => {
    expect(code(trade({ count: 1_000_000 }))).toBeNull();
    expect(code(trade({ count: 1_000_001 }))).toBe('TRADE_COUNT_INVALID');
  });

  it('refuses a trade dated tomorrow, and a recvTs ahead of the clock', () => {
    expect(code(trade({ ts: NOW + DAY, recvTs: NOW }))).toBe('TRADE_TS_FUTURE');
    expect(messageOf(trade({ ts: NOW + DAY, recvTs: NOW + DAY }))).toBe(`ts 2025-06-03T12:00:00.000Z is more than 60000 ms ahead of the clock (2025-06-02T12:00:00.000Z)`);
    expect(code(trade({ ts: NOW, recvTs: NOW + DAY }))).toBe('TRADE_TS_FUTURE');
    expect(code(trade({ ts: NOW + 59_000, recvTs: NOW + 59_000 }))).toBeNull(); // within the clock skew
  });

  it('refuses a trade dated 1970, whatever recvTs says', () => {
    expect(code(trade({ ts: 0, recvTs: NOW }), FRESH)).toBe('TRADE_TS_TOO_OLD');
    expect(messageOf(trade({ ts: 0, recvTs: 0 }), FRESH)).toBe('ts 1970-01-01T00:00:00.000Z is before 2010-01-01T00:00:00.000Z');
    expect(code(trade({ ts: 1, recvTs: 1 }), RECENT)).toBe('TRADE_TS_TOO_OLD');
    // a fresh symbol's first trade anchors its windows: a skewed old date must not pass either
    expect(code(trade({ ts: Date.UTC(2015, 0, 1), recvTs: NOW }), FRESH)).toBe('TRADE_TS_SKEW');
    expect(messageOf(trade({ ts: Date.UTC(2015, 0, 1), recvTs: NOW }), FRESH)).toBe('ts 2015-01-01T00:00:00.000Z is more than 604800000 ms before recvTs 2025-06-02T12:00:00.000Z');
  });

  it('bounds ts against recvTs both ways: venue clock ahead, or delivered late (a REST gap fill hours later passes)', () => {
    expect(code(trade({ ts: NOW - 1_000, recvTs: NOW - 62_000 }))).toBe('TRADE_TS_SKEW');
    expect(code(trade({ ts: NOW - 2 * H, recvTs: NOW }), { lastTs: NOW - 60_000, highestId: 4_000_000n })).toBeNull();
    expect(code(trade({ ts: NOW - 8 * DAY, recvTs: NOW }), FRESH)).toBe('TRADE_TS_SKEW');
  });

  it('refuses a trade further than the bound before the symbol’s latest trade', () => {
    const recent: SymbolRecent = { lastTs: NOW - 1_000, highestId: null };
    expect(code(trade({ ts: NOW - 1_000 - DAY, recvTs: NOW }), recent)).toBeNull();
    expect(code(trade({ ts: NOW - 1_001 - DAY, recvTs: NOW }), recent)).toBe('TRADE_TS_STALE');
    expect(code(trade({ ts: NOW - 1_001 - DAY, recvTs: NOW }), FRESH)).toBeNull();
  });

  it('refuses trades older than maxAgeMs when one is configured (live-only deployments)', () => {
    const live = new TradeCheck(tradeCheckConfig({ maxAgeMs: H }));
    const old = trade({ ts: NOW - 2 * H, recvTs: NOW - 2 * H });
    expect(code(old, FRESH)).toBeNull(); // default: replays of history pass
    expect(code(old, FRESH, live)).toBe('TRADE_TS_TOO_OLD');
  });

  it('validates its config: bounds whose sums overflow a candle, rules without a format, negative times', () => {
    const fails = (over: Parameters<typeof tradeCheckConfig>[0]) => {
      try {
        tradeCheckConfig(over);
      } catch (err) {
        expect(err).toBeInstanceOf(TickworkError);
        expect((err as TickworkError).code).toBe('CONFIG_INVALID');
        return (err as Error).message;
      }
      return null;
    };
    expect(fails({ qty: { int: 30, frac: 12 } })).toMatch(/allow candle sums of 77 characters \(the candle schema takes 64\)/);
    expect(fails({ idRules: { okx: {} } })).toMatch(/idRules\.okx allows no id format/);
    expect(fails({ maxFutureMs: -1 })).toMatch(/maxFutureMs/);
    expect(fails({ maxAgeMs: 1.5 })).toMatch(/maxAgeMs/);
    expect(fails({ idRules: ID_RULES })).toBeNull();
  });
});
