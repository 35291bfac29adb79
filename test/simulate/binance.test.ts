import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions, type SimStats } from '../../simulate/index.js';
import { connect, control, sleep, until, upgradeStatus, type TestClient } from './ws-client.js';

/** Simulated Binance over real sockets: stream protocol, REST backfill, and the venue's limits. */

const sims: Simulator[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function sim(opts: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  const s = await startSimulator({
    venue: 'binance',
    synthetic: { symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSec: 400, seed: 3, burstiness: 0.5 },
    pingIntervalMs: 0,
    ...opts,
  });
  sims.push(s);
  return s;
}

async function client(url: string): Promise<TestClient> {
  const c = await connect(url);
  clients.push(c);
  return c;
}

interface Agg {
  e: string;
  E: number;
  s: string;
  a: number;
  p: string;
  q: string;
  f: number;
  l: number;
  T: number;
  m: boolean;
  M: boolean;
}
const DEC8 = /^\d+\.\d{8}$/;

describe('binance simulator: streams', () => {
  it('acks SUBSCRIBE and sends only the subscribed streams, enveloped on /stream', async () => {
    const s = await sim();
    const c = await client(`${s.origin}/stream`);
    c.send({ method: 'SUBSCRIBE', params: ['btcusdt@aggTrade', 'btcusdt@bookTicker'], id: 7 });
    await until(() => c.frames.length > 60, 3000, 'frames');
    const [ack, ...rest] = c.json() as Array<{ stream: string; data: Record<string, unknown> }>;
    expect(ack).toEqual({ result: null, id: 7 });
    const streams = new Set(rest.map((f) => f.stream));
    expect([...streams].sort()).toEqual(['btcusdt@aggTrade', 'btcusdt@bookTicker']);

    const aggs = rest.filter((f) => f.stream === 'btcusdt@aggTrade').map((f) => f.data as unknown as Agg);
    expect(aggs.length).toBeGreaterThan(10);
    for (const [i, a] of aggs.entries()) {
      expect(a.e).toBe('aggTrade');
      expect(a.s).toBe('BTCUSDT');
      expect(a.p).toMatch(DEC8);
      expect(a.q).toMatch(DEC8);
      expect(Number(a.q)).toBeGreaterThan(0);
      expect(a.l).toBeGreaterThanOrEqual(a.f);
      expect(a.T).toBeLessThanOrEqual(a.E);
      expect(typeof a.m).toBe('boolean');
      expect(a.M).toBe(true);
      // While connected nothing is skipped: aggregate and trade ids run on.
      if (i > 0) {
        expect(a.a).toBe(aggs[i - 1]!.a + 1);
        expect(a.f).toBe(aggs[i - 1]!.l + 1);
      }
    }
    const books = rest.filter((f) => f.stream === 'btcusdt@bookTicker').map((f) => f.data as { u: number; s: string; b: string; B: string; a: string; A: string });
    expect(books.length).toBeGreaterThan(5);
    for (const b of books) {
      expect(b.s).toBe('BTCUSDT');
      expect(Number(b.a)).toBeGreaterThan(Number(b.b));
      expect(b.B).toMatch(DEC8);
    }
    expect(books.every((b, i) => i === 0 || b.u > books[i - 1]!.u)).toBe(true);

    // LIST_SUBSCRIPTIONS, then UNSUBSCRIBE stops that stream.
    c.send({ method: 'LIST_SUBSCRIPTIONS', id: 8 });
    c.send({ method: 'UNSUBSCRIBE', params: ['btcusdt@bookTicker'], id: 9 });
    await until(() => c.texts().includes('{"result":null,"id":9}'), 2000, 'unsubscribe ack');
    const list = c.json().find((f) => (f as { id?: number }).id === 8) as { result: string[] };
    expect(list.result.sort()).toEqual(['btcusdt@aggTrade', 'btcusdt@bookTicker']);
    const at = c.texts().indexOf('{"result":null,"id":9}');
    await sleep(200);
    const after = c.texts().slice(at + 1);
    expect(after.length).toBeGreaterThan(0);
    expect(after.some((t) => t.includes('@bookTicker'))).toBe(false);
  });

  it('serves raw payloads on /ws and URL-named streams on /stream?streams=', async () => {
    const s = await sim();
    const raw = await client(`${s.origin}/ws`);
    raw.send({ method: 'SUBSCRIBE', params: ['ethusdt@trade'], id: 1 });
    const url = await client(`${s.origin}/stream?streams=btcusdt@trade/ethusdt@aggTrade`);
    await until(() => raw.frames.length > 5 && url.frames.length > 10, 3000, 'frames');
    const [ack, ...trades] = raw.json() as Array<Record<string, unknown>>;
    expect(ack).toEqual({ result: null, id: 1 });
    for (const t of trades) {
      expect(t).toMatchObject({ e: 'trade', s: 'ETHUSDT', M: true });
      expect(Number.isInteger(t.t)).toBe(true);
      expect(t.p).toMatch(DEC8);
    }
    const streams = new Set((url.json() as Array<{ stream: string }>).map((f) => f.stream));
    expect([...streams].sort()).toEqual(['btcusdt@trade', 'ethusdt@aggTrade']);
  });

  it('answers bad requests with Binance error frames', async () => {
    const s = await sim();
    const c = await client(`${s.origin}/ws`);
    c.send('{"method":');
    c.send({ method: 'FOO', id: 3 });
    c.send({ method: 'SUBSCRIBE', params: ['not a stream'], id: 4 });
    await until(() => c.frames.length >= 3, 2000, 'errors');
    const [a, b, d] = c.json() as Array<{ code: number; msg: string; id?: unknown }>;
    expect(a!.code).toBe(3);
    expect(a!.msg).toMatch(/^Invalid JSON/);
    expect(b).toMatchObject({ code: 2, id: 3 });
    expect(b!.msg).toMatch(/unknown variant `FOO`/);
    expect(d).toMatchObject({ code: 2, id: 4 });
    expect(s.stats().subscribeMessages).toBe(0);
  });

  it('pings every interval and cuts a client that does not pong', async () => {
    const s = await sim({ pingIntervalMs: 100, pongTimeoutMs: 250 });
    const good = await client(`${s.origin}/ws`);
    let pings = 0;
    good.ws.on('ping', () => pings++);
    const mute = await connect(`${s.origin}/ws`, { autoPong: false });
    clients.push(mute);
    const closed = await Promise.race([mute.closed, sleep(2000).then(() => null)]);
    expect(closed?.code).toBe(1006);
    expect(pings).toBeGreaterThanOrEqual(2);
    expect(good.isClosed()).toBe(false);
    expect(s.stats().limitDisconnects).toBe(1);
  });
});

describe('binance simulator: connection lifetime', () => {
  it('closes a connection at the maximum lifetime (24 h on Binance), as a normal close', async () => {
    const s = await sim({ maxConnectionMs: 200 });
    const c = await client(`${s.origin}/ws`);
    const closed = await Promise.race([c.closed, sleep(2000).then(() => null)]);
    expect(closed).toEqual({ code: 1000, reason: 'connection lifetime reached' });
    expect(s.stats().expiredConnections).toBe(1);
  });
});

describe('binance simulator: REST backfill', () => {
  it('aggTrades and historicalTrades return every trade generated, identical to the WS frames, including trades made while a client was dropped', async () => {
    const s = await sim({ synthetic: { symbols: ['BTC-USDT'], tradesPerSec: 300, seed: 11, burstiness: 0.5 } });
    const c1 = await client(`${s.origin}/ws`);
    c1.send({ method: 'SUBSCRIBE', params: ['btcusdt@aggTrade'], id: 1 });
    await until(() => c1.frames.length > 20, 3000, 'frames before the drop');

    expect((await control(s.controlUrl, 'misbehave', { kind: 'drop-all', durationMs: 300 })).status).toBe(200);
    const closed = await c1.closed;
    expect(closed.code).toBe(1006); // TCP cut, no close frame
    expect(await upgradeStatus(`${s.origin}/ws`)).toBe(0); // outage: refused at the socket
    await sleep(350);
    const c2 = await client(`${s.origin}/ws`);
    c2.send({ method: 'SUBSCRIBE', params: ['btcusdt@aggTrade'], id: 1 });
    await until(() => c2.frames.length > 20, 3000, 'frames after the reconnect');
    expect((await control(s.controlUrl, 'pause')).status).toBe(200);
    await sleep(50);

    const stats = (await control(s.controlUrl, 'stats')).body as SimStats;
    const gen = stats.generated['BTC-USDT']!;
    expect(stats.drops).toBe(1);
    expect(stats.paused).toBe(true);

    const rest: Array<Omit<Agg, 'e' | 'E' | 's'>> = [];
    for (let from = gen.firstAggId!; from <= gen.lastAggId!; ) {
      const res = await fetch(`${s.restUrl}/api/v3/aggTrades?symbol=BTCUSDT&fromId=${from}&limit=1000`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as typeof rest;
      expect(page.length).toBeGreaterThan(0);
      rest.push(...page);
      from = page[page.length - 1]!.a + 1;
    }
    expect(rest.length).toBe(gen.aggTrades);
    expect(rest.every((a, i) => a.a === gen.firstAggId! + i)).toBe(true);

    const ws = [...c1.json().slice(1), ...c2.json().slice(1)] as Agg[];
    for (const { e: _e, E: _E, s: _s, ...a } of ws) expect(rest[a.a - gen.firstAggId!]).toEqual(a);
    // The drop skipped ids the WS never delivered; REST has them.
    const lastBefore = (c1.json().at(-1) as Agg).a;
    const firstAfter = (c2.json()[1] as Agg).a;
    expect(firstAfter - lastBefore).toBeGreaterThan(1);
    expect(rest.filter((a) => a.a > lastBefore && a.a < firstAfter).length).toBe(firstAfter - lastBefore - 1);

    // Individual trades: contiguous, and each aggregate is exactly its f..l fills.
    const trades: Array<{ id: number; price: string; qty: string; quoteQty: string; time: number; isBuyerMaker: boolean }> = [];
    for (let from = gen.firstTradeId!; from <= gen.lastTradeId!; ) {
      const page = (await (await fetch(`${s.restUrl}/api/v3/historicalTrades?symbol=BTCUSDT&fromId=${from}&limit=1000`)).json()) as typeof trades;
      trades.push(...page);
      from = page[page.length - 1]!.id + 1;
    }
    expect(trades.length).toBe(gen.trades);
    const units = (d: string) => BigInt(d.replace('.', ''));
    for (const a of rest) {
      const fills = trades.slice(a.f - gen.firstTradeId!, a.l - gen.firstTradeId! + 1);
      expect(fills.map((t) => t.id)).toEqual(Array.from({ length: a.l - a.f + 1 }, (_, i) => a.f + i));
      expect(fills.every((t) => t.price === a.p && t.time === a.T && t.isBuyerMaker === a.m)).toBe(true);
      expect(fills.reduce((sum, t) => sum + units(t.qty), 0n)).toBe(units(a.q));
    }
    const recent = (await (await fetch(`${s.restUrl}/api/v3/trades?symbol=BTCUSDT&limit=5`)).json()) as typeof trades;
    expect(recent.map((t) => t.id)).toEqual(trades.slice(-5).map((t) => t.id));
  });

  it('maps symbols through exchangeInfo and answers REST errors like Binance', async () => {
    const s = await sim({ synthetic: { symbols: ['BTC-USDT', 'XRP-ETH'], tradesPerSec: 10, seed: 1 } });
    const info = (await (await fetch(`${s.restUrl}/api/v3/exchangeInfo`)).json()) as { symbols: Array<{ symbol: string; baseAsset: string; quoteAsset: string; status: string }> };
    expect(info.symbols.map((x) => [x.symbol, x.baseAsset, x.quoteAsset, x.status])).toEqual([
      ['BTCUSDT', 'BTC', 'USDT', 'TRADING'],
      ['XRPETH', 'XRP', 'ETH', 'TRADING'],
    ]);
    const bad = await fetch(`${s.restUrl}/api/v3/aggTrades?symbol=NOPE`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ code: -1121, msg: 'Invalid symbol.' });
    const missing = await fetch(`${s.restUrl}/api/v3/aggTrades`);
    expect(((await missing.json()) as { code: number }).code).toBe(-1102);
    const range = await fetch(`${s.restUrl}/api/v3/aggTrades?symbol=BTCUSDT&startTime=0&endTime=3600001`);
    expect(((await range.json()) as { code: number }).code).toBe(-1127);
    expect(await (await fetch(`${s.restUrl}/api/v3/ping`)).json()).toEqual({});
    const time = (await (await fetch(`${s.restUrl}/api/v3/time`)).json()) as { serverTime: number };
    expect(Math.abs(time.serverTime - Date.now())).toBeLessThan(2000);
  });
});

describe('binance simulator: limits', () => {
  it('disconnects a connection that sends more than 5 messages per second, and counts it', async () => {
    const s = await sim();
    const polite = await client(`${s.origin}/ws`);
    for (let i = 1; i <= 5; i++) polite.send({ method: 'LIST_SUBSCRIPTIONS', id: i });
    const greedy = await client(`${s.origin}/ws`);
    for (let i = 1; i <= 6; i++) greedy.send({ method: 'LIST_SUBSCRIPTIONS', id: i });
    const closed = await greedy.closed;
    expect(closed.code).toBe(1008);
    expect(greedy.frames.length).toBe(5);
    await until(() => polite.frames.length === 5, 2000, 'polite answers');
    expect(polite.isClosed()).toBe(false);
    const st = s.stats();
    expect(st.violations).toEqual({ 'message-rate': 1 });
    expect(st.limitDisconnects).toBe(1);
  });

  it('answers connection attempts over the limit with 429, then bans the IP with 418', async () => {
    const s = await sim({ limits: { connect: { limit: 3, windowMs: 60_000 }, connectBanAfter: 2, banMs: 60_000 } });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push(await upgradeStatus(`${s.origin}/ws`));
    expect(statuses).toEqual([101, 101, 101, 429, 429, 429, 418]);
    const st = s.stats();
    expect(st.violations).toEqual({ 'connect-rate': 3 });
    expect(st.connectAttempts).toBe(7);
    expect(st.rejectedConnects).toBe(4);
    expect((await fetch(`${s.restUrl}/api/v3/ping`)).status).toBe(418);
  });

  it('refuses subscriptions beyond the stream limit, and REST beyond the weight limit', async () => {
    const s = await sim({ limits: { maxStreams: 3, restWeightPerMin: 10 } });
    const c = await client(`${s.origin}/ws`);
    c.send({ method: 'SUBSCRIBE', params: ['btcusdt@trade', 'btcusdt@aggTrade', 'ethusdt@trade', 'ethusdt@aggTrade'], id: 5 });
    c.send({ method: 'LIST_SUBSCRIPTIONS', id: 6 });
    await until(() => c.frames.length >= 2, 2000, 'answers');
    expect(c.json().slice(0, 2)).toEqual([
      { code: 2, msg: 'Invalid request: too many streams (max 1024 per connection)', id: 5 },
      { result: [], id: 6 },
    ]);
    expect(await upgradeStatus(`${s.origin}/stream?streams=a@trade/b@trade/c@trade/d@trade`)).toBe(400);

    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${s.restUrl}/api/v3/aggTrades?symbol=BTCUSDT&limit=1`)).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect(s.stats().violations).toEqual({ 'stream-limit': 2, 'rest-weight': 1 });
  });
});

describe('binance-us simulator', () => {
  it('speaks the same protocol', async () => {
    const s = await sim({ venue: 'binance-us' });
    const c = await client(`${s.origin}/stream?streams=btcusdt@aggTrade`);
    await until(() => c.frames.length > 3, 3000, 'frames');
    expect((c.json()[0] as { stream: string; data: { e: string } }).data.e).toBe('aggTrade');
    expect(s.stats().venue).toBe('binance-us');
  });
});
