import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulate/index.js';
import { connect, sleep, until, upgradeStatus, type TestClient } from './ws-client.js';

/** Bybit v5, Coinbase Exchange, Kraken v2 and OKX v5 over real sockets: subscribe, ack, frames. */

const sims: Simulator[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function setup(venue: SimulatorOptions['venue'], symbols: string[], opts: Partial<SimulatorOptions> = {}): Promise<{ s: Simulator; c: TestClient }> {
  const s = await startSimulator({ venue, synthetic: { symbols, tradesPerSec: 400, seed: 5, burstiness: 0.5 }, ...opts });
  sims.push(s);
  const c = await connect(s.wsUrl);
  clients.push(c);
  return { s, c };
}

const DEC = /^\d+(\.\d+)?$/;
const RFC3339_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
type J = Record<string, unknown>;

describe('bybit v5', () => {
  it('acks a subscribe and sends publicTrade batches and orderbook.1 snapshot then deltas for the subscribed symbol only', async () => {
    const { s, c } = await setup('bybit', ['BTC-USDT', 'ETH-USDT']);
    expect(s.wsUrl).toMatch(/\/v5\/public\/spot$/);
    c.send({ op: 'subscribe', args: ['publicTrade.BTCUSDT', 'orderbook.1.BTCUSDT'], req_id: 'r1' });
    await until(() => c.frames.length > 40, 3000, 'frames');
    const [ack, ...rest] = c.json() as J[];
    expect(ack).toMatchObject({ success: true, ret_msg: 'subscribe', req_id: 'r1', op: 'subscribe' });
    expect(typeof ack!.conn_id).toBe('string');
    expect(new Set(rest.map((f) => f.topic))).toEqual(new Set(['publicTrade.BTCUSDT', 'orderbook.1.BTCUSDT']));
    const books = rest.filter((f) => f.topic === 'orderbook.1.BTCUSDT');
    expect(books[0]!.type).toBe('snapshot');
    expect(books.slice(1).every((b) => b.type === 'delta')).toBe(true);
    const snap = books[0]!.data as { s: string; b: string[][]; a: string[][]; u: number };
    expect(snap.s).toBe('BTCUSDT');
    expect(Number(snap.a[0]![0])).toBeGreaterThan(Number(snap.b[0]![0]));
    const trades = rest.filter((f) => f.topic === 'publicTrade.BTCUSDT');
    expect(trades.length).toBeGreaterThan(5);
    let lastId = 0n;
    for (const t of trades) {
      expect(t.type).toBe('snapshot');
      for (const d of t.data as J[]) {
        expect(d).toMatchObject({ s: 'BTCUSDT', BT: false });
        expect(['Buy', 'Sell']).toContain(d.S);
        expect(d.p).toMatch(DEC);
        expect(d.v).toMatch(DEC);
        expect(Number.isInteger(d.T)).toBe(true);
        expect(d.L).toMatch(/^(Zero)?(Plus|Minus)Tick$/);
        const id = BigInt(d.i as string);
        if (lastId > 0n) expect(id).toBe(lastId + 1n);
        lastId = id;
      }
    }
  });

  it('answers ping, refuses unknown symbols, and enforces 10 args per spot request (not on linear)', async () => {
    const { s, c } = await setup('bybit', ['BTC-USDT', 'ETH-USDT']);
    const eleven = ['BTCUSDT', 'ETHUSDT'].flatMap((x) => ['publicTrade', 'orderbook.1', 'orderbook.50', 'orderbook.200', 'tickers', 'kline.1'].map((t) => `${t}.${x}`)).slice(0, 11);
    c.send({ op: 'ping', req_id: 'p1' });
    c.send({ op: 'subscribe', args: ['publicTrade.NOPEUSDT'], req_id: 'r2' });
    c.send({ op: 'subscribe', args: eleven, req_id: 'r3' });
    await until(() => c.frames.length >= 3, 2000, 'answers');
    const [pong, unknown, tooMany] = c.json() as J[];
    expect(pong).toMatchObject({ success: true, ret_msg: 'pong', req_id: 'p1', op: 'ping' });
    expect(unknown).toMatchObject({ success: false, req_id: 'r2', op: 'subscribe' });
    expect(tooMany).toMatchObject({ success: false, ret_msg: 'args size >10', req_id: 'r3' });
    const linear = await connect(s.wsUrl.replace('/spot', '/linear'));
    clients.push(linear);
    linear.send({ op: 'subscribe', args: eleven, req_id: 'r4' });
    await until(() => linear.frames.length >= 1, 2000, 'linear ack');
    expect(linear.json()[0]).toMatchObject({ success: true, req_id: 'r4' });
    expect(s.stats().violations).toEqual({ 'args-limit': 1 });
    expect(await upgradeStatus(s.wsUrl.replace('/v5/public/spot', '/realtime'))).toBe(404);
  });
});

describe('coinbase exchange', () => {
  it('acks with subscriptions and sends match (maker side), ticker (taker side) and heartbeat for the subscribed product only', async () => {
    const { c } = await setup('coinbase', ['BTC-USD', 'ETH-USD']);
    c.send({ type: 'subscribe', product_ids: ['BTC-USD'], channels: ['matches', 'heartbeat', { name: 'ticker', product_ids: ['BTC-USD'] }] });
    await until(() => c.json().some((f) => (f as J).type === 'heartbeat') && c.frames.length > 30, 3000, 'frames and a heartbeat');
    const [ack, ...rest] = c.json() as J[];
    expect(ack!.type).toBe('subscriptions');
    expect(new Set((ack!.channels as Array<{ name: string; product_ids: string[] }>).map((ch) => `${ch.name}:${ch.product_ids.join()}`))).toEqual(
      new Set(['matches:BTC-USD', 'heartbeat:BTC-USD', 'ticker:BTC-USD']),
    );
    expect(rest.every((f) => f.product_id === 'BTC-USD')).toBe(true);
    const matches = rest.filter((f) => f.type === 'match');
    expect(matches.length).toBeGreaterThan(5);
    for (const [i, m] of matches.entries()) {
      expect(m.price).toMatch(DEC);
      expect(m.size).toMatch(/^\d+\.\d{8}$/);
      expect(m.time).toMatch(RFC3339_MICROS);
      expect(['buy', 'sell']).toContain(m.side);
      if (i > 0) {
        expect(m.trade_id).toBe((matches[i - 1]!.trade_id as number) + 1);
        expect(m.sequence as number).toBeGreaterThan(matches[i - 1]!.sequence as number);
      }
    }
    // The ticker names the taker; the match names the maker: opposite sides for the same trade.
    const tickers = rest.filter((f) => f.type === 'ticker');
    expect(tickers.length).toBeGreaterThan(2);
    let compared = 0;
    for (const t of tickers) {
      const m = matches.find((x) => x.trade_id === t.trade_id);
      if (!m) continue;
      expect(t.side).not.toBe(m.side);
      expect(t.price).toBe(m.price);
      expect(Number(t.best_ask)).toBeGreaterThan(Number(t.best_bid));
      compared++;
    }
    expect(compared).toBeGreaterThan(0);
    const hb = rest.find((f) => f.type === 'heartbeat')!;
    expect(Number.isInteger(hb.last_trade_id)).toBe(true);
  });

  it('refuses unknown products and channels', async () => {
    const { c } = await setup('coinbase', ['BTC-USD']);
    c.send({ type: 'subscribe', product_ids: ['FOO-USD'], channels: ['matches'] });
    c.send({ type: 'subscribe', product_ids: ['BTC-USD'], channels: ['nope'] });
    await until(() => c.frames.length >= 2, 2000, 'errors');
    expect(c.json()).toEqual([
      { type: 'error', message: 'Failed to subscribe', reason: 'FOO-USD is not a valid product' },
      { type: 'error', message: 'Failed to subscribe', reason: 'nope is not a valid channel' },
    ]);
  });
});

describe('kraken v2', () => {
  it('sends status on connect, acks per symbol, and streams trade and ticker with JSON-number prices', async () => {
    const { c } = await setup('kraken', ['BTC-USD', 'ETH-USD']);
    await until(() => c.frames.length >= 1, 2000, 'status');
    expect(c.json()[0]).toMatchObject({ channel: 'status', type: 'update', data: [{ system: 'online', api_version: 'v2' }] });
    c.send({ method: 'subscribe', params: { channel: 'trade', symbol: ['BTC/USD'] }, req_id: 1 });
    c.send({ method: 'subscribe', params: { channel: 'ticker', symbol: ['BTC/USD'] }, req_id: 2 });
    await until(() => c.frames.length > 30, 3000, 'frames');
    const all = c.json() as J[];
    expect(all[1]).toMatchObject({ method: 'subscribe', result: { channel: 'trade', snapshot: false, symbol: 'BTC/USD' }, success: true, req_id: 1 });
    const tickerAck = all.findIndex((f) => f.req_id === 2);
    expect(all[tickerAck]).toMatchObject({ method: 'subscribe', result: { channel: 'ticker', snapshot: true, symbol: 'BTC/USD' }, success: true });
    expect(all[tickerAck + 1]).toMatchObject({ channel: 'ticker', type: 'snapshot', data: [{ symbol: 'BTC/USD' }] });

    const tradeTexts = c.texts().filter((t) => t.startsWith('{"channel":"trade"'));
    expect(tradeTexts.length).toBeGreaterThan(5);
    let last = 0;
    for (const text of tradeTexts) {
      expect(text).toMatch(/"price":\d/); // a JSON number, not a string
      const f = JSON.parse(text) as { type: string; data: J[] };
      expect(f.type).toBe('update');
      for (const d of f.data) {
        expect(d).toMatchObject({ symbol: 'BTC/USD', ord_type: 'market' });
        expect(typeof d.price).toBe('number');
        expect(typeof d.qty).toBe('number');
        expect(d.timestamp).toMatch(RFC3339_MICROS);
        if (last > 0) expect(d.trade_id).toBe(last + 1);
        last = d.trade_id as number;
      }
    }
    const tickers = all.filter((f) => f.channel === 'ticker' && f.type === 'update');
    expect(tickers.length).toBeGreaterThan(2);
    const t = (tickers[0]!.data as J[])[0]!;
    expect(t.ask as number).toBeGreaterThan(t.bid as number);
    expect(all.some((f) => JSON.stringify(f).includes('ETH/USD'))).toBe(false);
  });

  it('refuses XBT (v2 speaks BTC), answers ping, and sends heartbeats when quiet', async () => {
    const { c } = await setup('kraken', ['BTC-USD'], { synthetic: { symbols: ['BTC-USD'], tradesPerSec: 0, quotesPerSec: 0.001, seed: 1 } });
    c.send({ method: 'subscribe', params: { channel: 'trade', symbol: ['XBT/USD'] }, req_id: 7 });
    c.send({ method: 'ping', req_id: 8 });
    c.send({ method: 'subscribe', params: { channel: 'trade', symbol: ['BTC/USD'] } });
    await until(() => c.json().some((f) => (f as J).channel === 'heartbeat'), 3000, 'heartbeat');
    const all = c.json() as J[];
    expect(all[1]).toMatchObject({ error: 'Currency pair not supported XBT/USD', success: false, symbol: 'XBT/USD', req_id: 7 });
    expect(all[2]).toMatchObject({ method: 'pong', req_id: 8 });
    expect(all.at(-1)).toEqual({ channel: 'heartbeat' });
  });
});

describe('okx v5', () => {
  it('acks each arg and streams trades (ids advance by count), bbo-tbt and tickers for the subscribed instrument only', async () => {
    const { s, c } = await setup('okx', ['BTC-USDT', 'ETH-USDT']);
    expect(s.wsUrl).toMatch(/\/ws\/v5\/public$/);
    c.send({ op: 'subscribe', args: [{ channel: 'trades', instId: 'BTC-USDT' }, { channel: 'bbo-tbt', instId: 'BTC-USDT' }] });
    c.send('ping');
    await until(() => c.frames.length > 40, 3000, 'frames');
    const texts = c.texts();
    expect(texts).toContain('pong');
    const all = texts.filter((t) => t !== 'pong').map((t) => JSON.parse(t) as J);
    expect(all.slice(0, 2)).toEqual([
      { event: 'subscribe', arg: { channel: 'trades', instId: 'BTC-USDT' }, connId: expect.any(String) },
      { event: 'subscribe', arg: { channel: 'bbo-tbt', instId: 'BTC-USDT' }, connId: expect.any(String) },
    ]);
    const data = all.slice(2);
    expect(data.every((f) => (f.arg as J).instId === 'BTC-USDT')).toBe(true);
    const trades = data.filter((f) => (f.arg as J).channel === 'trades').flatMap((f) => f.data as J[]);
    expect(trades.length).toBeGreaterThan(5);
    for (const [i, t] of trades.entries()) {
      expect(t).toMatchObject({ instId: 'BTC-USDT' });
      expect(t.px).toMatch(DEC);
      expect(t.sz).toMatch(DEC);
      expect(t.ts).toMatch(/^\d{13}$/);
      expect(['buy', 'sell']).toContain(t.side);
      if (i > 0) expect(Number(t.tradeId) - Number(t.count)).toBe(Number(trades[i - 1]!.tradeId));
    }
    const bbo = data.filter((f) => (f.arg as J).channel === 'bbo-tbt').map((f) => (f.data as J[])[0]!);
    expect(bbo.length).toBeGreaterThan(5);
    expect(Number((bbo[0]!.asks as string[][])[0]![0])).toBeGreaterThan(Number((bbo[0]!.bids as string[][])[0]![0]));
  });

  it('refuses unknown instruments and subscribe bursts over the per-connection limit', async () => {
    const { s, c } = await setup('okx', ['BTC-USDT'], { limits: { subscribes: { limit: 2, windowMs: 60_000 } } });
    c.send({ op: 'subscribe', args: [{ channel: 'trades', instId: 'NOPE-USDT' }] });
    c.send({ op: 'subscribe', args: [{ channel: 'tickers', instId: 'BTC-USDT' }] });
    c.send({ op: 'subscribe', args: [{ channel: 'trades', instId: 'BTC-USDT' }] });
    c.send({ op: 'subscribe', args: [{ channel: 'trades-all', instId: 'BTC-USDT' }] });
    await until(() => c.json().filter((f) => (f as J).event !== undefined).length >= 4, 2000, 'answers');
    const events = (c.json() as J[]).filter((f) => f.event !== undefined);
    expect(events[0]).toMatchObject({ event: 'error', code: '60018' });
    expect(events[1]).toMatchObject({ event: 'subscribe', arg: { channel: 'tickers' } });
    expect(events[2]).toMatchObject({ event: 'subscribe', arg: { channel: 'trades' } });
    expect(events[3]).toMatchObject({ event: 'error', code: '60014' });
    await sleep(100);
    expect((c.json() as J[]).some((f) => (f.arg as J | undefined)?.channel === 'trades-all')).toBe(false);
    expect(s.stats().violations).toEqual({ 'subscribe-rate': 1 });
  });
});
