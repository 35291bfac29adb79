import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolated, type Isolated } from '../harness.js';
import { TcpProxy } from '../tcp-proxy.js';
import {
  appliedSoFar,
  finalResult,
  killRepeatedly,
  publishTrades,
  sinkDrained,
  startSink,
  startWorker,
  syntheticTrades,
  waitFor,
  workerCaughtUp,
} from './pipeline.js';
import type { CliProcess } from '../harness.js';
import type { Trade } from '../../schemas/trade.js';

// Issue 4 acceptance, fault variants (real NATS JetStream, Redis, PostgreSQL; worker and sink as
// child processes): duplicated input (some copies after the dedupe window), Redis flushed mid-run,
// Redis restarted with stale data, PostgreSQL unreachable for 30 s mid-run. Each must end identical to a clean run.
// 50,000 in `npm test` (5 runs of it on a loaded 2-core CI machine); `npm run test:chaos` runs 200,000.
const N = Number(process.env.TICKWORK_EO_FAULT_TRADES ?? 50_000);
const SYMBOLS = 50;
const symbols = Array.from({ length: SYMBOLS }, (_, k) => `S${k}-USDT`);
const trades = (): Trade[] => [...syntheticTrades(N, SYMBOLS, 11)];

async function finish(iso: Isolated, worker: CliProcess, sink: CliProcess, opts: { ignoreSeq?: boolean } = {}) {
  await worker.waitFor(/http listening/, 60_000);
  await waitFor(`all ${N} trades applied`, async () => (await appliedSoFar(iso, symbols)) === N, 300_000);
  await waitFor('worker checkpoint at the end of MD_TRADES', () => workerCaughtUp(iso, symbols), 60_000);
  worker.child.kill('SIGTERM');
  expect(await worker.exited, worker.output().slice(-3000)).toBe(0);
  await waitFor('sink drained', () => sinkDrained(iso), 180_000);
  sink.child.kill('SIGTERM');
  expect(await sink.exited, sink.output().slice(-3000)).toBe(0);
  return finalResult(iso, symbols, opts);
}

const rndFrom = (seed: number) => () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);

describe(`exactly-once under faults (${N} trades, ${SYMBOLS} symbols)`, () => {
  const clean = isolated();
  const dup = isolated();
  const flushed = isolated();
  const stale = isolated();
  const pgDown = isolated();
  let expected: Awaited<ReturnType<typeof finalResult>>;
  let expectedNoSeq: Awaited<ReturnType<typeof finalResult>>;

  beforeAll(async () => {
    expect((await publishTrades(clean, trades())).stored).toBe(N);
    const sink = startSink(clean);
    expected = await finish(clean, startWorker(clean), sink);
    expectedNoSeq = await finalResult(clean, symbols, { ignoreSeq: true });
    expect(expected.candles.length).toBeGreaterThan(SYMBOLS * Math.floor((N * 20) / 60_000 - 2));
  }, 600_000);

  afterAll(async () => {
    for (const iso of [clean, dup, flushed, stale, pgDown]) await iso.cleanup();
  });

  it('every trade published twice, some copies after the dedupe window, with 3 SIGKILLs', async () => {
    const window = { TICKWORK_DEDUPE_WINDOW_MS: '1000' };
    Object.assign(dup.env, window);
    const all = trades();
    // First copies, each immediately followed by a second copy of every other trade (inside the window).
    const first = await publishTrades(dup, all.flatMap((t, i) => (i % 2 === 0 ? [t, t] : [t])));
    expect(first.stored).toBe(N);
    expect(first.duplicates).toBe(N / 2);
    await new Promise((r) => setTimeout(r, 1500));
    // The other half again, after the window: JetStream stores them, the actors must not count them.
    const late = await publishTrades(dup, all.filter((_, i) => i % 2 === 1));
    expect(late.stored).toBe(N / 2);
    const sink = startSink(dup, window);
    const worker = await killRepeatedly(dup, 3, { minMs: 2500, maxMs: 4000, rnd: rndFrom(5), extraEnv: window });
    const actual = await finish(dup, worker, sink, { ignoreSeq: true });
    expect(actual.candles).toEqual(expectedNoSeq.candles);
    expect(actual.states).toEqual(expectedNoSeq.states);
  }, 600_000);

  it('Redis flushed mid-run, the worker killed right after: every symbol rebuilds from MD_TRADES', async () => {
    expect((await publishTrades(flushed, trades())).stored).toBe(N);
    const sink = startSink(flushed);
    let worker = startWorker(flushed);
    await waitFor('a third applied', async () => (await appliedSoFar(flushed, symbols)) > N / 3, 300_000);
    const redis = flushed.redis();
    const keys = await redis.keys(`${flushed.ns.key('')}*`);
    expect(keys.length).toBeGreaterThan(SYMBOLS);
    await redis.del(...keys);
    worker.child.kill('SIGKILL');
    await worker.exited;
    worker = startWorker(flushed);
    const actual = await finish(flushed, worker, sink);
    expect(actual.candles).toEqual(expected.candles);
    expect(actual.states).toEqual(expected.states);
  }, 600_000);

  it('Redis restarted keeping stale data: snapshots rolled back under a worker that restarts, nothing skipped', async () => {
    expect((await publishTrades(stale, trades())).stored).toBe(N);
    const sink = startSink(stale);
    let worker = startWorker(stale);
    await waitFor('a fifth applied', async () => (await appliedSoFar(stale, symbols)) > N / 5, 300_000);
    // A copy of every key (as a Redis restarted from an old dump would have them) ...
    const redis = stale.redis();
    const keys = await redis.keys(`${stale.ns.key('')}*`);
    const copy = await Promise.all(keys.map(async (k) => [k, await redis.dumpBuffer(k)] as const));
    // ... the worker moves on ...
    await waitFor('three fifths applied', async () => (await appliedSoFar(stale, symbols)) > (3 * N) / 5, 300_000);
    // ... and the old values come back while the worker restarts.
    worker.child.kill('SIGKILL');
    await worker.exited;
    for (const [k, v] of copy) if (v) await redis.restore(k, 0, v, 'REPLACE');
    worker = startWorker(stale);
    const actual = await finish(stale, worker, sink);
    expect(actual.candles).toEqual(expected.candles);
    expect(actual.states).toEqual(expected.states);
  }, 600_000);

  it('PostgreSQL unreachable for 30 s mid-run', async () => {
    const db = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const proxy = TcpProxy.forUrl(db, 5432);
    await proxy.start();
    try {
      expect((await publishTrades(pgDown, trades())).stored).toBe(N);
      const sink = startSink(pgDown, { DATABASE_URL: proxy.url(db) });
      await sink.waitFor(/http listening/, 60_000);
      const worker = startWorker(pgDown);
      await waitFor('a third applied', async () => (await appliedSoFar(pgDown, symbols)) > N / 3, 300_000);
      await proxy.cut();
      await new Promise((r) => setTimeout(r, 30_000));
      await proxy.start();
      const actual = await finish(pgDown, worker, sink);
      expect(sink.output()).toMatch(/candle upsert failed; retrying/);
      expect(actual.candles).toEqual(expected.candles);
      expect(actual.states).toEqual(expected.states);
    } finally {
      await proxy.cut();
    }
  }, 600_000);
});
