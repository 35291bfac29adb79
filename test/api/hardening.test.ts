// API hardening (issue 9 item 7) on the real NATS, Redis and PostgreSQL servers.
import { connect as tcpConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { NatsConnection } from '@nats-io/transport-node';
import { connect as natsConnect } from '@nats-io/transport-node';
import { QUERY_SUBJECTS } from '../../api/index.js';
import { clientAddress, originAllowed } from '../../api/http.js';
import { startProcess } from '../../runtime/process.js';
import type { Candle } from '../../schemas/candle.js';
import { symbolsKey } from '../../schemas/state.js';
import { liveCandleSubject } from '../../schemas/subjects.js';
import { isolated } from '../harness.js';
import { until } from '../support/nats-server.js';
import { startApi, type ApiUnderTest } from './harness.js';

let t: ApiUnderTest;
let nc: NatsConnection;
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

beforeAll(async () => {
  t = await startApi({
    API_WS_MAX_CONNECTIONS_PER_IP: 3,
    API_WS_MAX_SUBSCRIPTIONS_PER_IP: 4,
    API_WS_FRAMES_PER_SEC: 5,
    API_WS_PING_MS: 300,
    API_WS_IDLE_MS: 1500,
    API_CONNECTION_TIMEOUT_MS: 1000,
    API_QUERY_RATE_PER_SEC: 5,
  });
  nc = (await t.iso.nats()).nc;
  const redis = t.iso.redis();
  for (const s of ['BTC-USDT', 'ETH-USDT', 'SOL-USDT', 'XRP-USDT', 'ADA-USDT']) {
    await redis.hset(t.iso.ns.key(symbolsKey), `binance:${s}`, JSON.stringify({ worker: 'w', updatedAt: 1 }));
  }
});

afterAll(async () => {
  await t?.stop();
});

interface Client {
  ws: WebSocket;
  frames: Record<string, unknown>[];
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens /v1/stream from `localAddress` (any 127.0.0.0/8 address is a different client IP on Linux). */
function open(opts: { localAddress?: string; origin?: string } = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(t.wsUrl, { ...(opts.localAddress ? { localAddress: opts.localAddress } : {}), ...(opts.origin ? { origin: opts.origin } : {}) });
    const frames: Record<string, unknown>[] = [];
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Record<string, unknown>));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
    ws.once('open', () => resolve({ ws, frames, closed }));
  });
}

const refusal = (p: Promise<Client>) => p.then(() => 0, (e: { status?: number }) => e.status ?? -1);
const sub = (symbol: string, tf = '1m') => JSON.stringify({ op: 'subscribe', venue: 'binance', symbol, tf });

