import { describe, expect, it } from 'vitest';
import { venueById } from '../../../venues/index.js';
import { classify } from '../helpers.js';

/** Binance USD-M (`binance-futures`): perpetual symbols, the /market and /public endpoints, `"e":"bookTicker"`. */
describe('binance-futures adapter', () => {
  const venue = venueById('binance-futures');

  it('is in the registry with the USD-M endpoints; books go to the /public twin of the configured /market URL', () => {
    expect(venue.wsUrl).toBe('wss://fstream.binance.com/market/stream');
    expect(venue.restUrl).toBe('https://fapi.binance.com');
    expect(venue.books!.wsUrl!(venue.wsUrl)).toBe('wss://fstream.binance.com/public/stream');
    expect(venue.books!.wsUrl!('ws://127.0.0.1:9000/market/stream')).toBe('ws://127.0.0.1:9000/public/stream');
    expect(venue.books!.rest!.path('BTCUSDT')).toBe('/fapi/v1/depth?symbol=BTCUSDT&limit=1000');
    expect(venue.books!.rest!.weight).toBe(20);
    expect(venue.limits.restWeightPerMin).toBe(2400);
  });

  it('subscribes BASE-QUOTE-PERP as the venue symbol, per channel', () => {
    const a = venue.createAdapter();
    const [trades] = a.subscribeFrames(['BTC-USDT-PERP'], ['trades', 'quotes'], () => 1);
    expect(JSON.parse(trades!)).toEqual({ method: 'SUBSCRIBE', params: ['btcusdt@aggTrade', 'btcusdt@bookTicker'], id: 1 });
    const [books] = a.subscribeFrames(['BTC-USDT-PERP'], ['books'], () => 2);
    expect(JSON.parse(books!).params).toEqual(['btcusdt@depth@100ms']);
    expect(a.toVenueSymbol('ETH-USDT-PERP')).toBe('ETHUSDT');
  });

  it('accepts "e":"bookTicker" frames as quotes, and trades and depth diffs of perpetuals', () => {
    const a = venue.createAdapter();
    a.subscribeFrames(['BTC-USDT-PERP'], ['trades', 'quotes', 'books'], () => 1);
    const q = classify(a, '{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BTCUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}}', 5);
    expect(q.cls).toBe('data');
    expect(q.out.quotes).toEqual([
      { venue: 'binance-futures', symbol: 'BTC-USDT-PERP', venueSymbol: 'BTCUSDT', bidPrice: '25.35190000', bidQty: '31.21000000', askPrice: '25.36520000', askQty: '40.66000000', updateId: '400900217', ts: 1568014460893, recvTs: 5 },
    ]);
    const t = classify(a, '{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":123456789,"s":"BTCUSDT","a":5933014,"p":"0.001","q":"100","f":100,"l":105,"T":123456785,"m":true}}');
    expect(t.out.trades[0]).toMatchObject({ venue: 'binance-futures', symbol: 'BTC-USDT-PERP', id: '5933014', side: 'sell', count: 6 });
    const d = classify(a, '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":123456789,"T":123456788,"s":"BTCUSDT","U":157,"u":160,"pu":149,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}}');
    expect(d.cls).toBe('book');
    expect(d.out.books[0]!.symbol).toBe('BTC-USDT-PERP');
    // a symbol never subscribed still maps to its perpetual
    const other = classify(venue.createAdapter(), '{"e":"bookTicker","u":1,"E":2,"T":2,"s":"ETHUSDT","b":"1","B":"1","a":"2","A":"1"}');
    expect(other.out.quotes[0]!.symbol).toBe('ETH-USDT-PERP');
  });
});
