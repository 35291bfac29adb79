// Rate and payload limits of the query service (real NATS, Redis, PostgreSQL).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startApi, type ApiUnderTest } from './harness.js';

let t: ApiUnderTest;

beforeAll(async () => {
  t = await startApi({ API_RATE_LIMIT_PER_MIN: 5, API_WS_MAX_PAYLOAD_BYTES: 512, API_WS_MAX_CONNECTIONS: 2 });
});

afterAll(async () => {
  await t?.stop();
});

const closeCode = (ws: WebSocket) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
const refusedWith = (ws: WebSocket) => new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));

describe('limits', () => {
  it('caps WebSocket frames (1009), connections (429 before the upgrade), and /v1 requests per minute (429 JSON), not /healthz', async () => {
    // The WebSocket checks go first: each upgrade request counts against the rate limit too.
    const big = new WebSocket(t.wsUrl);
    await new Promise((r) => big.once('open', r));
    const bigClosed = closeCode(big);
    big.send(JSON.stringify({ op: 'subscribe', venue: 'binance', symbol: 'BTC-USDT', tf: '1m', pad: 'x'.repeat(600) }));
    expect(await bigClosed).toBe(1009);
    for (let i = 0; i < 100 && t.api.hub.clientCount > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(t.api.hub.clientCount).toBe(0);

    const a = new WebSocket(t.wsUrl);
    const b = new WebSocket(t.wsUrl);
    await Promise.all([a, b].map((w) => new Promise((r) => w.once('open', r))));
    // Refused before the upgrade: no socket is spent on it.
    const c = new WebSocket(t.wsUrl);
    expect(await refusedWith(c)).toBe(429);
    a.close();
    b.close();

    // 4 upgrades so far; one more request is allowed, the next is limited.
    expect((await fetch(`${t.base}/v1/symbols`)).status).toBe(200);
    const limited = await fetch(`${t.base}/v1/symbols`);
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ error: 'rate_limited' });
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await fetch(`${t.base}/healthz`)).status).toBe(200);
  });
});
