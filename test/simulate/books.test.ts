import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimStats } from '../../simulate/index.js';
import { spawnCli } from '../harness.js';
import { connect, control, until, type TestClient } from './ws-client.js';

/**
 * The simulator's books: REST depth snapshots of the true book (consistent with the venue's best
 * bid/ask), book misbehaviour seen on the wire as a venue's client would see it, 429s on snapshots
 * with Retry-After (asking earlier is a violation), and a recorded REST companion (`--rest-recording`).
 */

const sims: Simulator[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function sim(venue: string, symbols: string[], extra: Partial<Parameters<typeof startSimulator>[0]> = {}): Promise<Simulator> {
  const s = await startSimulator({ venue, synthetic: { symbols, tradesPerSec: 60, quotesPerSec: 60, seed: 5 }, pingIntervalMs: 0, ...extra });
  sims.push(s);
  return s;
}

async function client(url: string): Promise<TestClient> {
  const c = await connect(url);
  clients.push(c);
  return c;
}

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
};

describe('simulated depth (REST snapshot and diffs from one true book)', () => {
  it('Binance /api/v3/depth is the true book at the current update id, its top the venue best bid/ask', async () => {
    const s = await sim('binance', ['BTC-USDT']);
    s.pause();
    const depth = await get(`${s.restUrl}/api/v3/depth?symbol=BTCUSDT&limit=5`);
    const ticker = await get(`${s.restUrl}/api/v3/ticker/bookTicker?symbol=BTCUSDT`);
    const truth = s.book('BTC-USDT', 5)!;
    expect(depth.status).toBe(200);
    expect(depth.body.lastUpdateId).toBe(truth.updateId);
    const bids = depth.body.bids as [string, string][];
    const asks = depth.body.asks as [string, string][];
    expect(bids).toHaveLength(5);
    expect(bids.map(([p, q]) => [Number(p), Number(q)])).toEqual(truth.bids.map(([p, q]) => [Number(p), Number(q)]));
    expect([bids[0], asks[0]]).toEqual([
      [ticker.body.bidPrice, ticker.body.bidQty],
      [ticker.body.askPrice, ticker.body.askQty],
    ]);
    // the venue's weight and its validation
    expect((await get(`${s.restUrl}/api/v3/depth?symbol=BTCUSDT&limit=0`)).status).toBe(400);
    expect((await get(`${s.restUrl}/api/v3/depth?symbol=NOPE`)).status).toBe(400);
  });

  it('diffs chain U = previous u + 1, and a drop, a duplicate and a reorder show on the wire once each', async () => {
    const s = await sim('binance', ['BTC-USDT']);
    const c = await client(`${s.origin}/ws`);
    c.send({ method: 'SUBSCRIBE', params: ['btcusdt@depth@100ms'], id: 1 });
    const diffs = () => c.json().filter((m): m is { e: string; U: number; u: number } => (m as { e?: string }).e === 'depthUpdate');
    await until(() => diffs().length > 20, 10_000, 'diffs');
    const breaks = () => {
      const d = diffs();
      let n = 0;
      for (let i = 1; i < d.length; i++) if (d[i]!.U !== d[i - 1]!.u + 1) n++;
      return n;
    };
    expect(breaks()).toBe(0);
    for (const fault of ['drop', 'duplicate', 'reorder'] as const) {
      const before = breaks();
      const seen = diffs().length;
      s.misbehave({ kind: 'book', fault, symbol: 'BTC-USDT' });
      await until(() => (s.stats().bookFaults[fault] ?? 0) === 1 && diffs().length > seen + 10, 10_000, fault);
      // drop: one hole; duplicate: one repeat; reorder (d1 d3 d2 d4): three breaks
      expect(breaks() - before).toBe(fault === 'reorder' ? 3 : 1);
    }
  });

  it('Coinbase Advanced Trade: every message carries the connection sequence; a dropped update leaves a hole', async () => {
    const s = await sim('coinbase', ['BTC-USD']);
    const c = await client(s.wsUrl);
    c.send({ type: 'subscribe', product_ids: ['BTC-USD'], channel: 'level2' });
    c.send({ type: 'subscribe', channel: 'heartbeats' });
    const seqs = () => c.json().map((m) => (m as { sequence_num?: number }).sequence_num).filter((n): n is number => n !== undefined);
    await until(() => seqs().length > 10, 10_000, 'l2_data');
    const snapshot = c.json().find((m) => (m as { channel?: string }).channel === 'l2_data') as { events: { type: string }[] };
    expect(snapshot.events[0]!.type).toBe('snapshot');
    expect(seqs()).toEqual(seqs().map((_, i) => i));
    s.misbehave({ kind: 'book', fault: 'drop' });
    await until(() => s.stats().bookFaults.drop === 1, 10_000, 'drop');
    await until(() => seqs().length > 20, 10_000, 'more messages');
    const holes = seqs().filter((n, i, a) => i > 0 && n !== a[i - 1]! + 1);
    expect(holes).toHaveLength(1);
  });

  it('Kraken and OKX send checksums over the text they send; corrupt-checksum changes one', async () => {
    const s = await sim('okx', ['BTC-USDT']);
    const c = await client(s.wsUrl);
    c.send({ op: 'subscribe', args: [{ channel: 'books', instId: 'BTC-USDT' }] });
    await until(() => c.json().filter((m) => (m as { action?: string }).action === 'update').length > 5, 10_000, 'updates');
    s.misbehave({ kind: 'book', fault: 'corrupt-checksum', symbol: 'BTC-USDT' });
    await until(() => s.stats().bookFaults['corrupt-checksum'] === 1, 10_000, 'corrupt');
    // a venue without a checksum keeps the command armed: nothing is corrupted on Binance
    const b = await sim('binance', ['BTC-USDT']);
    const bc = await client(`${b.origin}/ws`);
    bc.send({ method: 'SUBSCRIBE', params: ['btcusdt@depth@100ms'], id: 1 });
    b.misbehave({ kind: 'book', fault: 'corrupt-checksum' });
    await until(() => bc.frames.length > 20, 10_000, 'diffs');
    expect(b.stats().bookFaults).toEqual({});
  });

  it('refuses malformed book commands with a 400 naming the field', async () => {
    const s = await sim('bybit', ['BTC-USDT']);
    const r = await control(s.controlUrl, 'misbehave', { kind: 'book', fault: 'lose-it' });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toContain('/fault');
    expect((await control(s.controlUrl, 'misbehave', { kind: 'snapshot-429', count: 0 })).status).toBe(400);
    expect((await control(s.controlUrl, 'misbehave', { kind: 'book', fault: 'drop', symbol: 'btc' })).status).toBe(400);
  });
});

