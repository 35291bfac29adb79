/**
 * Latency: a steady trade rate over 100 symbols into MD_TRADES (raw publisher: the feeds'
 * PipelinedPublisher cannot hold 5,000/s on a loaded 2-core machine, see the JetStream and E2E
 * figures, and its queueing would swamp the pipeline's own latency), a `tickwork worker` child
 * process, and an independent reader (StateWatcher: Redis CLIENT TRACKING push + GET on its own
 * connections). A trade's latency is from the instant its `recvTs` was stamped (taken with a
 * sub-millisecond clock at the same moment) until the reader holds a live state of its symbol
 * whose `tradesApplied` includes it; that state carries the open candles the trade updated.
 */
import { inScope, spawnWorker, type WorkerEnvOverrides, type WorkerProcess } from './env.js';
import { pacedRaw, TradeGen, type GeneratedTrade } from './load.js';
import { getRoundTripMs, StateWatcher } from './observe.js';
import { bucketQuantileMs, histogramDelta, meanMs, parseHistogram } from './histogram.js';
import { figure, preciseNow, quantile, waitUntil, type Figure } from './stats.js';

export interface LatencyBenchOptions {
  rate: number;
  durationMs: number;
  /** Unmeasured lead-in at the same rate (actors created, JIT warm). */
  warmupMs: number;
  runs: number;
  symbols?: number;
  profileDir?: string;
  /** Measure the floor instead: bench/floor-relay.ts (consumer → one Redis SET per message) in place of the worker. */
  floor?: boolean;
}

export interface LatencyBenchResult {
  rate: number;
  durationMs: number;
  symbols: number;
  p50: Figure;
  p99: Figure;
  p999: Figure;
  max: Figure;
  /** Trades/s actually sent in the measured window (shows whether the publisher kept the pace). */
  achievedRate: Figure;
  /** Share of one core the worker process used during the measured window (%). */
  workerCpuPct: Figure;
  samples: number;
  /** Median Redis GET round trip of the reader: its share of every sample (ms). */
  readerRttMs: number;
  /** Percentile curve of the run with the median p99: [percentile, ms], for the chart. */
  curve: [number, number][];
  workerEnv: WorkerEnvOverrides;
  /** Where the time goes, from the measured window of the last run (worker runs only). */
  budget?: LatencyBudget;
}

/**
 * Per-stage figures around one trade's path, each measured on its own: the publisher's PubAck
 * round trip (publish → stored), the worker's own histograms over the measured window
 * (`tickwork_e2e_latency_seconds`: recvTs → its live state written in Redis, as the worker sees it;
 * the live-state pipeline; a symbol actor's handling of one message), and the reader's GET.
 * Bucketed figures are upper bounds of their histogram bucket.
 */
export interface LatencyBudget {
  pubAckP50Ms: number;
  pubAckP99Ms: number;
  workerRecvToRedisMeanMs: number;
  workerRecvToRedisP50LeMs: number;
  workerRecvToRedisP99LeMs: number;
  flushMeanMs: number;
  flushP99LeMs: number;
  flushesPerSec: number;
  actorMessageMeanMs: number;
  actorMessagesPerSec: number;
}

/** One worker owning every symbol (static shard 0/1): no lease to wait for; the group is measured in the scale-out section. */
export const LATENCY_WORKER_ENV: WorkerEnvOverrides = { TICKWORK_SHARD: '0/1' };

