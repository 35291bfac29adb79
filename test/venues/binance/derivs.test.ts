import { describe, expect, it } from 'vitest';
import { BinanceDerivsAdapter, binanceFuturesDerivs } from '../../../venues/binance/derivs.js';
import { newDerivsOutput } from '../../../venues/kit/derivs.js';

// Frames from developers.binance.com (USD-M futures: Mark Price Stream, Liquidation Order Streams,
// Open Interest), in the combined-stream envelope of /market/stream.
const RECV = 1_700_000_000_123;
const wrap = (stream: string, data: unknown) => JSON.stringify({ stream, data });

function adapter(): BinanceDerivsAdapter {
  const a = new BinanceDerivsAdapter();
  expect(a.subscribeFrames(['BTC-USDT-PERP', 'ETH-USDT-PERP'], () => 1)).toEqual([
    '{"method":"SUBSCRIBE","params":["btcusdt@markPrice@1s","btcusdt@forceOrder","ethusdt@markPrice@1s","ethusdt@forceOrder"],"id":1}',
  ]);
  return a;
}

describe('Binance USD-M derivatives', () => {
  it('markPrice@1s: mark, index, funding rate and the next funding time (documented example)', () => {
    const out = newDerivsOutput();
    const frame = wrap('btcusdt@markPrice@1s', { e: 'markPriceUpdate', E: 1562305380000, s: 'BTCUSDT', p: '11794.15000000', i: '11784.62659091', P: '11784.25641265', r: '0.00038167', T: 1562306400000 });
    expect(adapter().parse(frame, RECV, out)).toBe('data');
    expect(out.patches).toEqual([
      {
        venue: 'binance-futures',
        symbol: 'BTC-USDT-PERP',
        venueSymbol: 'BTCUSDT',
        values: { markPrice: '11794.15000000', indexPrice: '11784.62659091', fundingRate: '0.00038167', nextFundingTime: 1562306400000 },
        ts: 1562305380000,
        recvTs: RECV,
      },
    ]);
  });

  it('r="" or T=0 means no funding (delivery contracts): both null, not a zero rate', () => {
    const a = adapter();
    for (const [r, T] of [
      ['', 0],
      ['', 1562306400000],
      ['0.00010000', 0],
    ] as const) {
      const out = newDerivsOutput();
      expect(a.parse(wrap('btcusdt@markPrice@1s', { e: 'markPriceUpdate', E: 1596095725000, s: 'BTCUSDT', p: '10934.62615417', P: '10962.17178236', i: '10933.62615417', r, T }), RECV, out)).toBe('data');
      expect(out.patches[0]!.values).toEqual({ markPrice: '10934.62615417', indexPrice: '10933.62615417', fundingRate: null, nextFundingTime: null });
    }
  });

  it('forceOrder: the order side, average price and filled quantity, sampled', () => {
    const out = newDerivsOutput();
    const frame = wrap('btcusdt@forceOrder', {
      e: 'forceOrder',
      E: 1568014460893,
      o: { s: 'BTCUSDT', S: 'SELL', o: 'LIMIT', f: 'IOC', q: '0.014', p: '9910', ap: '9910', X: 'FILLED', l: '0.014', z: '0.014', T: 1568014460893 },
    });
    expect(adapter().parse(frame, RECV, out)).toBe('data');
    expect(out.liquidations).toEqual([
      { venue: 'binance-futures', symbol: 'BTC-USDT-PERP', venueSymbol: 'BTCUSDT', side: 'sell', price: '9910', qty: '0.014', ts: 1568014460893, recvTs: RECV, sampled: true },
    ]);
    const unfilled = newDerivsOutput();
    adapter().parse(wrap('ethusdt@forceOrder', { e: 'forceOrder', E: 1, o: { s: 'ETHUSDT', S: 'BUY', q: '2', p: '1500.5', ap: '0', z: '0', T: 2 } }), RECV, unfilled);
    expect(unfilled.liquidations.map((l) => [l.side, l.price, l.qty])).toEqual([['buy', '1500.5', '2']]);
  });

  it('open interest by REST (weight 1): base units, the venue time', () => {
    const oi = binanceFuturesDerivs.openInterest!;
    expect(oi.path('BTCUSDT')).toBe('/fapi/v1/openInterest?symbol=BTCUSDT');
    expect(oi.parse('{"openInterest":"10659.509","symbol":"BTCUSDT","time":1589437530011}', 'BTC-USDT-PERP', 'BTCUSDT', RECV)).toEqual({
      venue: 'binance-futures',
      symbol: 'BTC-USDT-PERP',
      venueSymbol: 'BTCUSDT',
      values: { openInterest: '10659.509' },
      ts: 1589437530011,
      recvTs: RECV,
    });
    expect(() => oi.parse('{"openInterest":10659.509,"symbol":"BTCUSDT","time":1}', 'BTC-USDT-PERP', 'BTCUSDT', RECV)).toThrow(/openInterest/);
  });

  it('acks, and malformed or unknown frames are rejects naming the field (for the DLQ)', () => {
    const a = adapter();
    const out = newDerivsOutput();
    expect(a.parse('{"result":null,"id":1}', RECV, out)).toBe('ack');
    expect(a.parse(wrap('btcusdt@markPrice@1s', { e: 'markPriceUpdate', E: 1, s: 'BTCUSDT', p: 11794.15, r: '', T: 0 }), RECV, out)).toBe('reject');
    expect(a.parse(wrap('x', { e: 'kline' }), RECV, out)).toBe('reject');
    expect(a.parse('{', RECV, out)).toBe('reject');
    expect(out.rejects.map((r) => [r.reason, r.schemaPath])).toEqual([
      ['schema', '/data/p'],
      ['unknown-frame', '/data/e'],
      ['json', ''],
    ]);
    expect(out.patches).toEqual([]);
  });
});
