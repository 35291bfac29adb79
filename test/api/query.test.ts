// Integration test of the query service against the real NATS, Redis and PostgreSQL servers.
import { monitorRedis } from '../support/redis-monitor.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Candle } from '../../schemas/candle.js';
import type { LiveState } from '../../schemas/state.js';
import { feedHealthKey, stateKey, symbolsKey, type FeedHealth } from '../../schemas/state.js';
import { candleSubject, liveCandleSubject, tradeSubject } from '../../schemas/subjects.js';
import { CandleStore } from '../../store/candles.js';
import { ArbitrageStore } from '../../store/arbitrage.js';
import { QUERY_SUBJECTS } from '../../api/index.js';
import { startApi, type ApiUnderTest } from './harness.js';

const VENUE = 'binance';
const SYMBOL = 'BTC-USDT';
const T0 = Date.UTC(2024, 0, 2, 3, 0, 0);
const MIN = 60_000;

/**
 * Minute i: a deterministic, consistent candle (the hub and the sink refuse inconsistent ones)
 * whose decimals carry trailing zeros (scale must survive PG): vwap = quote / volume = close.
 */
function candle(i: number, closed = true): Candle {
  const base = 42000 + i * 3;
  const volume = i + 1.5;
  return {
    venue: VENUE,
    symbol: SYMBOL,
    tf: '1m',
    openTime: T0 + i * MIN,
    closeTime: T0 + (i + 1) * MIN - 1,
    open: `${base}.10`,
    high: `${base + 5}.50`,
    low: `${base - 2}.00`,
    close: `${base + 1}.25`,
    volume: `${i + 1}.50000000`,
    quoteVolume: ((base + 1.25) * volume).toFixed(10),
    vwap: `${base + 1}.2500`,
    trades: 10 + i,
    buyVolume: `${i}.25000000`,
    firstTradeId: String(1000 + i * 10),
    lastTradeId: String(1009 + i * 10),
    closed,
  };
}

const CLOSED = Array.from({ length: 10 }, (_, i) => candle(i));
const OPEN = candle(10, false);

let t: ApiUnderTest;
let nc: NatsConnection;

async function http(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${t.base}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function nats(endpoint: keyof typeof QUERY_SUBJECTS, req: object): Promise<{ status: number; body: Record<string, unknown> }> {
  const msg = await nc.request(t.iso.ns.subject(QUERY_SUBJECTS[endpoint]), JSON.stringify(req), { timeout: 5000 });
  const code = msg.headers?.get('Nats-Service-Error-Code');
  return { status: code ? Number(code) : 200, body: msg.json<Record<string, unknown>>() };
}

function openWs(): Promise<{ ws: WebSocket; frames: Record<string, unknown>[]; next: (pred: (f: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(t.wsUrl);
    const frames: Record<string, unknown>[] = [];
    const waiters: { pred: (f: Record<string, unknown>) => boolean; resolve: (f: Record<string, unknown>) => void }[] = [];
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as Record<string, unknown>;
      frames.push(f);
      for (const w of [...waiters]) {
        if (!w.pred(f)) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(f);
      }
    });
    ws.once('error', reject);
    ws.once('open', () =>
      resolve({
        ws,
        frames,
        next: (pred) =>
          new Promise((res, rej) => {
            const found = frames.find(pred);
            if (found) return res(found);
            const timer = setTimeout(() => rej(new Error(`no matching frame; got ${JSON.stringify(frames).slice(0, 500)}`)), 5000);
            waiters.push({ pred, resolve: (f) => (clearTimeout(timer), res(f)) });
          }),
      }),
    );
  });
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

