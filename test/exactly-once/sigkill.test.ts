import { afterAll, describe, expect, it } from 'vitest';
import { isolated, type Isolated } from '../harness.js';
import { appliedSoFar, finalResult, killRepeatedly, publishTrades, sinkDrained, startSink, startWorker, syntheticTrades, waitFor, waitForCount, workerCaughtUp } from './pipeline.js';

// Issue 4 acceptance: 1,000,000 trades over 50 symbols, the worker SIGKILLed at random moments
// at least 10 times; final PostgreSQL candles and Redis state equal a run without kills.
// Real NATS JetStream, Redis and PostgreSQL; worker and sink run as `tickwork` child processes.
const N = Number(process.env.TICKWORK_EO_TRADES ?? 1_000_000);
const SYMBOLS = 50;
const KILLS = 10;
const symbols = Array.from({ length: SYMBOLS }, (_, k) => `S${k}-USDT`);

async function run(iso: Isolated, kills: number): Promise<Awaited<ReturnType<typeof finalResult>>> {
  const pub = await publishTrades(iso, syntheticTrades(N, SYMBOLS));
  expect(pub.stored).toBe(N);
  const sink = startSink(iso);
  let seed = 99;
  const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const worker = kills > 0 ? await killRepeatedly(iso, kills, { minMs: 2500, maxMs: 4500, rnd }) : startWorker(iso);
  await worker.waitFor(/http listening/, 60_000);
  // A liveness bound, not a speed check: what fails is a stall (no trade applied for 2 minutes).
  // Both runs take ~40 s with both cores kept busy by two spin loops.
  const t0 = Date.now();
  try {
    await waitForCount(`all ${N} trades applied`, () => appliedSoFar(iso, symbols), N, { stallMs: 120_000, maxMs: 600_000 });
  } catch (err) {
    throw new Error(`${(err as Error).message}\nworker log (tail):\n${worker.output().slice(-6000)}`);
  }
  console.info(`sigkill test: ${kills} kills, all ${N} trades applied in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await waitFor('worker checkpoint at the end of MD_TRADES', () => workerCaughtUp(iso, symbols), 60_000);
  worker.child.kill('SIGTERM');
  expect(await worker.exited, worker.output()).toBe(0);
  await waitFor('sink drained', () => sinkDrained(iso), 120_000);
  sink.child.kill('SIGTERM');
  expect(await sink.exited, sink.output()).toBe(0);
  return finalResult(iso, symbols);
}

describe(`exactly-once: ${N} trades, ${SYMBOLS} symbols, worker SIGKILLed ${KILLS} times`, () => {
  const clean = isolated();
  const killed = isolated();
  afterAll(async () => {
    await clean.cleanup();
    await killed.cleanup();
  });

  it('final candles in PostgreSQL and state in Redis equal a run without kills, field by field', async () => {
    const expected = await run(clean, 0);
    // Trades are 20 ms apart: every symbol has (nearly) every minute of the span, closed.
    expect(expected.candles.length).toBeGreaterThan(SYMBOLS * Math.floor((N * 20) / 60_000 - 2));
    expect(expected.states.every((s) => s !== null)).toBe(true);
    const actual = await run(killed, KILLS);
    expect(actual.candles.length).toBe(expected.candles.length);
    expect(actual.candles).toEqual(expected.candles);
    expect(actual.states).toEqual(expected.states);
  }, 1_500_000);
});
