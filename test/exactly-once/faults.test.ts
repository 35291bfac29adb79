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
// PostgreSQL unreachable for 30 s mid-run. Each must end identical to a clean run.
const N = Number(process.env.TICKWORK_EO_FAULT_TRADES ?? 200_000);
const SYMBOLS = 50;
const symbols = Array.from({ length: SYMBOLS }, (_, k) => `S${k}-USDT`);
const trades = (): Trade[] => [...syntheticTrades(N, SYMBOLS, 11)];

async function finish(iso: Isolated, worker: CliProcess, sink: CliProcess, opts: { ignoreSeq?: boolean } = {}) {
  await worker.waitFor(/http listening/, 60_000);
  await waitFor(`all ${N} trades applied`, async () => (await appliedSoFar(iso, symbols)) === N, 300_000);
  await waitFor('worker checkpoint at the end of MD_TRADES', () => workerCaughtUp(iso), 60_000);
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
    for (const iso of [clean, dup, flushed, pgDown]) await iso.cleanup();
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

  it('Redis flushed mid-run, the worker killed right after its checkpoint outlived the snapshots', async () => {
    expect((await publishTrades(flushed, trades())).stored).toBe(N);
    const sink = startSink(flushed);
    let worker = startWorker(flushed);
    await waitFor('a third applied', async () => (await appliedSoFar(flushed, symbols)) > N / 3, 300_000);
    const redis = flushed.redis();
    const checkpointKey = flushed.ns.key('checkpoint:0-1');
    await waitFor('a checkpoint', async () => Number(await redis.get(checkpointKey)) > 0, 30_000);
    const checkpoint = await redis.get(checkpointKey);
    const keys = await redis.keys(`${flushed.ns.key('')}*`);
    expect(keys.length).toBeGreaterThan(SYMBOLS);
    await redis.del(...keys);
    // The worst moment: the running worker persisted its checkpoint after the flush, then died
    // before re-snapshotting. Every symbol must rebuild what the checkpoint claims is saved.
    await redis.set(checkpointKey, checkpoint!);
    worker.child.kill('SIGKILL');
    await worker.exited;
    worker = startWorker(flushed);
    const actual = await finish(flushed, worker, sink);
    expect(worker.output()).toMatch(/snapshot missing: rebuilt from MD_TRADES/);
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