beforeAll(async () => {
  // Store only 1s and 1m so 5m is derived from 1m on read (the hybrid path).
  process.env.TICKWORK_STORED_TFS = '1s,1m';
  t = await startApi({ API_WS_MAX_SUBSCRIPTIONS: 3, API_CANDLES_MAX_LIMIT: 8, API_CANDLES_DEFAULT_LIMIT: 6 });
  nc = (await t.iso.nats()).nc;
  const store = new CandleStore(t.iso.sql(), { schema: t.iso.ns.pgSchema });
  await store.upsert(CLOSED);
  const state: LiveState = {
    venue: VENUE,
    symbol: SYMBOL,
    lastTrade: {
      venue: VENUE,
      symbol: SYMBOL,
      venueSymbol: 'BTCUSDT',
      id: '1109',
      price: OPEN.close,
      qty: '0.01000000',
      side: 'buy',
      ts: OPEN.openTime + 5000,
      recvTs: OPEN.openTime + 5003,
    },
    candles: { '1m': OPEN },
    vwap: { '1m': '42031.1234', '5m': null },
    lastSeq: 4242,
    tradesApplied: 420,
    updatedAt: OPEN.openTime + 5004,
    worker: 'worker-0',
  };
  const redis = t.iso.redis();
  await redis.set(t.iso.ns.key(stateKey(VENUE, SYMBOL)), JSON.stringify(state));
  await redis.hset(t.iso.ns.key(symbolsKey), `${VENUE}:${SYMBOL}`, JSON.stringify({ worker: 'worker-0', updatedAt: state.updatedAt }));
  // Known (in the symbols hash) but without state or candles yet: answers empty, not 404.
  await redis.hset(t.iso.ns.key(symbolsKey), 'kraken:ETH-USD', JSON.stringify({ worker: 'worker-1', updatedAt: 1 }));
  // Known, for WebSocket subscriptions (an unknown pair answers 404).
  await redis.hset(t.iso.ns.key(symbolsKey), 'okx:SOL-USDT', JSON.stringify({ worker: 'worker-1', updatedAt: 2 }));
  const health: FeedHealth = {
    venue: VENUE,
    connections: 1,
    connected: 1,
    symbols: [SYMBOL],
    lastMessageTs: state.updatedAt,
    reconnects: 2,
    tradesPublished: 420,
    dlq: 0,
    updatedAt: state.updatedAt,
  };
  await redis.set(t.iso.ns.key(feedHealthKey(VENUE)), JSON.stringify(health));
  await new ArbitrageStore(t.iso.sql(), { schema: t.iso.ns.pgSchema, retentionMs: null }).insert([
    { id: 'a1', symbol: SYMBOL, ts: T0 + 1000, buyVenue: 'kraken', sellVenue: 'binance', ask: '42000.1', bid: '42010.2', spreadBps: '2.40' },
    { id: 'a2', symbol: SYMBOL, ts: T0 + 2000, buyVenue: 'okx', sellVenue: 'binance', ask: '42001.0', bid: '42012.0', spreadBps: '2.61' },
  ]);
});

afterAll(async () => {
  await t?.stop();
});

