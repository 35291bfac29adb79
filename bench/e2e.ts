/**
 * End to end: synthetic trades for 100 symbols published into MD_TRADES as a feed publishes them,
 * consumed by a `tickwork worker` child process (symbol actors → windows → Redis live state and
 * snapshots → closed candles into MD_CANDLES). Throughput is trades over the time from the first
 * publish to the moment the last trade's live state was written (its `updatedAt`).
 *
 * One worker serves all runs; each run uses 100 fresh symbols (new actors, as on a fresh start).
 * The worker-drain figure pauses the worker (SIGSTOP), stores a backlog with the raw publisher,
 * resumes it (SIGCONT) and times how fast it works the backlog off: the worker alone.
 */
import { STREAMS } from '../schemas/subjects.js';
import { inScope, spawnWorker, type WorkerEnvOverrides } from './env.js';
import { TradeGen, TradeLoad } from './load.js';
import { appliedTotals } from './observe.js';
import { rawPublish } from './raw-publish.js';
import { figure, preciseNow, waitUntil, type Figure } from './stats.js';

export interface E2eBenchOptions {
  trades: number;
  /** Trades in the worker-drain measurement (default: `trades`). */
  drainTrades?: number;
  runs: number;
  symbols?: number;
  profileDir?: string;
}

export interface E2eBenchResult {
  trades: number;
  drainTrades: number;
  symbols: number;
  /** Trades/s from first publish until the last live state holding them was written. */
  throughput: Figure;
  /** Trades/s of the publishing side alone in the same runs (first publish to last PubAck). */
  publish: Figure;
  /** Trades/s of the worker alone, working off a stored backlog (see above). */
  workerDrain: Figure;
  /** The same, per CPU-second the worker process used (all its threads): its per-core figure. */
  workerDrainPerCpuSec: Figure;
  /** Closed candles in MD_CANDLES after all runs, and live states / snapshots per symbol seen. */
  closedCandles: number;
  snapshots: number;
  workerEnv: WorkerEnvOverrides;
}

/**
 * Windows close on event time here, not on the wall clock: a worker behind a burst would
 * otherwise close bars before their trades arrive and turn them into late corrections.
 */
/** One worker owning every symbol (static shard 0/1): no lease to wait for; the group is measured in the scale-out section. */
export const E2E_WORKER_ENV: WorkerEnvOverrides = { TICKWORK_GRACE_MS: '60000', TICKWORK_SHARD: '0/1' };

/**
 * Trade times of a run spread evenly over the last 10 s (event time), whatever the run's speed,
 * so every symbol closes about ten 1s candles per run; within the grace period above.
 */
const EVENT_SPAN_MS = 10_000;
const spreadTs = (n: number) => {
  const start = Date.now() - EVENT_SPAN_MS;
  return (i: number) => start + Math.floor((i * EVENT_SPAN_MS) / n);
};

export async function runE2eBench(opts: E2eBenchOptions): Promise<E2eBenchResult> {
  const symbols = opts.symbols ?? 100;
  const drainTrades = opts.drainTrades ?? opts.trades;
  const rates: number[] = [];
  const pubRates: number[] = [];
  const drains: number[] = [];
  const drainsPerCpu: number[] = [];
  return inScope('e2e', async ({ nats, ns, redis, env }) => {
    const worker = spawnWorker(env, E2E_WORKER_ENV, opts.profileDir);
    let nextSymbol = 0;
    const allApplied = async (syms: string[], n: number) =>
      waitUntil(
        `${n} trades applied`,
        async () => {
          const t = await appliedTotals(redis, ns, 'binance', syms);
          if (t.applied > n) throw new Error(`e2e bench: ${t.applied} trades applied, only ${n} sent`);
          return t.applied === n ? t : undefined;
        },
        300_000,
        100,
      );
    try {
      await worker.ready;
      for (let r = 0; r < opts.runs; r++) {
        const load = new TradeLoad(nats, ns, symbols, nextSymbol);
        nextSymbol += symbols;
        const t0 = preciseNow();
        await load.burst(opts.trades, spreadTs(opts.trades));
        const published = preciseNow();
        const done = await allApplied(load.symbols, opts.trades);
        rates.push(opts.trades / ((done.newest - t0) / 1000));
        pubRates.push(opts.trades / ((published - t0) / 1000));

        const gen = new TradeGen(symbols, nextSymbol);
        nextSymbol += symbols;
        const backlog = gen.messages(ns, drainTrades, spreadTs(drainTrades));
        worker.child.kill('SIGSTOP');
        try {
          await rawPublish(nats.nc, backlog);
        } finally {
          worker.child.kill('SIGCONT');
        }
        const resumed = preciseNow();
        const cpu0 = worker.cpuSeconds();
        const drained = await allApplied(gen.symbols, drainTrades);
        const cpu = worker.cpuSeconds() - cpu0;
        drains.push(drainTrades / ((drained.newest - resumed) / 1000));
        drainsPerCpu.push(drainTrades / Math.max(cpu, 0.01));
      }
      // Snapshots follow the live state within the snapshot interval; every symbol must get one.
      const snapshots = await waitUntil(
        'a snapshot per symbol',
        async () => {
          const keys = await redis.keys(ns.key('snap:*'));
          return keys.length === nextSymbol ? keys.length : undefined;
        },
        30_000,
        200,
      );
      await worker.stop();
      const info = await nats.jsm.streams.info(ns.stream(STREAMS.candles));
      if (info.state.messages === 0) throw new Error('e2e bench: no closed candle reached MD_CANDLES');
      return {
        trades: opts.trades,
        drainTrades,
        symbols,
        throughput: figure(rates),
        publish: figure(pubRates),
        workerDrain: figure(drains),
        workerDrainPerCpuSec: figure(drainsPerCpu),
        closedCandles: info.state.messages,
        snapshots,
        workerEnv: E2E_WORKER_ENV,
      };
    } finally {
      await worker.kill();
    }
  });
}
