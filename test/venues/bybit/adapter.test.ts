import { describe, expect, it } from 'vitest';
import { venueById } from '../../../venues/index.js';
import { classify } from '../helpers.js';

const TRADE =
  '{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick","i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false},{"T":1672304486866,"s":"BTCUSDT","S":"Sell","v":"0.250","p":"16578.00","L":"MinusTick","i":"2290000000036455162","BT":false}]}';
const book = (type: string, b: string, a: string, u = 1) =>
  `{"topic":"orderbook.1.BTCUSDT","type":"${type}","ts":1672304484978,"data":{"s":"BTCUSDT","b":${b},"a":${a},"u":${u},"seq":7961638724},"cts":1672304484976}`;

describe('bybit adapter', () => {
  it('speaks v5: spot endpoint, op ping every 20 s, ≤10 args per subscribe request', () => {
    const a = venueById('bybit').createAdapter();
    expect(venueById('bybit').wsUrl).toBe('wss://stream.bybit.com/v5/public/spot');
    expect(a.appPing).toMatchObject({ intervalMs: 20_000 });
    expect(a.appPing!.frame()).toBe('{"op":"ping"}');
    expect(venueById('bybit').limits).toMatchObject({ maxArgsPerRequest: 10, connectsPerIp: { count: 500, perMs: 300_000 } });
    let id = 7;
    const symbols = ['BTC-USDT', 'ETH-USDT', 'SOL-USDT', 'XRP-USDT', 'ADA-USDT', 'DOGE-USDT', 'ETH-BTC'];
    const frames = a.subscribeFrames(symbols, ['trades', 'quotes'], () => id++).map((f) => JSON.parse(f));
    expect(frames.map((f) => f.args.length)).toEqual([10, 4]);
    expect(frames[0]).toMatchObject({ op: 'subscribe', req_id: '7' });
    expect(frames[0].args.slice(0, 2)).toEqual(['publicTrade.BTCUSDT', 'orderbook.1.BTCUSDT']);
    expect(frames[1].args.at(-1)).toBe('orderbook.1.ETHBTC');
    expect(JSON.parse(a.unsubscribeFrames(['ETH-BTC'], ['trades'], () => 1)[0]!)).toEqual({ op: 'unsubscribe', args: ['publicTrade.ETHBTC'], req_id: '1' });
  });

  it('normalizes publicTrade: S is the taker side, i the id, T the trade time', () => {
    const a = venueById('bybit').createAdapter();
    const { cls, out } = classify(a, TRADE, 5);
    expect(cls).toBe('data');
    expect(out.trades).toEqual([
      { venue: 'bybit', symbol: 'BTC-USDT', venueSymbol: 'BTCUSDT', id: '20f43950-d8dd-5b31-9112-a178eb6023af', price: '16578.50', qty: '0.001', side: 'buy', ts: 1672304486865, recvTs: 5 },
      { venue: 'bybit', symbol: 'BTC-USDT', venueSymbol: 'BTCUSDT', id: '2290000000036455162', price: '16578.00', qty: '0.250', side: 'sell', ts: 1672304486866, recvTs: 5 },
    ]);
    expect(a.tradeSeq).toBeUndefined();
  });

  it('keeps the depth-1 book per connection: snapshot, delta removal, delta replacement', () => {
    const a = venueById('bybit').createAdapter();
    const first = classify(a, book('snapshot', '[["16493.50","0.006"]]', '[["16611.00","0.029"]]', 10));
    expect(first.out.quotes).toEqual([
      { venue: 'bybit', symbol: 'BTC-USDT', venueSymbol: 'BTCUSDT', bidPrice: '16493.50', bidQty: '0.006', askPrice: '16611.00', askQty: '0.029', updateId: '10', ts: 1672304484978, recvTs: 1_700_000_000_000 },
    ]);
    expect(classify(a, book('delta', '[["16493.50","0"]]', '[]', 11)).cls).toBe('ignored:book-one-sided');
    const q = classify(a, book('delta', '[["16493.00","1.5"]]', '[]', 12)).out.quotes[0];
    expect(q).toMatchObject({ bidPrice: '16493.00', bidQty: '1.5', askPrice: '16611.00', askQty: '0.029', updateId: '12' });
    expect(classify(a, book('delta', '[]', '[["16611.00","0.000"]]', 13)).cls).toBe('ignored:book-one-sided');
    expect(classify(a, book('snapshot', '[]', '[["1","1"]]', 14)).cls).toBe('ignored:book-one-sided');
    // another connection's adapter has its own state
    expect(classify(venueById('bybit').createAdapter(), book('delta', '[["1","1"]]', '[]')).cls).toBe('ignored:book-one-sided');
    // depth 50 goes to the book feed (a malformed one to the DLQ); other depths are not consumed
    expect(classify(a, '{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1,"data":{"s":"BTCUSDT","b":[["1","2"]],"a":[],"u":1,"seq":7}}').cls).toBe('book');
    expect(classify(a, '{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1,"data":{}}').cls).toBe('reject');
    expect(classify(a, '{"topic":"orderbook.200.BTCUSDT","type":"snapshot","ts":1,"data":{}}').cls).toBe('ignored:orderbook');
  });

  it('reads v2 trades with JSON-number decimals as their exact text', () => {
    const a = venueById('bybit').createAdapter();
    const raw =
      '{"topic":"trade.BTCUSD","data":[{"trade_time_ms":1619398389868,"timestamp":"2021-04-26T00:53:09.000Z","symbol":"BTCUSD","side":"Sell","size":2000,"price":50703.50,"tick_direction":"ZeroMinusTick","trade_id":"8241a632-9f07-5fa0-a63d-06cefd570d75","cross_seq":6169452432},{"timestamp":"2021-04-26T00:53:09.123456Z","symbol":"BTCUSD","side":"Buy","size":1.5e-3,"price":"50704","trade_id":"x2"}]}';
    expect(classify(a, raw, 1).out.trades).toEqual([
      { venue: 'bybit', symbol: 'BTC-USD', venueSymbol: 'BTCUSD', id: '8241a632-9f07-5fa0-a63d-06cefd570d75', price: '50703.50', qty: '2000', side: 'sell', ts: 1619398389868, recvTs: 1 },
      { venue: 'bybit', symbol: 'BTC-USD', venueSymbol: 'BTCUSD', id: 'x2', price: '50704', qty: '0.0015', side: 'buy', ts: 1619398389123, recvTs: 1 },
    ]);
  });

  it('classifies replies of both generations and ignored topics', () => {
    const a = venueById('bybit').createAdapter();
    expect(classify(a, '{"success":true,"ret_msg":"","conn_id":"c","req_id":"1","op":"subscribe"}').cls).toBe('ack');
    expect(classify(a, '{"success":false,"ret_msg":"error:handler not found","conn_id":"c","req_id":"2","op":"subscribe"}').cls).toBe('venue-error');
    expect(classify(a, '{"success":true,"ret_msg":"pong","conn_id":"c","req_id":"","op":"ping"}').cls).toBe('pong');
    expect(classify(a, '{"op":"pong","args":["1675418560633"],"conn_id":"c"}').cls).toBe('pong');
    expect(classify(a, '{"success":true,"ret_msg":"pong","conn_id":"c","request":{"op":"ping","args":null}}').cls).toBe('pong');
    expect(classify(a, '{"success":true,"ret_msg":"","conn_id":"c","request":{"op":"subscribe","args":["trade.BCHUSDT"]}}').cls).toBe('ack');
    expect(classify(a, '{"topic":"orderBookL2_25.BTCUSDT","type":"delta","data":{"delete":[],"update":[{"price":"1","size":3.66}],"insert":[]}}').cls).toBe('ignored:orderBookL2');
    expect(classify(a, '{"topic":"tickers.BTCUSDT","type":"snapshot","data":{}}').cls).toBe('ignored:tickers');
  });

  it.each([
    ['truncated', TRADE.slice(0, 100), 'json', ''],
    ['lower-case side', TRADE.replace('"S":"Buy"', '"S":"buy"'), 'schema', '/data/0/S'],
    ['qty as number', TRADE.replace('"v":"0.001"', '"v":0.001'), 'schema', '/data/0/v'],
    ['missing id', TRADE.replace(',"i":"20f43950-d8dd-5b31-9112-a178eb6023af"', ''), 'schema', '/data/0/i'],
    ['huge time', TRADE.replace('"T":1672304486865', '"T":1e400'), 'schema', '/data/0/T'],
    ['unknown symbol in the 2nd entry', TRADE.replace('"s":"BTCUSDT","S":"Sell"', '"s":"BTCPERP","S":"Sell"'), 'symbol', '/data/1/s'],
    ['book level of one element', book('snapshot', '[["1"]]', '[]'), 'schema', '/data/b/0'],
    ['v2 negative size', '{"topic":"trade.BTCUSD","data":[{"timestamp":"2021-04-26T00:53:09.000Z","symbol":"BTCUSD","side":"Sell","size":-2,"price":1,"trade_id":"a"}]}', 'schema', '/data/0/size'],
    ['v2 huge size', '{"topic":"trade.BTCUSD","data":[{"timestamp":"2021-04-26T00:53:09.000Z","symbol":"BTCUSD","side":"Sell","size":1e400,"price":1,"trade_id":"a"}]}', 'schema', '/data/0/size'],
    ['v2 impossible date', '{"topic":"trade.BTCUSD","data":[{"timestamp":"2021-02-31T00:53:09.000Z","symbol":"BTCUSD","side":"Sell","size":2,"price":1,"trade_id":"a"}]}', 'schema', '/data/0/timestamp'],
    ['unknown topic', '{"topic":"mystery.BTCUSDT","data":[]}', 'unknown-frame', '/topic'],
    ['bare array', '[]', 'unknown-frame', ''],
    ['object without topic or op', '{"hello":1}', 'unknown-frame', ''],
  ])('rejects %s', (_name, raw, reason, path) => {
    const { cls, out } = classify(venueById('bybit').createAdapter(), raw);
    expect(cls).toBe('reject');
    expect(out.rejects[0]).toMatchObject({ reason, schemaPath: path, raw });
  });
});