describe('candles: HTTP, NATS request/reply and WebSocket agree (real NATS, Redis, PostgreSQL)', () => {
  it('merges closed candles from PostgreSQL with the open one from Redis, capped by limit, same body over NATS', async () => {
    const q = { venue: VENUE, symbol: SYMBOL, tf: '1m', limit: 100 };
    const h = await http(`/v1/candles?${new URLSearchParams({ ...q, limit: '100' })}`);
    expect(h.status).toBe(200);
    // limit 100 is capped to API_CANDLES_MAX_LIMIT=8: the newest 7 closed candles plus the open one.
    expect(h.body).toEqual({ venue: VENUE, symbol: SYMBOL, tf: '1m', candles: [...CLOSED.slice(3), OPEN] });
    const n = await nats('candles', q);
    expect(n).toEqual(h);

    const dflt = await http(`/v1/candles?venue=${VENUE}&symbol=${SYMBOL}&tf=1m`);
    expect(dflt.body.candles).toEqual([...CLOSED.slice(5), OPEN]);
  });

  it('accepts from/to as epoch ms or ISO 8601, inclusive on openTime', async () => {
    const from = new Date(T0 + 2 * MIN).toISOString();
    const to = T0 + 5 * MIN;
    const h = await http(`/v1/candles?venue=${VENUE}&symbol=${SYMBOL}&tf=1m&from=${from}&to=${to}`);
    expect(h.status).toBe(200);
    expect(h.body.candles).toEqual(CLOSED.slice(2, 6));
    expect(await nats('candles', { venue: VENUE, symbol: SYMBOL, tf: '1m', from, to })).toEqual(h);
    // From a point with fewer than limit candles left: the open candle closes the answer.
    const tail = await http(`/v1/candles?venue=${VENUE}&symbol=${SYMBOL}&tf=1m&from=${T0 + 8 * MIN}`);
    expect(tail.body.candles).toEqual([CLOSED[8], CLOSED[9], OPEN]);
    expect(await nats('candles', { venue: VENUE, symbol: SYMBOL, tf: '1m', from: T0 + 8 * MIN })).toEqual(tail);
  });

  it('derives 5m from the stored 1m candles, identically over HTTP and NATS', async () => {
    const h = await http(`/v1/candles?venue=${VENUE}&symbol=${SYMBOL}&tf=5m&from=${T0}`);
    expect(h.status).toBe(200);
    const list = h.body.candles as Candle[];
    expect(list.map((c) => c.openTime)).toEqual([T0, T0 + 5 * MIN]);
    expect(list[0]).toMatchObject({ open: CLOSED[0]!.open, close: CLOSED[4]!.close, trades: 10 + 11 + 12 + 13 + 14 });
    expect(await nats('candles', { venue: VENUE, symbol: SYMBOL, tf: '5m', from: T0 })).toEqual(h);
  });

  it('pushes closed candles published on NATS to a WebSocket subscriber, equal to what HTTP answers', async () => {
    const c = await openWs();
    c.ws.send(JSON.stringify({ op: 'subscribe', venue: VENUE, symbol: SYMBOL, tf: '1m' }));
    expect(await c.next((f) => f.type === 'subscribed')).toEqual({
      type: 'subscribed', venue: VENUE, symbol: SYMBOL, tf: '1m', trades: false, arb: false,
    });
    for (const k of CLOSED) nc.publish(t.iso.ns.subject(candleSubject('1m', VENUE, SYMBOL)), JSON.stringify(k));
    // Another symbol's candles must not reach this subscriber.
    nc.publish(t.iso.ns.subject(candleSubject('1m', VENUE, 'ETH-USDT')), JSON.stringify({ ...CLOSED[0], symbol: 'ETH-USDT' }));
    await until(() => c.frames.filter((f) => f.type === 'candle').length >= CLOSED.length);
    const fromWs = c.frames.filter((f) => f.type === 'candle').map((f) => f.data);
    const fromHttp = (await http(`/v1/candles?venue=${VENUE}&symbol=${SYMBOL}&tf=1m&from=${T0}&to=${T0 + 9 * MIN}&limit=10`)).body.candles as Candle[];
    // limit 10 capped to 8: compare the overlap, then the whole set against the fixture.
    expect(fromWs.slice(0, fromHttp.length)).toEqual(fromHttp);
    expect(fromWs).toEqual(CLOSED);
    c.ws.close();
  });

  it('conflates open-candle updates to at most one per throttle interval and always delivers the latest', async () => {
    const c = await openWs();
    c.ws.send(JSON.stringify({ op: 'subscribe', venue: VENUE, symbol: SYMBOL, tf: '1m' }));
    await c.next((f) => f.type === 'subscribed');
    // Closes inside the open candle's [low, high], so every update is a consistent candle.
    const updates = Array.from({ length: 50 }, (_, i) => ({ ...OPEN, close: `42029.${String(i).padStart(2, '0')}`, trades: 20 + i }));
    for (const u of updates) nc.publish(t.iso.ns.subject(liveCandleSubject('1m', VENUE, SYMBOL)), JSON.stringify(u));
    await c.next((f) => f.type === 'candle' && (f.data as Candle).close === updates.at(-1)!.close);
    await new Promise((r) => setTimeout(r, 400));
    const live = c.frames.filter((f) => f.type === 'candle').map((f) => f.data as Candle);
    // Default API_WS_THROTTLE_MS=250: the first update at once, the rest conflated into the last.
    expect(live.length).toBeGreaterThanOrEqual(1);
    expect(live.length).toBeLessThanOrEqual(3);
    expect(live.at(-1)).toEqual(updates.at(-1));
    expect(live.every((k) => k.closed === false)).toBe(true);
    c.ws.close();
  });

  it('shares one NATS subscription per subject across clients and pushes trades only to opted-in clients', async () => {
    await until(() => t.api.hub.clientCount === 0);
    const before = t.api.hub.subjectCount;
    expect(before).toBe(0);
    const a = await openWs();
    const b = await openWs();
    a.ws.send(JSON.stringify({ op: 'subscribe', venue: 'okx', symbol: 'SOL-USDT', tf: '1s', trades: true }));
    b.ws.send(JSON.stringify({ op: 'subscribe', venue: 'okx', symbol: 'SOL-USDT', tf: '1s' }));
    await a.next((f) => f.type === 'subscribed');
    await b.next((f) => f.type === 'subscribed');
    // live + closed candle subjects shared by both, plus the trade subject for a.
    expect(t.api.hub.subjectCount - before).toBe(3);
    const trade = { venue: 'okx', symbol: 'SOL-USDT', venueSymbol: 'SOL-USDT', id: '77', price: '150.5', qty: '2', side: 'sell', ts: T0, recvTs: T0 + 1 };
    nc.publish(t.iso.ns.subject(tradeSubject('okx', 'SOL-USDT')), JSON.stringify(trade));
    expect((await a.next((f) => f.type === 'trade')).data).toEqual(trade);
    a.ws.send(JSON.stringify({ op: 'unsubscribe', venue: 'okx', symbol: 'SOL-USDT', tf: '1s' }));
    await a.next((f) => f.type === 'unsubscribed');
    expect(t.api.hub.subjectCount - before).toBe(2);
    b.ws.close();
    await until(() => t.api.hub.subjectCount === before);
    expect(b.frames.some((f) => f.type === 'trade')).toBe(false);
    a.ws.close();
  });

  it('rejects bad WebSocket frames naming the field, and caps subscriptions per socket', async () => {
    const c = await openWs();
    c.ws.send(JSON.stringify({ op: 'subscribe', venue: VENUE, symbol: SYMBOL, tf: '2m' }));
    expect(await c.next((f) => f.type === 'error')).toMatchObject({ error: 'bad_request', field: 'tf' });
    c.ws.send('not json');
    await until(() => c.frames.filter((f) => f.type === 'error').length === 2);
    expect(c.frames.filter((f) => f.type === 'error')[1]).toMatchObject({ error: 'bad_request', field: 'body' });
    for (const tf of ['1s', '1m', '5m', '15m']) c.ws.send(JSON.stringify({ op: 'subscribe', venue: VENUE, symbol: SYMBOL, tf }));
    await until(() => c.frames.filter((f) => f.type === 'subscribed').length === 3 && c.frames.some((f) => f.error === 'too_many_subscriptions'));
    c.ws.close();
  });
});

