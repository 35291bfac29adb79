// A WebSocket client that stops reading must not grow server memory (real NATS, Redis, PostgreSQL).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Socket } from 'node:net';
import type { NatsConnection } from '@nats-io/transport-node';
import { symbolsKey } from '../../schemas/state.js';
import { tradeSubject } from '../../schemas/subjects.js';
import { startApi, type ApiUnderTest } from './harness.js';

const MiB = 1024 * 1024;
/** The stated bound: server RSS grows by less than this while 100 MiB is published at a stalled client. */
const RSS_BOUND = 50 * MiB;
const FLOOD_BYTES = 100 * MiB;
const BUFFER_BOUND = 1 * MiB;

let t: ApiUnderTest;
let nc: NatsConnection;

beforeAll(async () => {
  t = await startApi({ API_WS_MAX_BUFFER_BYTES: BUFFER_BOUND, API_WS_SLOW_CLOSE_MS: 60_000 });
  nc = (await t.iso.nats()).nc;
  // A known pair: subscribing to an unknown one answers 404.
  await t.iso.redis().hset(t.iso.ns.key(symbolsKey), 'binance:BTC-USDT', JSON.stringify({ worker: 'w', updatedAt: 1 }));
});

afterAll(async () => {
  await t?.stop();
});

const until = async (cond: () => boolean, ms: number, what: string) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** A ~1 KiB trade (the hub checks each payload once per subject, then forwards its bytes as they are). */
function payload(i: number): Uint8Array {
  const trade = {
    venue: 'binance',
    symbol: 'BTC-USDT',
    venueSymbol: 'BTCUSDT',
    id: String(i).padStart(64, '0'),
    price: '42000.12345678',
    qty: '0.00100000',
    side: 'buy',
    ts: 1_700_000_000_000 + i,
    recvTs: 1_700_000_000_001 + i,
    note: 'x'.repeat(800),
  };
  return new TextEncoder().encode(JSON.stringify(trade));
}

describe('slow WebSocket reader', () => {
  it(`keeps server RSS growth under ${RSS_BOUND / MiB} MiB while ${FLOOD_BYTES / MiB} MiB is published, drops and reports, then closes it with 1013`, async () => {
    const subject = t.iso.ns.subject(tradeSubject('binance', 'BTC-USDT'));
    const ws = new WebSocket(t.wsUrl);
    let received = 0;
    const frames: { type: string; count?: number; data?: { id: string } }[] = [];
    ws.on('message', (data: Buffer) => {
      received += data.length;
      const f = JSON.parse(data.toString()) as { type: string };
      if (f.type !== 'trade') frames.push(f);
      else frames.push({ type: 'trade', data: { id: (f as unknown as { data: { id: string } }).data.id } });
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ op: 'subscribe', venue: 'binance', symbol: 'BTC-USDT', tf: '1m', trades: true }));
    await until(() => frames.some((f) => f.type === 'subscribed'), 5000, 'subscribed');

    // Stop reading: the TCP window closes, the kernel buffers fill, then ws queues in user space.
    const raw = (ws as unknown as { _socket: Socket })._socket;
    raw.pause();

    const msg = payload(0);
    const count = Math.ceil(FLOOD_BYTES / msg.length);
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    const stats = t.api.hub.stats;
    const handled0 = stats.framesSent + stats.framesDropped;
    for (let i = 0; i < count; i++) {
      nc.publish(subject, msg);
      // Flush now and then so the publisher's own buffer stays small: we measure the server.
      if (i % 256 === 255) await nc.flush();
    }
    await nc.flush();
    await until(() => stats.framesSent + stats.framesDropped - handled0 >= count, 30_000, 'the hub to handle the flood');
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    const growth = peak - rss0;
    console.log(
      `flood ${count} x ${msg.length} B = ${((count * msg.length) / MiB).toFixed(0)} MiB; rss growth ${(growth / MiB).toFixed(1)} MiB; ` +
        `sent ${stats.framesSent}, dropped ${stats.framesDropped}`,
    );
    expect(growth).toBeLessThan(RSS_BOUND);
    expect(stats.framesDropped).toBeGreaterThan(count / 2);
    expect(t.api.hub.clientCount).toBe(1);

    // Reading again: the client gets what was queued, then a `dropped` notice before the next frame.
    raw.resume();
    await until(() => t.api.hub.clientCount === 1 && received > 0, 5000, 'reading resumes');
    await new Promise((r) => setTimeout(r, 300));
    nc.publish(subject, payload(count + 1));
    await until(() => frames.some((f) => f.data?.id === String(count + 1).padStart(64, '0')), 5000, 'the marker trade');
    const notice = frames.findIndex((f) => f.type === 'dropped');
    expect(notice).toBeGreaterThan(0);
    expect(frames[notice]!.count).toBe(stats.framesDropped);
    expect(frames.at(-1)!.data?.id).toBe(String(count + 1).padStart(64, '0'));
    // Everything the client got is a small fraction of the flood: conflated by dropping.
    expect(received).toBeLessThan(30 * MiB);

    // Stalled for good: after the grace the server closes it (1013) and frees its buffers.
    raw.pause();
    t.api.hub.limits.slowCloseMs = 200;
    for (let i = 0; i < (32 * MiB) / msg.length && t.api.hub.clientCount > 0; i++) {
      nc.publish(subject, msg);
      if (i % 256 === 255) await nc.flush();
    }
    await until(() => t.api.hub.clientCount === 0, 10_000, 'the slow client to be closed');
    expect(stats.slowClosed).toBe(1);
    raw.resume();
    expect([1013, 1006]).toContain(await closed);
  });
});