describe('snapshot-429', () => {
  it('answers the next depth snapshots 429 with Retry-After; asking before it is over counts a violation', async () => {
    const s = await sim('binance', ['BTC-USDT']);
    s.misbehave({ kind: 'snapshot-429', count: 2, retryAfterMs: 1500 });
    const url = `${s.restUrl}/api/v3/depth?symbol=BTCUSDT&limit=100`;
    const first = await get(url);
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('2');
    // at once again: too early, refused and counted
    expect((await get(url)).status).toBe(429);
    expect(s.stats().violations).toEqual({ 'retry-after': 1 });
    const stats = (await control(s.controlUrl, 'stats')).body as SimStats;
    expect(stats.violations['retry-after']).toBe(1);
  });
});

describe('--rest-recording: a recorded REST companion served beside a recorded WebSocket', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-rest-rec-'));
  const ws = join(dir, 'X.ws.1.0');
  const rest = join(dir, 'elsewhere.0');
  const snapshot = '{"lastUpdateId":100,"bids":[["1.00","2"]],"asks":[["1.10","3"]]}';
  writeFileSync(ws, ['wss://stream.binance.com:9443/stream <-> 1700000000.000000', '1700000000.100000: {"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":101,"u":101,"b":[["1.00","0"]],"a":[]}}', ''].join('\n'));
  writeFileSync(rest, `https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000 -> 1700000000.050000: ${snapshot}\n`);

  it('serves the recorded depth snapshot for its URL while the diffs replay', async () => {
    const s = await startSimulator({ venue: 'binance', recording: ws, restRecording: rest, speed: Infinity, replayStart: 'connect' });
    sims.push(s);
    const res = await fetch(`${s.restUrl}/api/v3/depth?symbol=BTCUSDT&limit=1000`);
    expect(await res.text()).toBe(snapshot);
    const c = await client(s.wsUrl);
    await until(() => c.frames.length === 1, 5000, 'the recorded diff');
    expect(c.texts()[0]).toContain('"U":101');
  });

  it('names what is wrong: no --recording, or a missing file', async () => {
    await expect(startSimulator({ venue: 'binance', restRecording: rest })).rejects.toThrow(/--rest-recording needs --recording/);
    await expect(startSimulator({ venue: 'binance', recording: ws, restRecording: join(dir, 'nope.0') })).rejects.toThrow(/--rest-recording .*nope\.0: no such file/);
  });

  it('is a flag of `tickwork simulate`', async () => {
    const p = spawnCli(['simulate', '--venue', 'binance', '--recording', ws, '--rest-recording', rest, '--port', '0'], { ...process.env, LOG_LEVEL: 'silent' });
    try {
      const line = await p.waitFor(/simulate\.ready/, 30_000);
      const ready = JSON.parse(line) as { restUrl: string };
      expect(await (await fetch(`${ready.restUrl}/api/v3/depth?symbol=BTCUSDT&limit=1000`)).text()).toBe(snapshot);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  }, 60_000);
});