export async function runLatencyBench(opts: LatencyBenchOptions): Promise<LatencyBenchResult> {
  const symbols = opts.symbols ?? 100;
  const p50: number[] = [];
  const p99: number[] = [];
  const p999: number[] = [];
  const max: number[] = [];
  const achieved: number[] = [];
  const cpuPct: number[] = [];
  const runs: Float64Array[] = [];
  let readerRtt = Number.NaN;
  let sampleCount = 0;
  let budget: LatencyBudget | undefined;
  await inScope('lat', async (scope) => {
    const { nats, ns } = scope;
    const worker = opts.floor ? spawnWorker(scope.env, {}, undefined, ['dist/bench/floor-relay.js']) : spawnWorker(scope.env, LATENCY_WORKER_ENV, opts.profileDir);
    const conns = { sub: scope.redisConn('sub'), tracker: scope.redisConn('tracker'), reader: scope.redisConn('reader') };
    try {
      await worker.ready;
      for (let r = 0; r < opts.runs; r++) {
        // Fresh symbols per run: every run starts its actors, as after a deploy.
        const gen = new TradeGen(symbols, r * symbols);
        // Per symbol: stamp of its k-th trade (k = tradesApplied after it) and the next unseen k.
        const stamps: number[][] = gen.symbols.map(() => []);
        const nextK = gen.symbols.map(() => 1);
        const samples: number[] = [];
        let measureFrom = Infinity;
        const watcher = await StateWatcher.start(conns, ns, 'binance', gen.symbols, ({ s, tradesApplied, at }) => {
          const st = stamps[s]!;
          for (let k = nextK[s]!; k <= tradesApplied && k <= st.length; k++) {
            const stamped = st[k - 1]!;
            if (stamped >= measureFrom) samples.push(at - stamped);
            nextK[s] = k + 1;
          }
        });
        try {
          const onSent = (t: GeneratedTrade) => stamps[t.s]!.push(t.stampedAt);
          await pacedRaw(nats.nc, ns, gen, opts.rate, opts.warmupMs, { onSent });
          const before = opts.floor ? '' : await metricsText(worker);
          measureFrom = preciseNow();
          const cpu0 = worker.cpuSeconds();
          const sentAt: number[] = [];
          const acks: number[] = [];
          const sent = await pacedRaw(nats.nc, ns, gen, opts.rate, opts.durationMs, {
            onSent: (t, tag) => {
              onSent(t);
              sentAt[tag] = preciseNow();
            },
            onAck: (tag) => acks.push(preciseNow() - sentAt[tag]!),
          });
          const window = (preciseNow() - measureFrom) / 1000;
          cpuPct.push((100 * (worker.cpuSeconds() - cpu0)) / window);
          if (!opts.floor) budget = stageBudget(before, await metricsText(worker), acks, window);
          achieved.push(sent / (opts.durationMs / 1000));
          await waitUntil(
            'every trade visible to the reader',
            () => (stamps.every((st, s) => nextK[s]! > st.length) ? true : undefined),
            60_000,
            20,
          );
          readerRtt = await getRoundTripMs(conns.reader, ns.key(`state:binance:${gen.symbols[0]}`));
        } finally {
          await watcher.stop();
        }
        const sorted = Float64Array.from(samples).sort();
        if (sorted.length === 0) throw new Error('latency bench: no samples');
        sampleCount = sorted.length;
        runs.push(sorted);
        p50.push(quantile(sorted, 0.5));
        p99.push(quantile(sorted, 0.99));
        p999.push(quantile(sorted, 0.999));
        max.push(sorted[sorted.length - 1]!);
      }
      await worker.stop();
    } finally {
      await worker.kill();
    }
  });
  const byP99 = p99.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const medianRun = runs[byP99[byP99.length >> 1]![1]]!;
  return {
    rate: opts.rate,
    durationMs: opts.durationMs,
    symbols,
    p50: figure(p50),
    p99: figure(p99),
    p999: figure(p999),
    max: figure(max),
    achievedRate: figure(achieved),
    workerCpuPct: figure(cpuPct),
    samples: sampleCount,
    readerRttMs: readerRtt,
    curve: percentileCurve(medianRun),
    workerEnv: opts.floor ? {} : LATENCY_WORKER_ENV,
    ...(budget ? { budget } : {}),
  };
}

async function metricsText(worker: WorkerProcess): Promise<string> {
  // The worker listens once its actors are running: moments after it logs that it consumes.
  const port = await waitUntil('the worker HTTP port', () => worker.httpPort() ?? undefined, 30_000);
  return (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
}

function stageBudget(before: string, after: string, acks: number[], windowSecs: number): LatencyBudget {
  const d = (name: string, labels = '') => histogramDelta(parseHistogram(after, name, labels), parseHistogram(before, name, labels));
  const e2e = d('tickwork_e2e_latency_seconds');
  const flush = d('tickwork_worker_state_flush_seconds');
  const actor = d('tickwork_actor_message_seconds', 'kind="symbol"');
  const sorted = Float64Array.from(acks).sort();
  return {
    pubAckP50Ms: quantile(sorted, 0.5),
    pubAckP99Ms: quantile(sorted, 0.99),
    workerRecvToRedisMeanMs: meanMs(e2e),
    workerRecvToRedisP50LeMs: bucketQuantileMs(e2e, 0.5),
    workerRecvToRedisP99LeMs: bucketQuantileMs(e2e, 0.99),
    flushMeanMs: meanMs(flush),
    flushP99LeMs: bucketQuantileMs(flush, 0.99),
    flushesPerSec: flush.count / windowSecs,
    actorMessageMeanMs: meanMs(actor),
    actorMessagesPerSec: actor.count / windowSecs,
  };
}

/** Percentiles spaced evenly in "nines" (50, 90, 99, 99.9 …) up to the maximum. */
function percentileCurve(sorted: Float64Array): [number, number][] {
  const out: [number, number][] = [];
  const nines = Math.log10(sorted.length);
  for (let x = 0; x <= nines; x += 0.05) {
    const p = 1 - 10 ** -x;
    out.push([100 * p, quantile(sorted, p)]);
  }
  out.push([100, sorted[sorted.length - 1]!]);
  return out;
}
