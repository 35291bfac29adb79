import { describe, expect, it } from 'vitest';
import {
  guardedParse,
  numberFieldsPattern,
  plainDecimal,
  quoteNumberFields,
  rfc3339ToMs,
  secondsTextToMs,
} from '../../../venues/kit/frame.js';
import { splitByQuoteSuffix, longestFirst, SymbolMap } from '../../../venues/kit/symbols.js';
import { newParseOutput } from '../../../venues/kit/types.js';

describe('exact decimal text from JSON numbers', () => {
  const re = numberFieldsPattern(['price', 'qty']);

  it('quotes only the named keys, keeping the source text (trailing zeros included)', () => {
    const raw = '{"price":0.10000,"qty":12,"other":1.50,"data":[{"price":97000.1,"qty":1.23e-5}]}';
    const text = quoteNumberFields(raw, re);
    expect(text).toBe('{"price":"0.10000","qty":"12","other":1.50,"data":[{"price":"97000.1","qty":"0.0000123"}]}');
    expect(JSON.parse(text).price).toBe('0.10000');
  });

  it('leaves strings, escaped look-alikes and whitespace variants right', () => {
    expect(quoteNumberFields('{"price":"1.0"}', re)).toBe('{"price":"1.0"}');
    expect(quoteNumberFields('{"note":"\\"price\\":5"}', re)).toBe('{"note":"\\"price\\":5"}');
    expect(quoteNumberFields('{"price" : 2.50 , "qty":\n3}', re)).toBe('{"price" : "2.50" , "qty":\n"3"}');
  });

  it('is reusable (global regex state is reset)', () => {
    for (let i = 0; i < 3; i++) expect(quoteNumberFields('{"qty":7}', re)).toBe('{"qty":"7"}');
  });

  it('plainDecimal shifts exponents exactly and refuses absurd ones', () => {
    expect(plainDecimal('1.5e-7')).toBe('0.00000015');
    expect(plainDecimal('1.5E3')).toBe('1500');
    expect(plainDecimal('12.345e1')).toBe('123.45');
    expect(plainDecimal('0.5e1')).toBe('5');
    expect(plainDecimal('-2e-2')).toBe('-0.02');
    expect(plainDecimal('7')).toBe('7');
    expect(plainDecimal('1e400')).toBe('1e400');
  });
});

describe('timestamps', () => {
  it('rfc3339ToMs floors sub-millisecond digits and flags impossible dates', () => {
    expect(rfc3339ToMs('2021-04-17T16:43:37.089723Z')).toBe(1618677817089);
    expect(rfc3339ToMs('2021-04-17T16:43:37.999999Z')).toBe(1618677817999);
    expect(rfc3339ToMs('2021-04-17T16:43:37Z')).toBe(1618677817000);
    expect(rfc3339ToMs('2022-12-25T09:30:59.123456+01:00')).toBe(Date.UTC(2022, 11, 25, 8, 30, 59, 123));
    expect(rfc3339ToMs('2021-13-40T16:43:37Z')).toBeNaN();
    expect(rfc3339ToMs('2021-02-29T00:00:00Z')).toBeNaN();
    expect(rfc3339ToMs('2020-02-29T00:00:00Z')).toBe(Date.UTC(2020, 1, 29));
    expect(rfc3339ToMs('2021-04-17T24:00:00Z')).toBeNaN();
    expect(rfc3339ToMs('1969-12-31T23:59:59.999Z')).toBeNaN();
    expect(rfc3339ToMs('2021-04-17T16:43:37.5-02:30')).toBe(Date.UTC(2021, 3, 17, 19, 13, 37, 500));
  });

  it('secondsTextToMs is exact where float multiplication is not', () => {
    expect(secondsTextToMs('1618678133.123456')).toBe(1618678133123);
    expect(secondsTextToMs('1618678133.001')).toBe(1618678133001);
    expect(secondsTextToMs('1618678133.9')).toBe(1618678133900);
    expect(secondsTextToMs('1618678133')).toBe(1618678133000);
    // 1.005 * 1000 = 1004.9999999999999 in binary floats
    expect(secondsTextToMs('1.005')).toBe(1005);
  });
});

describe('guardedParse', () => {
  it('turns an adapter exception into one internal reject and rolls back partial output', () => {
    const out = newParseOutput();
    const cls = guardedParse(
      {
        parseFrame(raw, recvTs, o) {
          o.control.push('ack');
          throw new Error(`boom ${raw} ${recvTs}`);
        },
      },
      'x',
      5.7,
      out,
    );
    expect(cls).toBe('reject');
    expect(out.control).toEqual([]);
    expect(out.rejects).toEqual([{ reason: 'internal', schemaPath: '', detail: 'boom x 5', raw: 'x' }]);
  });

  it('drops what a rejected frame appended, keeping earlier frames of the batch', () => {
    const out = newParseOutput();
    const earlier = { venue: 'v', symbol: 'A-B', venueSymbol: 'AB', id: '1', price: '1', qty: '1', side: 'buy' as const, ts: 1, recvTs: 1 };
    out.trades.push(earlier);
    const cls = guardedParse(
      {
        parseFrame(raw, _recvTs, o) {
          o.trades.push({ ...earlier, id: '2' });
          o.quotes.push({ venue: 'v', symbol: 'A-B', venueSymbol: 'AB', bidPrice: '1', bidQty: '1', askPrice: '2', askQty: '1', ts: 1, recvTs: 1 });
          o.rejects.push({ reason: 'symbol', schemaPath: '/data/1/s', detail: 'unknown', raw });
          return 'reject';
        },
      },
      'y',
      1,
      out,
    );
    expect(cls).toBe('reject');
    expect(out.trades).toEqual([earlier]);
    expect(out.quotes).toEqual([]);
    expect(out.rejects).toHaveLength(1);
  });
});

describe('symbol helpers', () => {
  const quotes = longestFirst(['USD', 'BUSD', 'USDT', 'BTC']);
  it('splits by the longest quote suffix', () => {
    expect(splitByQuoteSuffix('XRPBUSD', quotes)).toBe('XRP-BUSD');
    expect(splitByQuoteSuffix('BTCUSDT', quotes)).toBe('BTC-USDT');
    expect(splitByQuoteSuffix('WBTCBTC', quotes)).toBe('WBTC-BTC');
    expect(splitByQuoteSuffix('USDT', quotes)).toBe(null);
    expect(splitByQuoteSuffix('BTCXYZ', quotes)).toBe(null);
    expect(splitByQuoteSuffix('BTC_USDT', quotes)).toBe(null);
  });

  it('SymbolMap prefers learnt symbols and stays bounded', () => {
    let derived = 0;
    const m = new SymbolMap((s) => (derived++, s.length > 3 ? `${s}-X` : null), 4);
    m.learn('ABC', 'A-BC');
    expect(m.get('ABC')).toBe('A-BC');
    expect(m.get('LONG')).toBe('LONG-X');
    expect(m.get('LONG')).toBe('LONG-X');
    expect(derived).toBe(1);
    for (let i = 0; i < 20; i++) m.get(`S${i}XX`);
    expect(m.get('ABC')).toBe('A-BC');
  });
});
