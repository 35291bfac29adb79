import { describe, expect, it } from 'vitest';
import { venueById } from '../../../venues/index.js';
import { classify } from '../helpers.js';

const TRADES =
  '{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"130639474","px":"42219.9","sz":"0.12060306","side":"buy","ts":"1630048897897","count":"3","source":"0","seqId":1234}]}';
const BBO = '{"arg":{"channel":"bbo-tbt","instId":"BTC-USDT"},"data":[{"asks":[["8446","95","0","3"]],"bids":[["8445","1.50","0","1"]],"ts":"1597026383085","seqId":123}]}';

describe('okx adapter', () => {
  it('subscribes trades + bbo-tbt in as few requests as 64 KB allows (480 per hour budget)', () => {
    const a = venueById('okx').createAdapter();
    expect(venueById('okx').wsUrl).toBe('wss://ws.okx.com:8443/ws/v5/public');
    expect(a.appPing!.frame()).toBe('ping');
    expect(venueById('okx').limits).toMatchObject({ connectsPerIp: { count: 3, perMs: 1000 }, subscribesPerConnection: { count: 480, perMs: 3_600_000 } });
    let id = 1;
    expect(a.subscribeFrames(['BTC-USDT'], ['trades', 'quotes'], () => id++)).toEqual([
      '{"id":"1","op":"subscribe","args":[{"channel":"trades","instId":"BTC-USDT"},{"channel":"bbo-tbt","instId":"BTC-USDT"}]}',
    ]);
    const many = Array.from({ length: 2000 }, (_, i) => `C${i}-USDT`);
    const frames = a.subscribeFrames(many, ['trades', 'quotes'], () => id++);
    expect(frames.length).toBeGreaterThan(1);
    for (const f of frames) expect(Buffer.byteLength(f)).toBeLessThanOrEqual(64 * 1024);
    expect(frames.reduce((n, f) => n + JSON.parse(f).args.length, 0)).toBe(4000);
    expect(JSON.parse(a.unsubscribeFrames(['BTC-USDT'], ['quotes'], () => 9)[0]!)).toEqual({ id: '9', op: 'unsubscribe', args: [{ channel: 'bbo-tbt', instId: 'BTC-USDT' }] });
  });

  it('normalizes trades with the aggregation count; tradeSeq spans the aggregated ids', () => {
    const a = venueById('okx').createAdapter();
    const { cls, out } = classify(a, TRADES, 6);
    expect(cls).toBe('data');
    expect(out.trades).toEqual([
      { venue: 'okx', symbol: 'BTC-USDT', venueSymbol: 'BTC-USDT', id: '130639474', price: '42219.9', qty: '0.12060306', side: 'buy', ts: 1630048897897, recvTs: 6, count: 3 },
    ]);
    expect(a.tradeSeq!(out.trades[0]!)).toEqual({ first: 130639472, last: 130639474 });
  });

  it('bbo-tbt is a quote; derivatives and empty sides are documented ignores', () => {
    const a = venueById('okx').createAdapter();
    expect(classify(a, BBO, 7).out.quotes).toEqual([
      { venue: 'okx', symbol: 'BTC-USDT', venueSymbol: 'BTC-USDT', bidPrice: '8445', bidQty: '1.50', askPrice: '8446', askQty: '95', updateId: '123', ts: 1597026383085, recvTs: 7 },
    ]);
    expect(classify(a, BBO.replaceAll('BTC-USDT', 'BTC-USD-SWAP')).cls).toBe('ignored:unsupported-instrument');
    expect(classify(a, TRADES.replaceAll('BTC-USDT', 'BTC-USD-220527')).cls).toBe('ignored:unsupported-instrument');
    expect(classify(a, BBO.replace('[["8446","95","0","3"]]', '[]')).cls).toBe('ignored:book-one-sided');
    const ticker = '{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instType":"SPOT","instId":"BTC-USDT","last":"1","askPx":"","askSz":"","bidPx":"30228.6","bidSz":"0.23393","ts":"1652459224956"}]}';
    expect(classify(a, ticker).cls).toBe('ignored:book-one-sided');
  });

  it('classifies events, pong and unconsumed channels', () => {
    const a = venueById('okx').createAdapter();
    expect(classify(a, 'pong').cls).toBe('pong');
    expect(classify(a, '{"id":"1","event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":"accb8e21"}').cls).toBe('ack');
    expect(classify(a, '{"event":"error","code":"60012","msg":"Invalid request","connId":"a4d3ae55"}').cls).toBe('venue-error');
    expect(classify(a, '{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade.","connId":"a4d3ae55"}').cls).toBe('info');
    // books go to the book feed; a malformed one is a reject (to the DLQ)
    const books = classify(a, '{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["8476.98","415","0","13"]],"bids":[],"ts":"1597026383085","checksum":-855196043,"prevSeqId":1,"seqId":2}]}');
    expect(books.cls).toBe('book');
    expect(books.out.books[0]!.symbol).toBe('BTC-USDT');
    expect(classify(a, '{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[]}').cls).toBe('reject');
    expect(classify(a, '{"arg":{"channel":"books5","instId":"BTC-USDT"},"data":[]}').cls).toBe('ignored:books');
    expect(classify(a, '{"arg":{"channel":"candle1m","instId":"BTC-USDT"},"data":[]}').cls).toBe('ignored:candle');
    expect(classify(a, '{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[]}').cls).toBe('ignored:empty');
  });

  it.each([
    ['truncated', TRADES.slice(0, 50), 'json', ''],
    ['the text ping', 'ping', 'json', ''],
    ['tradeId not digits', TRADES.replace('"tradeId":"130639474"', '"tradeId":"abc"'), 'schema', '/data/0/tradeId'],
    ['ts as a number', TRADES.replace('"ts":"1630048897897"', '"ts":1630048897897'), 'schema', '/data/0/ts'],
    ['upper-case side', TRADES.replace('"side":"buy"', '"side":"BUY"'), 'schema', '/data/0/side'],
    ['px with exponent', TRADES.replace('"px":"42219.9"', '"px":"4.2e4"'), 'schema', '/data/0/px'],
    ['count zero', TRADES.replace('"count":"3"', '"count":"0"'), 'schema', '/data/0/count'],
    ['lower-case instId', TRADES.replaceAll('BTC-USDT', 'btc-usdt'), 'symbol', '/data/0/instId'],
    ['bbo level too short', BBO.replace('["8445","1.50","0","1"]', '["8445"]'), 'schema', '/data/0/bids/0'],
    ['unknown channel', '{"arg":{"channel":"mystery"},"data":[]}', 'unknown-frame', '/arg/channel'],
    ['unknown event', '{"event":"mystery"}', 'unknown-frame', '/event'],
    ['no arg', '{"data":[]}', 'unknown-frame', '/arg'],
  ])('rejects %s', (_name, raw, reason, path) => {
    const { cls, out } = classify(venueById('okx').createAdapter(), raw);
    expect(cls).toBe('reject');
    expect(out.rejects[0]).toMatchObject({ reason, schemaPath: path, raw });
  });
});