describe('state, symbols, arbitrage', () => {
  it('answers /v1/state from exactly one Redis command (MONITOR), same body over NATS', async () => {
    const apiRedis = t.ctx.redis as unknown as { stream: { localPort: number } };
    const source = `127.0.0.1:${apiRedis.stream.localPort}`;
    const monitor = await monitorRedis(''); // every line: the API's connection must send nothing else
    await new Promise((r) => setTimeout(r, 100));
    const h = await http(`/v1/state/${VENUE}/${SYMBOL}`);
    await new Promise((r) => setTimeout(r, 200));
    await monitor.stop();
    const seen = monitor.commands.filter((c) => c.addr === source).map((c) => c.args);
    expect(h.status).toBe(200);
    expect(seen).toEqual([['get', t.iso.ns.key(stateKey(VENUE, SYMBOL))]]);
    expect((h.body as unknown as LiveState).candles['1m']).toEqual(OPEN);
    expect(h.body.lastSeq).toBe(4242);
    expect(await nats('state', { venue: VENUE, symbol: SYMBOL })).toEqual(h);
  });

  it('lists known symbols, the overview and recent arbitrage', async () => {
    const s = await http('/v1/symbols');
    expect(s.body).toEqual({
      symbols: [
        { venue: VENUE, symbol: SYMBOL, worker: 'worker-0', updatedAt: OPEN.openTime + 5004 },
        { venue: 'kraken', symbol: 'ETH-USD', worker: 'worker-1', updatedAt: 1 },
        { venue: 'okx', symbol: 'SOL-USDT', worker: 'worker-1', updatedAt: 2 },
      ],
    });
    const o = await http('/v1/overview');
    expect(o.body.symbols).toContainEqual({
      venue: VENUE, symbol: SYMBOL, worker: 'worker-0', lastPrice: OPEN.close, lastTradeTs: OPEN.openTime + 5000,
      vwap1m: '42031.1234', tradesApplied: 420, updatedAt: OPEN.openTime + 5004,
    });
    expect((o.body.feeds as FeedHealth[]).map((f) => [f.venue, f.reconnects])).toEqual([[VENUE, 2]]);
    const a = await http(`/v1/arbitrage?symbol=${SYMBOL}&since=${new Date(T0 + 1500).toISOString()}`);
    expect(a.status).toBe(200);
    expect((a.body.opportunities as { id: string }[]).map((x) => x.id)).toEqual(['a2']);
    expect(((await http('/v1/arbitrage')).body.opportunities as { id: string }[]).map((x) => x.id)).toEqual(['a2', 'a1']);
  });

  it('answers unknown venue/symbol with 404 and known-but-empty with an empty list', async () => {
    const u = await http('/v1/candles?venue=binance&symbol=NOPE-USDT&tf=1m');
    expect(u.status).toBe(404);
    expect(u.body).toMatchObject({ error: 'not_found', field: 'symbol' });
    expect(await nats('candles', { venue: 'binance', symbol: 'NOPE-USDT', tf: '1m' })).toEqual(u);
    const st = await http('/v1/state/binance/NOPE-USDT');
    expect(st.status).toBe(404);
    expect(await nats('state', { venue: 'binance', symbol: 'NOPE-USDT' })).toEqual(st);
    const known = await http('/v1/candles?venue=kraken&symbol=ETH-USD&tf=1h');
    expect(known).toEqual({ status: 200, body: { venue: 'kraken', symbol: 'ETH-USD', tf: '1h', candles: [] } });
    const route = await http('/v1/nothing');
    expect(route).toEqual({ status: 404, body: { error: 'not_found', message: 'no route GET /v1/nothing' } });
  });
});

