import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../../actors/symbol/config.js';
import { QUERY_SUBJECTS } from '../../api/index.js';
import { loadApiSettings, startApi } from '../../app/api.js';
import { prepareSchema } from '../../app/migrate.js';
import { startSink } from '../../app/sink.js';
import { ensureMarketStreams, loadStreamsConfig } from '../../app/streams.js';
import { startWorker } from '../../app/worker.js';
import { loadStoreSettings } from '../../store/index.js';
import { startProcess, type ProcessContext } from '../../runtime/process.js';
import type { Candle } from '../../schemas/candle.js';
import { symbolsKey } from '../../schemas/state.js';
import { isolated, spawnCli } from '../harness.js';
import { sinkDrained, waitFor } from '../exactly-once/pipeline.js';

// Issue 5 acceptance, end to end on real NATS JetStream, Redis and PostgreSQL: `tickwork replay`
// of a Binance aggTrades CSV → worker → sink → the same candles over HTTP, NATS request/reply
// and (closed candles) the WebSocket stream.
const TRADES = 30_000;
const START = Date.UTC(2024, 2, 1, 12, 0, 0);

function writeAggTradesCsv(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tickwork-e2e-'));
  const file = join(dir, 'BTCUSDT-aggTrades.csv');
  let seed = 3;
  const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  let cents = 6_500_000;
  let tradeId = 5_000_000;
  const lines: string[] = [];
  for (let i = 0; i < TRADES; i++) {
    cents += Math.round((rnd() - 0.5) * 30);
    const n = 1 + Math.floor(rnd() * 3);
    const price = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}000000`;
    const qty = ((1 + Math.floor(rnd() * 100000)) / 100000).toFixed(8);
    // aggId,price,qty,firstId,lastId,time,isBuyerMaker,isBestMatch
    lines.push(`${1_000_000 + i},${price},${qty},${tradeId},${tradeId + n - 1},${START + i * 100},${rnd() < 0.5 ? 'True' : 'False'},True`);
    tradeId += n;
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('replay → worker → sink → API: identical candles over HTTP, NATS and WebSocket', () => {
  const iso = isolated();
  let ctx: ProcessContext | null = null;
  let ws: WebSocket | null = null;
  afterAll(async () => {
    ws?.terminate();
    await ctx?.lifecycle.shutdown();
    await iso.cleanup();
  });

  it('serves the replayed candles the same way on all three faces', async () => {
    const env = { ...iso.env, TICKWORK_GRACE_MS: String(1e12), TICKWORK_TIMEFRAMES: '1m,5m' };
    ctx = await startProcess({ role: 'e2e', needs: ['nats', 'redis', 'pg'], env, httpPort: 0, installSignalHandlers: false });
    await ensureMarketStreams(ctx.nats!.jsm, ctx.ns, loadStreamsConfig(env));
    await prepareSchema(ctx.sql!, ctx.ns.pgSchema, loadStoreSettings(env));
    await startSink(ctx, loadStoreSettings(env));
    await startWorker(ctx, loadWorkerConfig(env));
    await startApi(ctx, loadApiSettings(env));
    const base = `http://127.0.0.1:${await ctx.listen()}`;

    // Subscribing to a pair no worker has registered answers 404: register it as a worker would have.
    await iso.redis().hset(iso.ns.key(symbolsKey), 'binance:BTC-USDT', JSON.stringify({ worker: 'e2e', updatedAt: Date.now() }));
    const closedOverWs: Candle[] = [];
    ws = new WebSocket(`${base.replace('http', 'ws')}/v1/stream`);
    await new Promise((resolve, reject) => ws!.once('open', resolve).once('error', reject));
    const subscribed = new Promise((resolve) =>
      ws!.on('message', (data) => {
        const f = JSON.parse(data.toString()) as { type: string; data?: Candle };
        if (f.type === 'subscribed') resolve(f);
        if (f.type === 'candle' && f.data?.closed) closedOverWs.push(f.data);
      }),
    );
    ws.send(JSON.stringify({ op: 'subscribe', venue: 'binance', symbol: 'BTC-USDT', tf: '1m' }));
    await subscribed;

    const replay = spawnCli(['replay', '--file', writeAggTradesCsv(), '--format', 'binance-aggtrades-csv', '--venue', 'binance', '--symbol', 'BTC-USDT'], env);
    expect(await replay.exited, replay.output()).toBe(0);
    expect(replay.output()).toContain(`"published":${TRADES}`);

    const minutes = (TRADES * 100) / 60_000; // 50 closed minutes, the last one still open
    await waitFor('all trades applied', async () => {
      const res = await fetch(`${base}/v1/state/binance/BTC-USDT`);
      return res.ok && ((await res.json()) as { tradesApplied: number }).tradesApplied === TRADES;
    }, 120_000);
    await waitFor('sink drained and WebSocket caught up', async () => (await sinkDrained(iso)) && closedOverWs.length >= minutes - 1, 120_000);

    const query = { venue: 'binance', symbol: 'BTC-USDT', tf: '1m', from: START, limit: 5000 };
    const http = (await (await fetch(`${base}/v1/candles?${new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]))}`)).json()) as { candles: Candle[] };
    const nc = (await iso.nats()).nc;
    const reply = await nc.request(iso.ns.subject(QUERY_SUBJECTS.candles), JSON.stringify(query), { timeout: 10_000 });
    const overNats = reply.json<{ candles: Candle[] }>();

    expect(http.candles.length).toBe(minutes);
    expect(http.candles.at(-1)!.closed).toBe(false);
    expect(overNats).toEqual(http);
    const closed = http.candles.filter((c) => c.closed);
    expect(closed).toHaveLength(minutes - 1);
    expect([...closedOverWs].sort((a, b) => a.openTime - b.openTime)).toEqual(closed);
    expect(closed.reduce((n, c) => n + c.trades, 0) + http.candles.at(-1)!.trades).toBeGreaterThanOrEqual(TRADES);

    const bad = await fetch(`${base}/v1/candles?venue=binance&symbol=BTC-USDT&tf=7m`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { field: string }).field).toBe('tf');
  }, 300_000);
});
