import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readRecording, recordingsDir } from '../../runtime/recording.js';
import { startSimulator, type Simulator } from '../../simulate/index.js';
import { connect, sleep, until, type TestClient } from './ws-client.js';

/**
 * Replays of the six shared recordings (../shared/data/recordings): every RECEIVED frame, byte for
 * byte and in order, after the protocol's own acknowledgement of the client's subscribe.
 */

const dir = recordingsDir();
beforeAll(() => {
  if (!existsSync(dir)) throw new Error(`recordings folder missing: ${dir} (expected ../shared/data/recordings beside the checkout, or TICKWORK_RECORDINGS)`);
});

const sims: Simulator[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function receivedFrames(file: string): Promise<string[]> {
  const out: string[] = [];
  for await (const line of readRecording(join(dir, file))) if (line.kind === 'received') out.push(line.data);
  return out;
}

// How a client of each venue asks for data: a URL (no ack) or one subscribe message (`acks` answers).
const cases: Array<{ file: string; venue: string; path: string; subscribe?: unknown; acks: number }> = [
  { file: 'BINANCE.ws.1.0', venue: 'binance', path: '/stream?streams=nknusdt@aggTrade/nknusdt@bookTicker', acks: 0 },
  { file: 'BINANCE_US.ws.1.0', venue: 'binance-us', path: '/ws', subscribe: { method: 'SUBSCRIBE', params: ['crvusdt@aggTrade'], id: 1 }, acks: 1 },
  { file: 'BYBIT.ws.25.0', venue: 'bybit', path: '', subscribe: { op: 'subscribe', args: ['publicTrade.BCHUSDT', 'orderbook.1.BCHUSDT'] }, acks: 1 },
  { file: 'COINBASE.ws.28.0', venue: 'coinbase', path: '', subscribe: { type: 'subscribe', product_ids: ['SKL-USD'], channels: ['matches', 'ticker'] }, acks: 1 },
  { file: 'KRAKEN.ws.50.0', venue: 'kraken', path: '', subscribe: { method: 'subscribe', params: { channel: 'trade', symbol: ['XMR/USD'] } }, acks: 1 },
  { file: 'OKX.ws.1.0', venue: 'okx', path: '', subscribe: { op: 'subscribe', args: [{ channel: 'trades', instId: 'BTC-USDT' }] }, acks: 1 },
];

describe('recording replay', () => {
  for (const k of cases) {
    it(`${k.file}: sends exactly the file's received frames after ${k.acks} ack(s)`, async () => {
      const expected = await receivedFrames(k.file);
      expect(expected.length).toBeGreaterThan(200);
      const s = await startSimulator({ venue: k.venue, recording: join(dir, k.file), speed: Infinity });
      sims.push(s);
      const c = await connect(s.origin + k.path);
      clients.push(c);
      await sleep(30);
      // Nothing is replayed before the client asks for data.
      if (k.subscribe) {
        expect(c.frames.length).toBe(0);
        c.send(k.subscribe);
      }
      await until(() => c.frames.length >= expected.length + k.acks, 4000, 'the whole recording');
      await sleep(50);
      const texts = c.texts();
      expect(texts.length).toBe(expected.length + k.acks);
      const replayed = texts.slice(k.acks);
      for (let i = 0; i < expected.length; i++) if (replayed[i] !== expected[i]) expect(replayed[i], `frame ${i}`).toBe(expected[i]);
      const st = s.stats();
      expect(st.mode).toBe('recording');
      expect(st.replayFramesSent).toBe(expected.length);
      expect(st.replaysCompleted).toBe(1);
    });
  }

  it('keeps the recorded timing, scaled by speed, and gives each client its own replay', async () => {
    // BINANCE.ws.1.0 spans about 30 s; at 20x that is ~1.5 s.
    const expected = await receivedFrames('BINANCE.ws.1.0');
    const s = await startSimulator({ venue: 'binance', recording: join(dir, 'BINANCE.ws.1.0'), speed: 20, replayStart: 'connect' });
    sims.push(s);
    const a = await connect(`${s.origin}/ws`);
    clients.push(a);
    await sleep(300);
    expect(a.frames.length).toBeGreaterThan(0);
    expect(a.frames.length).toBeLessThan(expected.length * 0.6);
    const b = await connect(`${s.origin}/ws`);
    clients.push(b);
    await until(() => a.frames.length === expected.length && b.frames.length === expected.length, 4000, 'both replays');
    expect(b.texts()).toEqual(expected);
    expect(s.stats().replaysCompleted).toBe(2);
  });

  it('serves the REST bodies recorded beside the connection', async () => {
    let recorded = '';
    for await (const line of readRecording(join(dir, 'BINANCE.0'))) {
      if (line.kind === 'rest' && line.url.endsWith('/api/v3/exchangeInfo')) {
        recorded = line.data;
        break;
      }
    }
    expect(recorded.length).toBeGreaterThan(1000);
    const s = await startSimulator({ venue: 'binance', recording: join(dir, 'BINANCE.ws.1.0'), speed: Infinity });
    sims.push(s);
    const res = await fetch(`${s.restUrl}/api/v3/exchangeInfo`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(recorded);
  });
});
