import { describe, expect, it } from 'vitest';
import { venueById } from '../../../venues/index.js';
import { classify } from '../helpers.js';

const AGG =
  '{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1672515782136,"s":"BTCUSDT","a":12345,"p":"0.00100000","q":"100.50000000","f":100,"l":105,"T":1672515782134,"m":true,"M":true}}';

function ids(): () => number {
  let n = 1;
  return () => n++;
}

describe('binance adapter', () => {
  it('serves binance and binance-us with their hosts and documented limits', () => {
    const a = venueById('binance').createAdapter();
    expect(venueById('binance').wsUrl).toBe('wss://stream.binance.com:9443/stream');
    expect(venueById('binance-us').wsUrl).toBe('wss://stream.binance.us:9443/stream');
    expect(venueById('binance-us').restUrl).toBe('https://api.binance.us');
    expect(venueById('binance').limits).toMatchObject({ maxStreamsPerConnection: 1024, messagesPerConnection: { count: 5, perMs: 1000 }, connectsPerIp: { count: 300, perMs: 300_000 } });
    expect(a.appPing).toBeUndefined();
  });

  it('builds SUBSCRIBE/UNSUBSCRIBE with ids, one message up to 1024 streams', () => {
    const a = venueById('binance').createAdapter();
    const next = ids();
    expect(a.subscribeFrames(['BTC-USDT', 'ETH-BTC'], ['trades', 'quotes'], next)).toEqual([
      '{"method":"SUBSCRIBE","params":["btcusdt@aggTrade","btcusdt@bookTicker","ethbtc@aggTrade","ethbtc@bookTicker"],"id":1}',
    ]);
    expect(a.unsubscribeFrames(['BTC-USDT'], ['quotes'], next)).toEqual(['{"method":"UNSUBSCRIBE","params":["btcusdt@bookTicker"],"id":2}']);
    const many = Array.from({ length: 600 }, (_, i) => `S${i}-USDT`);
    const frames = a.subscribeFrames(many, ['trades', 'quotes'], next);
    expect(frames.map((f) => JSON.parse(f).params.length)).toEqual([1024, 176]);
    expect(a.subscribeFrames([], ['trades'], next)).toEqual([]);
  });

  it('normalizes a combined-stream aggTrade: m=true means the taker sold, count = l − f + 1', () => {
    const a = venueById('binance').createAdapter();
    const { cls, out } = classify(a, AGG, 1672515782200);
    expect(cls).toBe('data');
    expect(out.trades).toEqual([
      { venue: 'binance', symbol: 'BTC-USDT', venueSymbol: 'BTCUSDT', id: '12345', price: '0.00100000', qty: '100.50000000', side: 'sell', ts: 1672515782134, recvTs: 1672515782200, count: 6 },
    ]);
    expect(a.tradeSeq!(out.trades[0]!)).toEqual({ first: 12345, last: 12345 });
  });

  it('normalizes a raw-stream trade and a bookTicker (ts = receipt time on spot)', () => {
    const a = venueById('binance-us').createAdapter();
    const t = classify(a, '{"e":"trade","E":1,"s":"ETHUSD","t":77,"p":"1800.01","q":"0.5","T":1672515782134,"m":false,"M":true}', 9).out.trades[0];
    expect(t).toEqual({ venue: 'binance-us', symbol: 'ETH-USD', venueSymbol: 'ETHUSD', id: '77', price: '1800.01', qty: '0.5', side: 'buy', ts: 1672515782134, recvTs: 9 });
    const q = classify(a, '{"stream":"bnbusdt@bookTicker","data":{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}}', 1234.9).out.quotes[0];
    expect(q).toEqual({ venue: 'binance-us', symbol: 'BNB-USDT', venueSymbol: 'BNBUSDT', bidPrice: '25.35190000', bidQty: '31.21000000', askPrice: '25.36520000', askQty: '40.66000000', updateId: '400900217', ts: 1234, recvTs: 1234 });
  });

  it('prefers the symbol learnt from a subscription over the quote-suffix table', () => {
    const fresh = venueById('binance').createAdapter();
    const frame = '{"e":"trade","E":1,"s":"XRPBUSD","t":1,"p":"1","q":"1","T":1,"m":false}';
    expect(classify(fresh, frame).out.trades[0]!.symbol).toBe('XRP-BUSD');
    const taught = venueById('binance').createAdapter();
    taught.subscribeFrames(['XRPB-USD'], ['trades'], ids());
    expect(classify(taught, frame).out.trades[0]!.symbol).toBe('XRPB-USD');
    expect(taught.toVenueSymbol('XRPB-USD')).toBe('XRPBUSD');
    expect(() => taught.toVenueSymbol('btcusdt')).toThrow(/canonical/);
  });

  it('classifies replies and channels it does not consume', () => {
    const a = venueById('binance').createAdapter();
    expect(classify(a, '{"result":null,"id":1}').cls).toBe('ack');
    expect(classify(a, '{"result":["btcusdt@aggTrade"],"id":2}').cls).toBe('info');
    expect(classify(a, '{"error":{"code":2,"msg":"Invalid request: unknown variant"},"id":3}').cls).toBe('venue-error');
    expect(classify(a, '{"code":1,"msg":"Invalid value type: expected Boolean","id":4}').cls).toBe('venue-error');
    expect(classify(a, '{"stream":"btcusdt@depth5","data":{"lastUpdateId":1,"bids":[],"asks":[]}}').cls).toBe('ignored:depth');
    expect(classify(a, '{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1,"s":"BTCUSDT","k":{}}}').cls).toBe('ignored:kline');
    expect(classify(a, '{"stream":"btcusdt@ticker","data":{"e":"24hrTicker"}}').cls).toBe('ignored:ticker');
  });

  it.each([
    ['truncated JSON', AGG.slice(0, 60), 'json', ''],
    ['not an object', '[1,2]', 'unknown-frame', ''],
    ['price as a number', AGG.replace('"p":"0.00100000"', '"p":0.001'), 'schema', '/data/p'],
    ['missing trade time', AGG.replace(',"T":1672515782134', ''), 'schema', '/data/T'],
    ['huge aggregate id', AGG.replace('"a":12345', '"a":1e400'), 'schema', '/data/a'],
    ['id beyond 2^53', AGG.replace('"a":12345', '"a":123456789012345678901234567890'), 'schema', '/data/a'],
    ['exponent price', AGG.replace('"p":"0.00100000"', '"p":"1e-3"'), 'schema', '/data/p'],
    ['zero quantity', AGG.replace('"q":"100.50000000"', '"q":"0.00000000"'), 'schema', '/data/q'],
    ['negative price', AGG.replace('"p":"0.00100000"', '"p":"-1"'), 'schema', '/data/p'],
    ['l below f', AGG.replace('"l":105', '"l":99'), 'schema', '/data/l'],
    ['m as a string', AGG.replace('"m":true', '"m":"true"'), 'schema', '/data/m'],
    ['data not an object', '{"stream":"x","data":"y"}', 'schema', '/data'],
    ['unknown symbol', AGG.replace('"s":"BTCUSDT"', '"s":"FOOBAR"'), 'symbol', '/data/s'],
    ['unknown event', AGG.replace('"e":"aggTrade"', '"e":"mystery"'), 'unknown-frame', '/data/e'],
    ['no event, no shape', '{"stream":"x","data":{"foo":1}}', 'unknown-frame', '/data'],
    ['invalid UTF-8 as replacement chars', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]).toString('utf8'), 'unknown-frame', ''],
    ['invalid UTF-8 inside a value', Buffer.concat([Buffer.from(AGG.slice(0, AGG.indexOf('"p":"') + 5)), Buffer.from([0xc3, 0x28]), Buffer.from(AGG.slice(AGG.indexOf('"p":"') + 5))]).toString('utf8'), 'schema', '/data/p'],
  ])('rejects %s', (_name, raw, reason, path) => {
    const { cls, out } = classify(venueById('binance').createAdapter(), raw);
    expect(cls).toBe('reject');
    expect(out.rejects[0]).toMatchObject({ reason, schemaPath: path });
    expect(out.rejects[0]!.detail.length).toBeGreaterThan(0);
  });

  it('backfills gaps from /api/v3/aggTrades with the live normalization', () => {
    const a = venueById('binance').createAdapter();
    const live = classify(a, AGG).out.trades[0]!;
    const bf = venueById('binance').history!;
    expect(bf.maxPerRequest).toBe(1000);
    expect(bf.path('BTCUSDT', 12340, 5)).toBe('/api/v3/aggTrades?symbol=BTCUSDT&fromId=12340&limit=5');
    const body = '[{"a":12340,"p":"0.00090000","q":"1.00000000","f":90,"l":92,"T":1672515782000,"m":false,"M":true},{"a":12341,"p":"0.00091000","q":"2.00000000","f":93,"l":93,"T":1672515782001,"m":true,"M":true}]';
    expect(bf.parse(body, live, 7)).toEqual([
      { venue: 'binance', symbol: 'BTC-USDT', venueSymbol: 'BTCUSDT', id: '12340', price: '0.00090000', qty: '1.00000000', side: 'buy', ts: 1672515782000, recvTs: 7, count: 3 },
      { venue: 'binance', symbol: 'BTC-USDT', venueSymbol: 'BTCUSDT', id: '12341', price: '0.00091000', qty: '2.00000000', side: 'sell', ts: 1672515782001, recvTs: 7, count: 1 },
    ]);
    expect(() => bf.parse('[{"a":1,"p":1,"q":"1","f":1,"l":1,"T":1,"m":true}]', live, 7)).toThrow(/\/0\/p/);
    expect(() => bf.parse('{"code":-1121,"msg":"Invalid symbol."}', live, 7)).toThrow(/invalid/);
  });
});