describe('strict integers and bounded times: 400 naming the field, never 500 (HTTP and NATS)', () => {
  const bad: [string, string][] = [
    ['limit', '1.5'], ['limit', '1e400'], ['limit', '0x10'], ['limit', '-0'], ['limit', ''], ['limit', '+1'], ['limit', ' 7'], ['limit', '1e2'],
    ['limit', '99999999999999999999'], ['from', '9999999999999999'], ['to', '9999999999999999'], ['from', '1e3'], ['from', '-1'], ['from', ''],
    ['from', '0x10'], ['to', '253402300800000'],
  ];
  for (const [field, value] of bad) {
    it(`${field}=${JSON.stringify(value)}`, async () => {
      const q = new URLSearchParams({ venue: 'binance', symbol: 'BTC-USDT', tf: '1m', [field]: value });
      const res = await fetch(`${t.base}/v1/candles?${q}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'bad_request', field });
    });
  }

  it('JSON numbers over NATS: fractions, huge and unsafe integers, out-of-range times', async () => {
    const ask = async (raw: string) => {
      const m = await nc.request(t.iso.ns.subject(QUERY_SUBJECTS.candles), raw, { timeout: 5000 });
      return { status: Number(m.headers?.get('Nats-Service-Error-Code') ?? 200), body: m.json<Record<string, unknown>>() };
    };
    const base = '"venue":"binance","symbol":"BTC-USDT","tf":"1m"';
    for (const [raw, field] of [
      [`{${base},"limit":1.5}`, 'limit'],
      [`{${base},"limit":1e400}`, 'limit'],
      [`{${base},"limit":9007199254740993}`, 'limit'],
      [`{${base},"from":9999999999999999}`, 'from'],
      [`{${base},"to":1e20}`, 'to'],
      [`{${base},"limit":"0x10"}`, 'limit'],
    ] as const) {
      const r = await ask(raw);
      expect(r.status, raw).toBe(400);
      expect(r.body, raw).toMatchObject({ error: 'bad_request', field });
    }
    // The largest accepted time answers normally.
    expect((await ask(`{${base},"from":0,"to":253402300799999,"limit":"5"}`)).status).toBe(200);
  });
});

describe('WebSocket limits', () => {
  it('Origin: the own host and localhost are allowed by default, another site is refused with 403 before the upgrade', async () => {
    const port = new URL(t.base).port;
    expect(await refusal(open({ origin: 'https://evil.example' }))).toBe(403);
    expect(await refusal(open({ origin: 'null' }))).toBe(403);
    for (const origin of [`http://127.0.0.1:${port}`, 'http://localhost:5173']) {
      const c = await open({ origin });
      c.ws.close();
    }
    // No Origin: not a browser, not Origin's business.
    (await open()).ws.close();
    await until('sockets closed', () => t.api.hub.clientCount === 0);
  });

  it('originAllowed with API_WS_ORIGINS: only the listed sites (and the own host); "*" any', () => {
    const list = ['https://dash.example.com'];
    expect(originAllowed('https://dash.example.com', 'api.example.com', list)).toBe(true);
    expect(originAllowed('https://dash.example.com/', 'api.example.com', list)).toBe(true);
    expect(originAllowed('http://localhost:3000', 'api.example.com', list)).toBe(false);
    expect(originAllowed('https://api.example.com', 'api.example.com', list)).toBe(true);
    expect(originAllowed('https://evil.example', 'api.example.com', ['*'])).toBe(true);
    expect(originAllowed('https://evil.example', 'api.example.com', [])).toBe(false);
    expect(originAllowed(undefined, 'api.example.com', [])).toBe(true);
  });

  it('clientAddress: the peer, or behind a trusted proxy (API_TRUSTED_PROXIES) the nearest forwarded address that is not one', () => {
    const proxies = new Set(['10.0.0.1', '10.0.0.2']);
    expect(clientAddress('192.0.2.7', '203.0.113.9', proxies)).toBe('192.0.2.7'); // not a proxy: its header is ignored
    expect(clientAddress('::ffff:10.0.0.1', '203.0.113.9', proxies)).toBe('203.0.113.9');
    // A client prepending a forged hop does not escape: entries are read from the proxy's end.
    expect(clientAddress('10.0.0.1', '1.2.3.4, 203.0.113.9, 10.0.0.2', proxies)).toBe('203.0.113.9');
    expect(clientAddress('10.0.0.1', undefined, proxies)).toBe('10.0.0.1');
    expect(clientAddress('10.0.0.1', ['198.51.100.1', '203.0.113.5'], proxies)).toBe('203.0.113.5');
  });

  it('connections per address: the 4th from one IP is refused (429), another IP still connects', async () => {
    const mine = await Promise.all([open(), open(), open()]);
    expect(await refusal(open())).toBe(429);
    const other = await open({ localAddress: '127.0.0.2' });
    expect(t.api.hub.clientCount).toBe(4);
    for (const c of [...mine, other]) c.ws.close();
    await until('sockets closed', () => t.api.hub.clientCount === 0);
    // Freed slots are usable again.
    (await open()).ws.close();
  });

  it('subscriptions per address across its sockets; an unknown venue/symbol answers 404 like HTTP', async () => {
    const a = await open({ localAddress: '127.0.0.3' });
    const b = await open({ localAddress: '127.0.0.3' });
    for (const s of ['BTC-USDT', 'ETH-USDT', 'SOL-USDT']) a.ws.send(sub(s));
    await until('3 subscribed', () => a.frames.filter((f) => f.type === 'subscribed').length === 3);
    b.ws.send(sub('XRP-USDT'));
    await until('the 4th', () => b.frames.some((f) => f.type === 'subscribed'));
    await new Promise((r) => setTimeout(r, 1100)); // a fresh frame allowance
    b.ws.send(sub('ADA-USDT'));
    await until('refused', () => b.frames.some((f) => f.type === 'error'));
    expect(b.frames.find((f) => f.type === 'error')).toMatchObject({ error: 'too_many_subscriptions' });
    const c = await open({ localAddress: '127.0.0.8' });
    c.ws.send(JSON.stringify({ op: 'subscribe', venue: 'binance', symbol: 'NOPE-USDT', tf: '1m' }));
    await until('404', () => c.frames.some((f) => f.type === 'error'));
    const notFound = c.frames.find((f) => f.type === 'error')!;
    const http = (await (await fetch(`${t.base}/v1/candles?venue=binance&symbol=NOPE-USDT&tf=1m`)).json()) as Record<string, unknown>;
    expect(notFound).toEqual({ type: 'error', ...http });
    expect(notFound).toMatchObject({ error: 'not_found', field: 'symbol' });
    for (const x of [a, b, c]) x.ws.close();
    await until('sockets closed', () => t.api.hub.clientCount === 0);
  });

  it('frames per second: a burst beyond 2 × API_WS_FRAMES_PER_SEC is refused with rate_limited', async () => {
    const c = await open({ localAddress: '127.0.0.4' });
    for (let i = 0; i < 30; i++) c.ws.send(JSON.stringify({ op: 'unsubscribe', venue: 'binance', symbol: 'BTC-USDT', tf: '1m' }));
    await until('30 answers', () => c.frames.length === 30);
    const limited = c.frames.filter((f) => f.error === 'rate_limited').length;
    expect(limited).toBeGreaterThanOrEqual(30 - 10 - 2);
    expect(c.frames.filter((f) => f.error === 'not_found').length).toBeGreaterThanOrEqual(10);
    c.ws.close();
  });

  it('a socket that holds no subscription is closed after API_WS_IDLE_MS; a subscribed one stays', async () => {
    const idle = await open({ localAddress: '127.0.0.5' });
    const busy = await open({ localAddress: '127.0.0.5' });
    busy.ws.send(sub('BTC-USDT'));
    await until('subscribed', () => busy.frames.some((f) => f.type === 'subscribed'));
    expect(await idle.closed).toEqual({ code: 1000, reason: 'idle: no subscription' });
    expect(busy.ws.readyState).toBe(WebSocket.OPEN);
    busy.ws.close();
  });

  it('a peer that stops answering pings is cut off; one that answers stays', async () => {
    const frozen = await open({ localAddress: '127.0.0.6' });
    const alive = await open({ localAddress: '127.0.0.6' });
    for (const c of [frozen, alive]) c.ws.send(sub('BTC-USDT'));
    await until('subscribed', () => frozen.frames.length > 0 && alive.frames.length > 0);
    // Stop reading: pings are never answered (the kernel still takes the bytes; no pong comes back).
    (frozen.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const before = t.api.hub.clientCount;
    await until('the frozen peer cut off', () => t.api.hub.clientCount === before - 1, 10_000);
    expect(alive.ws.readyState).toBe(WebSocket.OPEN);
    alive.ws.close();
    frozen.ws.terminate();
  });

  it('a connection that sends nothing, or stops mid-request, is closed after API_CONNECTION_TIMEOUT_MS', async () => {
    const port = Number(new URL(t.base).port);
    const silent = async (first?: string) => {
      const s = tcpConnect(port, '127.0.0.1');
      await new Promise((r) => s.once('connect', r));
      if (first) s.write(first);
      const t0 = Date.now();
      await new Promise((r) => s.once('close', r));
      return Date.now() - t0;
    };
    const [nothing, partial] = await Promise.all([silent(), silent('GET /v1/stream HTTP/1.1\r\nHost: x\r\n')]);
    expect(nothing).toBeLessThan(8_000);
    expect(partial).toBeLessThan(8_000);
  });

  it('forged md.live.candle payloads never reach clients; the next valid one does', async () => {
    const c = await open({ localAddress: '127.0.0.7' });
    c.ws.send(sub('ETH-USDT'));
    await until('subscribed', () => c.frames.some((f) => f.type === 'subscribed'));
    const T = Date.UTC(2024, 0, 2, 3, 0, 0);
    const good: Candle = {
      venue: 'binance', symbol: 'ETH-USDT', tf: '1m', openTime: T, closeTime: T + 59_999, open: '10', high: '12', low: '9', close: '11',
      volume: '2', quoteVolume: '21', vwap: '10.5000', trades: 2, buyVolume: '1', firstTradeId: '1', lastTradeId: '2', closed: false,
    };
    const subject = t.iso.ns.subject(liveCandleSubject('1m', 'binance', 'ETH-USDT'));
    for (const forged of [
      '1,"type":"trade","data":{"venue":"binance"}',
      `${JSON.stringify(good)},"type":"trade"`,
      JSON.stringify({ ...good, symbol: 'BTC-USDT' }),
      JSON.stringify({ ...good, high: '10' }),
      JSON.stringify({ ...good, closed: true }),
      JSON.stringify({ type: 'trade', data: {} }),
    ]) nc.publish(subject, forged);
    nc.publish(subject, JSON.stringify({ ...good, close: '11.5' }));
    await until('the valid update', () => c.frames.some((f) => f.type === 'candle'), 5_000);
    await new Promise((r) => setTimeout(r, 300));
    const pushed = c.frames.filter((f) => f.type !== 'subscribed');
    expect(pushed).toEqual([{ type: 'candle', data: { ...good, close: '11.5' } }]);
    expect(t.api.hub.stats.invalid).toBeGreaterThanOrEqual(6);
    c.ws.close();
  });
});

describe('md.query.* rate limit (NATS)', () => {
  it('throttles one client (429) while another one is answered; requests without a reply are ignored', async () => {
    const greedy = await natsConnect({ servers: natsUrl });
    const polite = await natsConnect({ servers: natsUrl });
    try {
      const ask = (c: NatsConnection) =>
        c.request(t.iso.ns.subject(QUERY_SUBJECTS.state), JSON.stringify({ venue: 'binance', symbol: 'BTC-USDT' }), { timeout: 5000 })
          .then((m) => Number(m.headers?.get('Nats-Service-Error-Code') ?? 200));
      for (let i = 0; i < 100; i++) greedy.publish(t.iso.ns.subject(QUERY_SUBJECTS.state), '{}'); // no reply subject
      const statuses = await Promise.all(Array.from({ length: 40 }, () => ask(greedy)));
      const limited = statuses.filter((s) => s === 429).length;
      // Burst 2 × 5 = 10 (plus what refills meanwhile) answered, the rest refused.
      expect(limited).toBeGreaterThanOrEqual(25);
      expect(statuses.filter((s) => s === 404).length).toBeGreaterThanOrEqual(10); // no live state: answered 404
      expect(await ask(polite)).toBe(404);
    } finally {
      await Promise.all([greedy.close(), polite.close()]);
    }
  });
});

describe('md.query.* in flight', () => {
  it('refuses requests beyond API_QUERY_MAX_INFLIGHT with 503; the rest are answered', async () => {
    const u = await startApi({ API_QUERY_MAX_INFLIGHT: 1, API_QUERY_RATE_PER_SEC: 1000 });
    const c = await natsConnect({ servers: natsUrl });
    try {
      const statuses = await Promise.all(
        Array.from({ length: 50 }, () =>
          c
            .request(u.iso.ns.subject(QUERY_SUBJECTS.candles), JSON.stringify({ venue: 'binance', symbol: 'BTC-USDT', tf: '1m' }), { timeout: 5000 })
            .then((m) => Number(m.headers?.get('Nats-Service-Error-Code') ?? 200)),
        ),
      );
      expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s === 404).length).toBeGreaterThan(0);
      expect(statuses.every((s) => s === 503 || s === 404)).toBe(true);
    } finally {
      await c.close();
      await u.stop();
    }
  });
});

describe('HTTP_HOST', () => {
  it('binds the given address only (default 127.0.0.1)', async () => {
    const iso = isolated();
    const ctx = await startProcess({ role: 'bind-test', needs: [], env: { ...iso.env, HTTP_HOST: '127.0.0.9' }, httpPort: 0, installSignalHandlers: false });
    try {
      const port = await ctx.listen();
      expect(ctx.http.server.address()).toMatchObject({ address: '127.0.0.9', port });
      expect((await fetch(`http://127.0.0.9:${port}/healthz`)).status).toBe(200);
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    } finally {
      await ctx.lifecycle.shutdown();
    }
    const dflt = await startProcess({ role: 'bind-test', needs: [], env: { ...iso.env, HTTP_HOST: undefined }, httpPort: 0, installSignalHandlers: false });
    try {
      await dflt.listen();
      expect(dflt.http.server.address()).toMatchObject({ address: '127.0.0.1' });
    } finally {
      await dflt.lifecycle.shutdown();
    }
  });
});