describe('bad parameters answer 400 naming the field', () => {
  const good = { venue: VENUE, symbol: SYMBOL, tf: '1m' };
  const cases: [string, Record<string, string | undefined>][] = [
    ['venue', { venue: undefined }],
    ['venue', { venue: 'Bin ance' }],
    ['symbol', { symbol: undefined }],
    ['symbol', { symbol: 'btc-usdt' }],
    ['tf', { tf: undefined }],
    ['tf', { tf: '7m' }],
    ['from', { from: 'yesterday' }],
    ['from', { from: '2024-13-45T99:00:00Z' }],
    ['to', { to: '12:00' }],
    ['limit', { limit: '0' }],
    ['limit', { limit: 'ten' }],
    ['from', { from: String(T0 + MIN), to: String(T0) }],
  ];
  for (const [field, change] of cases) {
    it(`${field}: ${JSON.stringify(change)}`, async () => {
      const params = Object.fromEntries(Object.entries({ ...good, ...change }).filter(([, v]) => v !== undefined)) as Record<string, string>;
      const h = await http(`/v1/candles?${new URLSearchParams(params)}`);
      expect(h.status).toBe(400);
      expect(h.body).toMatchObject({ error: 'bad_request', field });
      expect(String(h.body.message)).toContain(field);
      expect(JSON.stringify(h.body)).not.toMatch(/\bat .*\.ts:\d+/);
      const n = await nats('candles', params);
      expect(n).toEqual(h);
    });
  }

  it('state path params, arbitrage since, and a non-JSON NATS request', async () => {
    expect((await http('/v1/state/binance/btc')).body).toMatchObject({ error: 'bad_request', field: 'symbol' });
    expect((await http('/v1/state/B/BTC-USDT')).body).toMatchObject({ error: 'bad_request', field: 'venue' });
    expect((await http('/v1/arbitrage?since=soon')).body).toMatchObject({ error: 'bad_request', field: 'since' });
    const msg = await nc.request(t.iso.ns.subject(QUERY_SUBJECTS.state), 'nope', { timeout: 5000 });
    expect(msg.headers?.get('Nats-Service-Error-Code')).toBe('400');
    expect(msg.json()).toMatchObject({ error: 'bad_request', field: 'body' });
  });

  it('publishes an OpenAPI document generated from the schemas', async () => {
    const doc = (await http('/openapi.json')).body as { paths: Record<string, { get: { parameters?: { name: string }[] } }> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/v1/candles', '/v1/state/{venue}/{symbol}', '/v1/symbols', '/v1/arbitrage', '/v1/overview']),
    );
    expect(doc.paths['/v1/candles']!.get.parameters!.map((p) => p.name)).toEqual(['venue', 'symbol', 'tf', 'from', 'to', 'limit']);
  });
});
