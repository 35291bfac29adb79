// Fuzzing the query API (issue 9 acceptance): generated HTTP parameters, WebSocket frames and NATS
// request bodies against the real NATS, Redis and PostgreSQL. 0 answers 500, 0 crashes, 0 unhandled
// rejections. TICKWORK_FUZZ_N sets the number of inputs (default 2,000; the chaos suite raises it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { NatsConnection } from '@nats-io/transport-node';
import { QUERY_SUBJECTS } from '../../api/index.js';
import type { Candle } from '../../schemas/candle.js';
import { stateKey, symbolsKey, type LiveState } from '../../schemas/state.js';
import { CandleStore } from '../../store/candles.js';
import { startApi, type ApiUnderTest } from './harness.js';

const N = Number(process.env.TICKWORK_FUZZ_N ?? 2000);
const SEED = Number(process.env.TICKWORK_FUZZ_SEED ?? 20240102);
const T0 = Date.UTC(2024, 0, 2, 3, 0, 0);

let t: ApiUnderTest;
let nc: NatsConnection;
const unhandled: unknown[] = [];
const onUnhandled = (err: unknown) => unhandled.push(err);

/** mulberry32: a small seeded generator, so a failure can be replayed with TICKWORK_FUZZ_SEED. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const chance = (p: number) => rand() < p;

const TEXT = [
  '', ' ', '0', '-0', '+1', '1', '7', '1.5', '1e400', '1e3', '0x10', '0b11', '0o7', 'NaN', 'Infinity', '-Infinity', '-1',
  '9007199254740993', '9999999999999999', '99999999999999999999', '253402300799999', '253402300800000', '1704164400000',
  '2024-01-02T03:00:00Z', '2024-01-02', '2024-13-45T99:00:00Z', '9999-12-31T23:59:59.999Z', '+275760-09-13T00:00:00Z', '0000-01-01',
  'binance', 'okx', 'Binance', 'bin ance', 'a', 'x'.repeat(40), 'BTC-USDT', 'btc-usdt', 'BTC_USDT', 'BTC-USDT-PERP', 'NOPE-USDT',
  '1s', '1m', '5m', '7m', '1d', '1w', 'true', 'false', 'null', 'undefined', '[]', '{}', '{"a":1}', '__proto__', 'constructor',
  '../../etc/passwd', "' or 1=1 --", '%00', '\u0000', '\u202e', '🚀', 'é', '\r\n', '<script>', 'y'.repeat(1000),
];
const KEYS = ['venue', 'symbol', 'tf', 'from', 'to', 'limit', 'since', 'op', 'trades', 'arb', '__proto__', 'constructor', 'extra', ''];

function value(depth = 0): unknown {
  const r = rand();
  if (r < 0.45) return pick(TEXT);
  if (r < 0.7) return pick([0, -1, 1, 1.5, -0, 2 ** 53, 2 ** 53 + 2, 1e308, -1e308, 1704164400000, 253402300799999, 1e16, 5, 100]);
  if (r < 0.8) return pick([true, false, null]);
  if (r < 0.9 && depth < 2) return Array.from({ length: Math.floor(rand() * 3) }, () => value(depth + 1));
  if (depth < 2) return object(depth + 1);
  return pick(TEXT);
}

/** An object mostly of known keys with good or hostile values. */
function object(depth = 0): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (chance(0.6)) Object.assign(o, { venue: 'binance', symbol: 'BTC-USDT', tf: '1m' });
  for (let i = Math.floor(rand() * 5); i > 0; i--) o[pick(KEYS)] = value(depth);
  return o;
}

function httpInput(): string {
  const route = pick(['/v1/candles', '/v1/candles', '/v1/state', '/v1/arbitrage', '/v1/symbols', '/v1/overview', '/v1/nothing', '/v1/candles/']);
  const q = new URLSearchParams();
  if (route === '/v1/candles' && chance(0.7)) for (const [k, v] of Object.entries({ venue: 'binance', symbol: 'BTC-USDT', tf: '1m' })) q.append(k, v);
  for (let i = Math.floor(rand() * 5); i > 0; i--) q.append(pick(KEYS), String(pick(TEXT)));
  const path = route === '/v1/state' ? `/v1/state/${encodeURIComponent(String(pick(TEXT)))}/${encodeURIComponent(String(pick(TEXT)))}` : route;
  return `${path}?${q}`;
}

function natsInput(): string | Uint8Array {
  const r = rand();
  if (r < 0.7) return JSON.stringify(object());
  if (r < 0.8) return JSON.stringify(value());
  if (r < 0.9) return pick(['', '{', 'nope', '{"limit":1e400}', '{"venue":"binance","symbol":"BTC-USDT","tf":"1m","from":1e999}', '[1,2]', '"x"', 'null']);
  return Uint8Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256));
}

function wsInput(): string | Buffer {
  const r = rand();
  if (r < 0.75) return JSON.stringify({ op: pick(['subscribe', 'unsubscribe', 'subscribe', 'nope', 1, null]), ...object() });
  if (r < 0.85) return pick(['', 'nope', '{', '[]', 'null', '{"op":"subscribe","venue":"binance","symbol":"BTC-USDT","tf":"1m","trades":"yes"}']);
  if (r < 0.95) return JSON.stringify(value());
  return Buffer.from(Uint8Array.from({ length: 32 }, () => Math.floor(rand() * 256)));
}

