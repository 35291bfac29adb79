import { describe, expect, it } from 'vitest';
import { venueById } from '../../../venues/index.js';
import { classify } from '../helpers.js';

const MATCH =
  '{"type":"match","trade_id":10,"sequence":50,"maker_order_id":"ac928c66-ca53-498f-9c13-a110027a60e8","taker_order_id":"132fb6ae-456b-4654-b4e0-d681ac05cea1","time":"2014-11-07T08:19:27.028459Z","product_id":"BTC-USD","size":"5.23512","price":"400.23","side":"sell"}';
const TICKER =
  '{"type":"ticker","sequence":37475248783,"product_id":"ETH-USD","price":"1285.22","open_24h":"1310.79","volume_24h":"245532.79269678","low_24h":"1280.52","high_24h":"1313.8","volume_30d":"9788783.60117027","best_bid":"1285.04","best_bid_size":"0.46688654","best_ask":"1285.27","best_ask_size":"1.56637040","side":"buy","time":"2022-10-19T23:28:22.061769Z","trade_id":370843401,"last_size":"11.4396987"}';

describe('coinbase adapter', () => {
  it('subscribes matches + ticker + heartbeat by product id, no request ids', () => {
    const a = venueById('coinbase').createAdapter();
    expect(venueById('coinbase').wsUrl).toBe('wss://ws-feed.exchange.coinbase.com');
    expect(venueById('coinbase').limits).toMatchObject({ connectsPerIp: { count: 8, perMs: 1000 }, messagesPerIp: { count: 100, perMs: 1000 } });
    expect(a.subscribeFrames(['BTC-USD', 'ETH-EUR'], ['trades', 'quotes'], () => 1)).toEqual([
      '{"type":"subscribe","product_ids":["BTC-USD","ETH-EUR"],"channels":["matches","ticker","heartbeat"]}',
    ]);
    expect(a.unsubscribeFrames(['BTC-USD'], ['trades'], () => 1)).toEqual(['{"type":"unsubscribe","product_ids":["BTC-USD"],"channels":["matches","heartbeat"]}']);
    expect(a.subscribeFrames([], ['trades'], () => 1)).toEqual([]);
  });

  it('a match is published with the TAKER side (opposite of the maker side field)', () => {
    const a = venueById('coinbase').createAdapter();
    const { cls, out } = classify(a, MATCH, 3);
    expect(cls).toBe('data');
    expect(out.trades).toEqual([
      { venue: 'coinbase', symbol: 'BTC-USD', venueSymbol: 'BTC-USD', id: '10', price: '400.23', qty: '5.23512', side: 'buy', ts: 1415348367028, recvTs: 3 },
    ]);
    expect(a.tradeSeq!(out.trades[0]!)).toEqual({ first: 10, last: 10 });
    expect(classify(a, MATCH.replace('"type":"match"', '"type":"last_match"').replace('"side":"sell"', '"side":"buy"')).out.trades[0]!.side).toBe('sell');
  });

  it('ticker with sizes is a quote; without sizes a documented ignore; without time ts = receipt', () => {
    const a = venueById('coinbase').createAdapter();
    expect(classify(a, TICKER, 4).out.quotes).toEqual([
      { venue: 'coinbase', symbol: 'ETH-USD', venueSymbol: 'ETH-USD', bidPrice: '1285.04', bidQty: '0.46688654', askPrice: '1285.27', askQty: '1.56637040', updateId: '37475248783', ts: 1666222102061, recvTs: 4 },
    ]);
    expect(classify(a, TICKER.replace('"best_bid_size":"0.46688654",', '')).cls).toBe('ignored:ticker-without-sizes');
    const noTime = classify(a, '{"type":"ticker","product_id":"ETH-USD","best_bid":"1","best_ask":"2","best_bid_size":"3","best_ask_size":"4"}', 99).out.quotes[0];
    expect(noTime).toEqual({ venue: 'coinbase', symbol: 'ETH-USD', venueSymbol: 'ETH-USD', bidPrice: '1', bidQty: '3', askPrice: '2', askQty: '4', ts: 99, recvTs: 99 });
  });

  it('classifies control and unconsumed channels', () => {
    const a = venueById('coinbase').createAdapter();
    expect(classify(a, '{"type":"heartbeat","sequence":90,"last_trade_id":20,"product_id":"BTC-USD","time":"2014-11-07T08:19:28.464459Z"}').cls).toBe('heartbeat');
    expect(classify(a, '{"type":"subscriptions","channels":[{"name":"matches","product_ids":["BTC-USD"]}]}').cls).toBe('subscribed');
    expect(classify(a, '{"type":"error","message":"Failed to subscribe","reason":"ETH-XYZ is not a valid product"}').cls).toBe('venue-error');
    expect(classify(a, '{"type":"l2update","product_id":"BTC-USD","changes":[["buy","1","2"]],"time":"2021-04-17T16:43:37.075687Z"}').cls).toBe('ignored:level2');
    expect(classify(a, '{"type":"snapshot","product_id":"BTC-USD","bids":[],"asks":[]}').cls).toBe('ignored:level2');
    expect(classify(a, '{"type":"done","product_id":"BTC-USD"}').cls).toBe('ignored:full');
  });

  it.each([
    ['truncated', MATCH.slice(0, 40), 'json', ''],
    ['lower-case product', MATCH.replace('"BTC-USD"', '"btc-usd"'), 'symbol', '/product_id'],
    ['upper-case side', MATCH.replace('"side":"sell"', '"side":"SELL"'), 'schema', '/side'],
    ['trade_id as string', MATCH.replace('"trade_id":10', '"trade_id":"10"'), 'schema', '/trade_id'],
    ['huge trade_id', MATCH.replace('"trade_id":10', '"trade_id":99999999999999999999'), 'schema', '/trade_id'],
    ['time without zone', MATCH.replace('08:19:27.028459Z', '08:19:27.028459'), 'schema', '/time'],
    ['impossible date', MATCH.replace('2014-11-07', '2014-11-31'), 'schema', '/time'],
    ['missing price', MATCH.replace(',"price":"400.23"', ''), 'schema', '/price'],
    ['ticker price as number', TICKER.replace('"best_bid":"1285.04"', '"best_bid":1285.04'), 'schema', '/best_bid'],
    ['unknown type', '{"type":"mystery"}', 'unknown-frame', '/type'],
    ['no type', '{"product_id":"BTC-USD"}', 'unknown-frame', '/type'],
    ['a string', '"hello"', 'unknown-frame', ''],
  ])('rejects %s', (_name, raw, reason, path) => {
    const { cls, out } = classify(venueById('coinbase').createAdapter(), raw);
    expect(cls).toBe('reject');
    expect(out.rejects[0]).toMatchObject({ reason, schemaPath: path, raw });
  });
});
