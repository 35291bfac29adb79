/**
 * Memory: RSS of a `tickwork worker` process holding 1,000 symbols with every timeframe after a
 * warm-up. Each symbol gets trades spread over the last `spanMs` of event time, so every series
 * has an open bar, the 1s series a full correction history, the VWAP rings are allocated and
 * every symbol has a snapshot; then the RSS is read from /proc a few seconds after the burst (its
 * garbage still in V8's old space: the target's figure) and again once V8's memory reducer has
 * collected it, if it does within `idleMaxMs` (it runs a full GC some 10–30 s after allocation
 * slows; the worker still closes each symbol's empty 1s bar every second, which can hold it off).
 */
import { inScope, spawnWorker, type WorkerEnvOverrides } from './env.js';
import { TradeGen } from './load.js';
import { appliedTotals } from './observe.js';
import { rawPublish } from './raw-publish.js';
import { figure, sleep, waitUntil, type Figure } from './stats.js';
import { TIMEFRAMES } from '../schemas/common.js';
import { tradeSubject } from '../schemas/subjects.js';
import { tradeMsgId } from '../schemas/trade.js';

export interface MemoryBenchOptions {
  symbols: number;
  tradesPerSymbol: number;
  spanMs: number;
  runs: number;
  /** Idle time after the last snapshot before sampling. */
  settleMs: number;
  /** Longest wait for V8's idle GC after that. */
  idleMaxMs: number;
}

export interface MemoryBenchResult {
  symbols: number;
  trades: number;
  timeframes: string;
  /** Resident set size, MB (10^6 bytes). */
  rssMB: Figure;
  /** V8 heap in use (from the worker's /metrics), MB. */
  heapUsedMB: Figure;
  /** RSS once V8's idle GC ran (or `idleMaxMs` passed), MB. */
  idleRssMB: Figure;
  /** V8 heap in use then: about the live set, MB. */
  idleHeapUsedMB: Figure;
  /** Seconds waited for the idle GC after the first sample (until seen, else `idleMaxMs`). */
  idleGcS: Figure;
  /** Runs in which it was seen within `idleMaxMs`. */
  idleGcRuns: number;
  /** The same worker's RSS before any symbol existed, MB. */
  baselineRssMB: Figure;
  workerEnv: WorkerEnvOverrides;
}

/** Event-time warm-up into the past: wall-clock ticks must not close bars before their trades arrive. */
/** One worker owning every symbol (static shard 0/1): no lease to wait for; the group is measured in the scale-out section. */
export const MEMORY_WORKER_ENV: WorkerEnvOverrides = { TICKWORK_GRACE_MS: '600000', TICKWORK_SHARD: '0/1' };

/** Decimal megabytes, as the target states them. */
const MB = 1_000_000;

async function heapUsed(port: number | null): Promise<number> {
  if (port === null) return Number.NaN;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = /^tickwork_nodejs_heap_size_used_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

export async function runMemoryBench(opts: MemoryBenchOptions): Promise<MemoryBenchResult> {
  const rss: number[] = [];
  const heap: number[] = [];
  const base: number[] = [];
  const idleRss: number[] = [];
  const idleHeap: number[] = [];
  const idleGc: number[] = [];
  let idleGcSeen = 0;
  const trades = opts.symbols * opts.tradesPerSymbol;
  for (let r = 0; r < opts.runs; r++) {
    await inScope('mem', async ({ nats, ns, redis, env }) => {
      const worker = spawnWorker(env, MEMORY_WORKER_ENV);
      try {
        await worker.ready;
        await sleep(500);
        base.push(worker.rss() / MB);
        const gen = new TradeGen(opts.symbols);
        const start = Date.now() - opts.spanMs;
        const enc = new TextEncoder();
        const msgs = [];
        for (let k = 0; k < opts.tradesPerSymbol; k++) {
          const ts = start + Math.floor((k * opts.spanMs) / opts.tradesPerSymbol);
          for (let s = 0; s < opts.symbols; s++) {
            const { trade } = gen.trade(s, ts);
            msgs.push({ subject: ns.subject(tradeSubject(trade.venue, trade.symbol)), data: enc.encode(JSON.stringify(trade)), msgId: tradeMsgId(trade) });
          }
        }
        await rawPublish(nats.nc, msgs);
        await waitUntil(
          'the warm-up applied',
          async () => ((await appliedTotals(redis, ns, 'binance', gen.symbols)).applied === trades ? true : undefined),
          300_000,
          500,
        );
        await waitUntil(
          'a snapshot per symbol',
          async () => ((await redis.keys(ns.key('snap:*'))).length === opts.symbols ? true : undefined),
          60_000,
          250,
        );
        await sleep(opts.settleMs);
        const rssNow = async () => {
          const samples: number[] = [];
          for (let i = 0; i < 5; i++) {
            samples.push(worker.rss() / MB);
            await sleep(200);
          }
          return figure(samples).median;
        };
        rss.push(await rssNow());
        const afterBurst = (await heapUsed(worker.httpPort())) / MB;
        heap.push(afterBurst);
        // V8's memory reducer: a full GC once allocation has been slow a while; seen as the heap
        // in use falling by a quarter or more.
        const t0 = Date.now();
        let collected = false;
        while (!collected && Date.now() - t0 < opts.idleMaxMs) {
          await sleep(1000);
          collected = (await heapUsed(worker.httpPort())) / MB <= afterBurst * 0.75;
        }
        idleGc.push((Date.now() - t0) / 1000);
        if (collected) idleGcSeen++;
        await sleep(2000);
        idleRss.push(await rssNow());
        idleHeap.push((await heapUsed(worker.httpPort())) / MB);
        // Nothing to keep: the namespace is deleted next, so no graceful drain.
      } finally {
        await worker.kill();
      }
    });
  }
  return {
    symbols: opts.symbols,
    trades,
    timeframes: TIMEFRAMES.join(' '),
    rssMB: figure(rss),
    heapUsedMB: figure(heap),
    idleRssMB: figure(idleRss),
    idleHeapUsedMB: figure(idleHeap),
    idleGcS: figure(idleGc),
    idleGcRuns: idleGcSeen,
    baselineRssMB: figure(base),
    workerEnv: MEMORY_WORKER_ENV,
  };
}