function candle(i: number): Candle {
  return {
    venue: 'binance', symbol: 'BTC-USDT', tf: '1m', openTime: T0 + i * 60_000, closeTime: T0 + (i + 1) * 60_000 - 1,
    open: '100', high: '101', low: '99', close: '100.5', volume: '2', quoteVolume: '201', vwap: '100.5000', trades: 2,
    buyVolume: '1', firstTradeId: String(2 * i), lastTradeId: String(2 * i + 1), closed: true,
  };
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  t = await startApi({
    API_RATE_LIMIT_PER_MIN: 100_000_000,
    API_QUERY_RATE_PER_SEC: 1_000_000,
    API_QUERY_MAX_INFLIGHT: 10_000,
    API_WS_FRAMES_PER_SEC: 1_000_000,
    API_WS_MAX_SUBSCRIPTIONS: 8,
  });
  nc = (await t.iso.nats()).nc;
  await new CandleStore(t.iso.sql(), { schema: t.iso.ns.pgSchema }).upsert(Array.from({ length: 20 }, (_, i) => candle(i)));
  const state: LiveState = { venue: 'binance', symbol: 'BTC-USDT', lastTrade: null, candles: { '1m': { ...candle(20), closed: false } }, vwap: {}, lastSeq: 1, tradesApplied: 40, updatedAt: T0 };
  await t.iso.redis().set(t.iso.ns.key(stateKey('binance', 'BTC-USDT')), JSON.stringify(state));
  await t.iso.redis().hset(t.iso.ns.key(symbolsKey), 'binance:BTC-USDT', JSON.stringify({ worker: 'w', updatedAt: T0 }));
}, 60_000);

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await t?.stop();
});

/** Runs `jobs` with at most `width` at once. */
async function pool<T>(jobs: (() => Promise<T>)[], width: number): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]!();
      }
    }),
  );
  return out;
}

describe(`fuzzing the query API (${N} inputs, seed ${SEED})`, () => {
  it('HTTP parameters, NATS request bodies and WebSocket frames: no 500, no crash, no unhandled rejection', async () => {
    const nHttp = Math.ceil(N * 0.4);
    const nNats = Math.ceil(N * 0.3);
    const nWs = N - nHttp - nNats;
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const count = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);

    const httpJobs = Array.from({ length: nHttp }, () => {
      const path = httpInput();
      return async () => {
        const res = await fetch(`${t.base}${path}`);
        const text = await res.text();
        count(res.status);
        if (res.status >= 500) failures.push(`HTTP ${res.status} ${path}: ${text.slice(0, 200)}`);
        else if (!text.startsWith('{')) failures.push(`HTTP ${res.status} ${path}: not JSON: ${text.slice(0, 100)}`);
      };
    });
    const natsJobs = Array.from({ length: nNats }, () => {
      const body = natsInput();
      const subject = t.iso.ns.subject(pick(Object.values(QUERY_SUBJECTS)));
      return async () => {
        const m = await nc.request(subject, body, { timeout: 10_000 });
        const status = Number(m.headers?.get('Nats-Service-Error-Code') ?? 200);
        count(status);
        if (status >= 500) failures.push(`NATS ${status} ${subject} ${String(body).slice(0, 200)}: ${m.string().slice(0, 200)}`);
      };
    });
    await pool([...httpJobs, ...natsJobs].sort(() => rand() - 0.5), 32);

    // WebSocket: 8 sockets share the frames; a socket the server closes (an oversized frame) is replaced.
    // Within API_WS_MAX_PAYLOAD_BYTES: a larger frame closes the socket (1009, test/api/limits.test.ts) and answers nothing.
    const frames = Array.from({ length: nWs }, () => {
      let f = wsInput();
      while (f.length > 4000) f = wsInput();
      return f;
    });
    const errors: Record<string, unknown>[] = [];
    let answered = 0;
    const openSocket = () =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(t.wsUrl);
        ws.on('message', (d) => {
          const f = JSON.parse(d.toString()) as Record<string, unknown>;
          if (f.type === 'error' || f.type === 'subscribed' || f.type === 'unsubscribed') answered++;
          if (f.type === 'error') errors.push(f);
        });
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
      });
    const sockets = await Promise.all(Array.from({ length: 8 }, openSocket));
    for (let i = 0; i < frames.length; i++) {
      let ws = sockets[i % sockets.length]!;
      if (ws.readyState !== WebSocket.OPEN) sockets[i % sockets.length] = ws = await openSocket();
      ws.send(frames[i]!);
      if (i % 64 === 63) await new Promise((r) => setTimeout(r, 5));
    }
    const deadline = Date.now() + 30_000;
    while (answered < frames.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const ws of sockets) ws.close();
    expect(answered, 'every WebSocket frame answered').toBe(frames.length);
    for (const e of errors) if (e.error === 'internal') failures.push(`WS internal error: ${JSON.stringify(e)}`);

    console.log(`fuzz: ${nHttp} HTTP, ${nNats} NATS, ${nWs} WebSocket inputs (seed ${SEED}); statuses ${JSON.stringify(Object.fromEntries(statuses))}; ws errors ${errors.length}`);
    expect(failures).toEqual([]);
    expect(unhandled).toEqual([]);
    // Still up and answering correctly.
    expect((await fetch(`${t.base}/healthz`)).status).toBe(200);
    const ok = (await (await fetch(`${t.base}/v1/candles?venue=binance&symbol=BTC-USDT&tf=1m&limit=3`)).json()) as { candles: Candle[] };
    expect(ok.candles.map((c) => c.openTime)).toEqual([18, 19, 20].map((i) => T0 + i * 60_000));
  }, 600_000);
});
