import { describe, expect, it } from 'vitest';
import { venueById } from '../../../venues/index.js';
import { classify } from '../helpers.js';

const TRADE =
  '{"channel":"trade","type":"update","data":[{"symbol":"MATIC/USD","side":"sell","price":0.5117,"qty":40.0,"ord_type":"market","trade_id":4665906,"timestamp":"2023-09-25T07:49:37.708706Z"},{"symbol":"MATIC/USD","side":"buy","price":0.51200,"qty":1.5e-3,"ord_type":"limit","trade_id":4665907,"timestamp":"2023-09-25T07:49:37.709Z"}]}';
const TICKER =
  '{"channel":"ticker","type":"snapshot","data":[{"symbol":"ALGO/USD","bid":0.10025,"bid_qty":740.0,"ask":0.10036,"ask_qty":1240.39929535,"last":0.10035,"volume":997038.98383185,"vwap":0.10148,"low":0.09979,"high":0.10285,"change":-0.00017,"change_pct":-0.17,"timestamp":"2023-09-25T07:49:37.708706Z"}]}';

describe('kraken adapter', () => {
  it('speaks v2: endpoint, subscribe requests per channel (ticker on bbo), symbols BASE/QUOTE', () => {
    const a = venueById('kraken').createAdapter();
    expect(venueById('kraken').wsUrl).toBe('wss://ws.kraken.com/v2');
    expect(a.appPing!.frame()).toBe('{"method":"ping"}');
    expect(venueById('kraken').limits.connectsPerIp).toEqual({ count: 150, perMs: 600_000 });
    let id = 1;
    expect(a.subscribeFrames(['BTC-USD', 'DOGE-EUR'], ['trades', 'quotes'], () => id++)).toEqual([
      '{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD","DOGE/EUR"],"snapshot":true},"req_id":1}',
      '{"method":"subscribe","params":{"channel":"ticker","symbol":["BTC/USD","DOGE/EUR"],"snapshot":true,"event_trigger":"bbo"},"req_id":2}',
    ]);
    expect(a.unsubscribeFrames(['BTC-USD'], ['trades'], () => id++)).toEqual(['{"method":"unsubscribe","params":{"channel":"trade","symbol":["BTC/USD"]},"req_id":3}']);
    expect(a.fromVenueSymbol('XBT/USD')).toBe('BTC-USD');
    expect(a.fromVenueSymbol('XDG/XBT')).toBe('DOGE-BTC');
    expect(a.fromVenueSymbol('ETH2.S/ETH')).toBe(null);
  });

  it('keeps v2 JSON-number decimals exactly as sent (trailing zeros, exponents)', () => {
    const a = venueById('kraken').createAdapter();
    const { cls, out } = classify(a, TRADE, 8);
    expect(cls).toBe('data');
    expect(out.trades).toEqual([
      { venue: 'kraken', symbol: 'MATIC-USD', venueSymbol: 'MATIC/USD', id: '4665906', price: '0.5117', qty: '40.0', side: 'sell', ts: 1695628177708, recvTs: 8 },
      { venue: 'kraken', symbol: 'MATIC-USD', venueSymbol: 'MATIC/USD', id: '4665907', price: '0.51200', qty: '0.0015', side: 'buy', ts: 1695628177709, recvTs: 8 },
    ]);
    expect(a.tradeSeq!(out.trades[0]!)).toEqual({ first: 4665906, last: 4665906 });
    expect(classify(a, TICKER, 9).out.quotes).toEqual([
      { venue: 'kraken', symbol: 'ALGO-USD', venueSymbol: 'ALGO/USD', bidPrice: '0.10025', bidQty: '740.0', askPrice: '0.10036', askQty: '1240.39929535', ts: 1695628177708, recvTs: 9 },
    ]);
  });

  it('reads v1 spread as a quote and classifies v1/v2 control frames', () => {
    const a = venueById('kraken').createAdapter();
    expect(classify(a, '[0,["5698.40000","5700.00000","1542057299.545897","1.01234567","0.98765432"],"spread","XBT/USD"]', 2).out.quotes).toEqual([
      { venue: 'kraken', symbol: 'BTC-USD', venueSymbol: 'XBT/USD', bidPrice: '5698.40000', bidQty: '1.01234567', askPrice: '5700.00000', askQty: '0.98765432', ts: 1542057299545, recvTs: 2 },
    ]);
    // An empty book: v1 sends an all-zero spread dated 1970; no quote with zero prices is published.
    expect(classify(a, '[0,["0.000000000","0.000000000","0.000000","0.00000000","0.00000000"],"spread","XBT/USD"]').cls).toBe('ignored:book-one-sided');
    expect(classify(a, '[0,["5698.40000","0.00000","1542057299.545897","1.0","0"],"spread","XBT/USD"]').cls).toBe('ignored:book-one-sided');
    expect(classify(a, '{"channel":"ticker","type":"update","data":[{"symbol":"BTC/USD","bid":0.0,"bid_qty":0.0,"ask":0.0,"ask_qty":0.0}]}').cls).toBe('ignored:book-one-sided');
    const cases: [string, string][] = [
      ['{"method":"subscribe","result":{"channel":"ticker","event_trigger":"bbo","snapshot":true,"symbol":"ALGO/USD"},"success":true,"time_in":"2023-09-25T09:04:31.742599Z","time_out":"2023-09-25T09:04:31.742648Z"}', 'ack'],
      ['{"error":"Currency pair not supported XBT/USD","method":"subscribe","success":false,"symbol":"XBT/USD","time_in":"2023-09-25T09:04:31.742599Z","time_out":"2023-09-25T09:04:31.742648Z"}', 'venue-error'],
      ['{"method":"pong","req_id":101,"time_in":"2023-09-24T14:10:23.799685Z","time_out":"2023-09-24T14:10:23.799703Z"}', 'pong'],
      ['{"channel":"heartbeat"}', 'heartbeat'],
      ['{"channel":"status","data":[{"api_version":"v2","connection_id":12393906104898154338,"system":"online","version":"2.0.0"}],"type":"update"}', 'info'],
      ['{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":1,"qty":2}],"asks":[],"checksum":1,"timestamp":"2023-10-06T17:35:55.440295Z"}]}', 'book'],
      // a malformed depth frame is a reject (to the DLQ), not silently dropped
      ['{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":"1x","qty":2}],"asks":[],"checksum":1}]}', 'reject'],
      ['{"event":"heartbeat"}', 'heartbeat'],
      ['{"connectionID":17843232920108168701,"event":"systemStatus","status":"online","version":"1.8.3"}', 'info'],
      ['{"channelID":1664,"channelName":"book-1000","event":"subscriptionStatus","pair":"WAVES/EUR","status":"subscribed","subscription":{"depth":1000,"name":"book"}}', 'subscribed'],
      ['{"errorMessage":"Currency pair not supported","event":"subscriptionStatus","pair":"XBT/USDX","status":"error"}', 'venue-error'],
      ['[1360,{"a":[["0.000022900","0.00000000","1618678133.626000"]],"c":"1"},"book-1000","ADA/XBT"]', 'ignored:book'],
      ['[42,{"a":["5525.40000",1,"1.000"]},"ticker","XBT/USD"]', 'ignored:ticker'],
    ];
    for (const [raw, cls] of cases) expect(classify(a, raw).cls, raw).toBe(cls);
  });

  it.each([
    ['truncated', TRADE.slice(0, 80), 'json', ''],
    ['negative price', TRADE.replace('"price":0.5117', '"price":-0.5117'), 'schema', '/data/0/price'],
    ['huge qty', TRADE.replace('"qty":40.0', '"qty":1e400'), 'schema', '/data/0/qty'],
    ['fractional trade id', TRADE.replace('"trade_id":4665906', '"trade_id":4665906.5'), 'schema', '/data/0/trade_id'],
    ['side missing', TRADE.replace('"side":"sell",', ''), 'schema', '/data/0/side'],
    ['unknown symbol in the 2nd entry', TRADE.replace('"symbol":"MATIC/USD","side":"buy"', '"symbol":"MATICUSD","side":"buy"'), 'symbol', '/data/1/symbol'],
    ['impossible timestamp', TRADE.replace('2023-09-25T07:49:37.708706Z', '2023-09-25T25:49:37.708706Z'), 'schema', '/data/0/timestamp'],
    ['v1 trade with a bad side', '[0,[["5541.20000","0.15850568","1534614057.321597","x","l",""]],"trade","XBT/USD"]', 'schema', '/1/0/3'],
    ['v1 trade of an unknown pair', '[0,[["5541.20000","0.15850568","1534614057.321597","s","l",""]],"trade","XBTUSD"]', 'symbol', '/3'],
    ['v1 unknown channel', '[0,{},"mystery","XBT/USD"]', 'unknown-frame', '/2'],
    ['unknown v2 channel', '{"channel":"mystery"}', 'unknown-frame', '/channel'],
    ['unknown v1 event', '{"event":"mystery"}', 'unknown-frame', '/event'],
    ['nothing recognisable', '{"x":1}', 'unknown-frame', ''],
  ])('rejects %s', (_name, raw, reason, path) => {
    const { cls, out } = classify(venueById('kraken').createAdapter(), raw);
    expect(cls).toBe('reject');
    expect(out.rejects[0]).toMatchObject({ reason, schemaPath: path, raw });
  });
});
