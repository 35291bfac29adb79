import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { Redis } from 'ioredis';
import { connectNats, type NatsHandles } from '../../runtime/nats/index.js';
import { connectRedis } from '../../runtime/redis.js';
import { STREAMS } from '../../schemas/subjects.js';
import { tradeMsgId, type Trade } from '../../schemas/trade.js';
import { fetchMetrics, metricSum, readStream } from '../actors/feed/helpers.js';
import { appliedSoFar, sinkDrained, startSink, startWorker, waitFor, workerCaughtUp } from '../exactly-once/pipeline.js';
import { isolated, spawnCli, type CliProcess, type Isolated } from '../harness.js';
import { until } from '../support/nats-server.js';
import { candleRows, referenceCandles } from '../worker/reference.js';
import { recordRow, type ChaosRow } from './table.js';

/**
 * The chaos suite's rig (issue 9 item 8): a worker and a sink as `tickwork` child processes on
 * the NATS (standalone or cluster) and Redis the row breaks, fed by `tickwork replay` or by
 * `tickwork feed` from a simulator. After the fault every row settles the same way: all trades
 * applied, the worker's checkpoint at the end of MD_TRADES, the sink drained; then the candles in
 * PostgreSQL must equal the window kernel's over the stored trades, each once, in id order (what
 * a fault-free run computes), nothing lost or counted twice, the worker never restarted, its
 * /readyz back by itself, its peak RSS under the bound.
 */
export const SHORT = process.env.TICKWORK_CHAOS_SHORT === '1';
/** The worker's memory limit in deploy/k8s/base/worker.yaml. */
export const RSS_BOUND_MIB = 768;
const TIMEFRAMES = ['1m', '5m', '1h'] as const;

export interface Stack {
  iso: Isolated;
  worker: CliProcess;
  workerPort: number;
  sink: CliProcess;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A namespace whose processes and helpers use `natsUrl` (and `redisUrl` when given) instead of
 * the shared servers; then migrate + sink, and a worker (JSON logs, to read its port).
 */
export async function startStack(natsUrl: string, env: NodeJS.ProcessEnv = {}, redisUrl?: string): Promise<Stack> {
  const base = isolated();
  Object.assign(base.env, { NATS_URL: natsUrl, ...(redisUrl ? { REDIS_URL: redisUrl } : {}), ...env });
  let nats: Promise<NatsHandles> | null = null;
  let redis: Redis | null = null;
  const iso: Isolated = {
    ...base,
    nats: () => (nats ??= connectNats(natsUrl, `chaos-${base.id}`)),
    // A Redis the row kills: its connection errors are expected meanwhile (ioredis reconnects).
    redis: () => (redisUrl ? (redis ??= connectRedis(redisUrl, `chaos-${base.id}`).on('error', () => undefined)) : base.redis()),
    async cleanup() {
      if (nats) await (await nats).nc.close().catch(() => undefined);
      redis?.disconnect();
      await base.cleanup();
    },
  };
  const sink = startSink(iso);
  const worker = startWorker(iso, { LOG_FORMAT: 'json' });
  const listening = await worker.waitFor(/"msg":"http listening"/, 60_000);
  const workerPort = (JSON.parse(listening) as { port: number }).port;
  await sink.waitFor(/http listening/, 60_000);
  return { iso, worker, workerPort, sink };
}

/** Ms from `since` until the worker's /readyz answers 200. */
export async function readyAfter(stack: Stack, since: number): Promise<number> {
  await until(
    'the worker ready again',
    async () => {
      const res = await fetch(`http://127.0.0.1:${stack.workerPort}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
      return res?.status === 200;
    },
    180_000,
    100,
  );
  return performance.now() - since;
}

/** `tickwork replay` of an aggTrades file at 100x into the stack's NATS. */
export function replay(stack: Stack, file: string, symbol: string): CliProcess {
  return spawnCli(['replay', '--file', file, '--format', 'binance-aggtrades-csv', '--venue', 'binance', '--symbol', symbol, '--speed', '100x'], {
    ...stack.iso.env,
    LOG_LEVEL: 'info',
    HTTP_PORT: '0',
  });
}

/** Runs a replay to its end as a user would: one that says it lost trades is run again (at most twice). Returns the exit codes. */
export async function replayToEnd(first: CliProcess, again: () => CliProcess): Promise<number[]> {
  const codes = [(await first.exited) as number];
  let out = first.output();
  while (codes.at(-1) !== 0 && codes.length < 3) {
    expect(out, 'a replay that failed says why').toMatch(/tickwork: replay incomplete/);
    const next = again();
    codes.push((await next.exited) as number);
    out = next.output();
  }
  expect(codes.at(-1), out.slice(-3000)).toBe(0);
  return codes;
}

/** The worker's peak resident set so far (VmHWM), MiB. */
export function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** Every trade in MD_TRADES once (first copy by Nats-Msg-Id), per symbol in id order: the input of a fault-free run. */
export async function storedTrades(stack: Stack): Promise<Trade[]> {
  const msgs = await readStream(await stack.iso.nats(), stack.iso.ns.stream(STREAMS.trades));
  const seen = new Map<string, Trade>();
  for (const m of msgs) {
    const t = m.json<Trade>();
    const id = tradeMsgId(t);
    if (!seen.has(id)) seen.set(id, t);
  }
  return [...seen.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : Number(a.id) - Number(b.id)));
}

/**
 * After the fault: waits for the worker to apply `tradesIn` trades and checkpoint, reads its
 * counters, stops worker and sink gracefully, compares the candles with the reference, records
 * the row and asserts it.
 */
export async function settle(stack: Stack, opts: { fault: string; symbols: string[]; tradesIn: number; timeToReadyMs: number }): Promise<ChaosRow> {
  const { iso, worker, sink } = stack;
  const applied = () => appliedSoFar(iso, opts.symbols);
  await waitFor(`${opts.tradesIn} trades applied`, async () => (await applied()) >= opts.tradesIn, 300_000).catch(async (err: Error) => {
    throw new Error(`${err.message} (applied ${await applied()}); worker:\n${worker.output().slice(-3000)}`);
  });
  await waitFor('the worker checkpoint at the end of MD_TRADES', () => workerCaughtUp(iso, opts.symbols), 120_000);
  expect(worker.child.exitCode, `the worker kept running through the fault:\n${worker.output().slice(-3000)}`).toBeNull();
  const metrics = await fetchMetrics(stack.workerPort);
  const duplicates = metricSum(metrics, 'tickwork_symbol_duplicates_skipped_total');
  const peak = peakRssMiB(worker.child.pid!);
  const appliedN = await applied();
  worker.child.kill('SIGTERM');
  expect(await worker.exited, worker.output().slice(-3000)).toBe(0);
  await waitFor('sink drained', () => sinkDrained(iso), 180_000);
  sink.child.kill('SIGTERM');
  expect(await sink.exited, sink.output().slice(-3000)).toBe(0);

  const trades = await storedTrades(stack);
  const reference = referenceCandles(trades, [...TIMEFRAMES]);
  const actual = await candleRows(iso);
  const row: ChaosRow = {
    fault: opts.fault,
    tradesIn: opts.tradesIn,
    stored: trades.length,
    applied: appliedN,
    duplicates,
    lost: Math.max(0, opts.tradesIn - appliedN),
    doubleCounted: Math.max(0, appliedN - trades.length),
    candles: actual.length,
    candlesEqual: actual.length === reference.length && actual.every((c, i) => c === reference[i]),
    timeToReadyMs: Math.round(opts.timeToReadyMs),
    peakRssMiB: peak,
  };
  recordRow(row);
  expect(trades.length, 'MD_TRADES holds every trade the source emitted').toBe(opts.tradesIn);
  expect(appliedN).toBe(opts.tradesIn);
  expect(reference.length).toBeGreaterThan(0);
  expect(actual).toEqual(reference);
  expect(peak).toBeLessThan(RSS_BOUND_MIB);
  return row;
}
