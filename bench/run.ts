/**
 * `tickwork bench`: runs the benchmark suite and writes the report (Markdown + JSON + PNG charts)
 * to bench/results/. Each bench works in its own namespace on the real NATS/Redis servers and
 * removes its streams and keys afterwards.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { runBackfillBench, type BackfillBenchResult } from './backfill.js';
import { runBookBench } from './book.js';
import { runBookLatencyBench, type BookLatencyResult } from './book-latency.js';
import { barChart, percentileChart, svgToPng, type BarRow } from './chart.js';
import { runE2eBench, type E2eBenchResult } from './e2e.js';
import { repoRoot } from './env.js';
import { runJetStreamBench, type JetStreamBenchResult } from './jetstream.js';
import { runKernelBench } from './kernel.js';
import { runLatencyBench, type LatencyBenchResult } from './latency.js';
import { machineInfo, versions, type MachineInfo, type Versions } from './machine.js';
import { runMemoryBench, type MemoryBenchResult } from './memory.js';
import { runNormalizerBench } from './normalizer.js';
import { runPolarsBench, type PolarsBenchResult } from './polars.js';
import { summarizeProfile, type ProfileSummary } from './profile.js';
import { runRecoveryBench, type RecoveryBenchResult } from './recovery.js';
import { runScaleOutBench, type ScaleOutResult } from './scaleout.js';
import { runSymbolCostBench, type SymbolCostResult } from './symbols.js';
import { renderMarkdown, summaryTable } from './report.js';
import { figure, type Figure } from './stats.js';

import { BENCHES, type BenchName } from './names.js';

export { BENCHES, type BenchName } from './names.js';

export interface BenchOptions {
  /**
   * Minimal sizes, two runs and two groups of benches overlapping: the whole suite in well under
   * a minute on an idle machine. A harness check, not a measurement.
   */
  quick?: boolean;
  only?: BenchName[];
  /** Default bench/results/ in the repository. */
  outDir?: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Run the worker processes of the e2e and latency benches under `--cpu-prof` and summarize the profiles in the report. */
  profile?: boolean;
}

/** Sizes of one mode; the report prints them. */
export interface BenchSizes {
  runs: number;
  jetstreamMessages: number;
  e2eTrades: number;
  e2eDrainTrades: number;
  latencyRate: number;
  latencyMs: number;
  latencyWarmupMs: number;
  latencyHighRate: number;
  latencyHighMs: number;
  kernelTrades: number;
  polars100Trades: number;
  polars1000Trades: number;
  normalizerFrames: number;
  memorySymbols: number;
  memoryTradesPerSymbol: number;
  memorySpanMs: number;
  memorySettleMs: number;
  memoryIdleMaxMs: number;
  recoveryRate: number;
  recoveryBeforeKillMs: number;
  bookUpdates: number;
  bookLatencyRate: number;
  bookLatencySymbols: number;
  bookLatencySeconds: number;
  bookLatencyWarmupSeconds: number;
  backfillTrades: number;
  backfillSpanMs: number;
  scaleoutWorkers: number[];
  scaleoutSymbols: number;
  scaleoutTrades: number;
  scaleoutRuns: number;
  takeoverRuns: number;
  takeoverRate: number;
  symbolCounts: number[];
  symbolTradesPerSymbol: number;
  symbolMinTrades: number;
}

export const SIZES: Record<'full' | 'quick', BenchSizes> = {
  full: {
    runs: 3,
    jetstreamMessages: 30_000,
    e2eTrades: 20_000,
    e2eDrainTrades: 100_000,
    latencyRate: 5_000,
    latencyMs: 60_000,
    latencyWarmupMs: 3_000,
    latencyHighRate: 20_000,
    latencyHighMs: 20_000,
    kernelTrades: 1_000_000,
    polars100Trades: 20_000,
    polars1000Trades: 100_000,
    normalizerFrames: 1_000_000,
    memorySymbols: 1_000,
    memoryTradesPerSymbol: 30,
    memorySpanMs: 30_000,
    memorySettleMs: 3_000,
    memoryIdleMaxMs: 60_000,
    recoveryRate: 5_000,
    recoveryBeforeKillMs: 5_000,
    bookUpdates: 2_000_000,
    bookLatencyRate: 2_000,
    bookLatencySymbols: 50,
    bookLatencySeconds: 20,
    bookLatencyWarmupSeconds: 5,
    backfillTrades: 2_000_000,
    backfillSpanMs: 86_400_000,
    scaleoutWorkers: [1, 2, 4],
    scaleoutSymbols: 100,
    scaleoutTrades: 100_000,
    scaleoutRuns: 1,
    takeoverRuns: 3,
    takeoverRate: 1_000,
    symbolCounts: [10, 100, 1_000, 10_000],
    symbolTradesPerSymbol: 20,
    symbolMinTrades: 100_000,
  },
  // Minimal sizes: each bench runs end to end (two runs, so every figure has a spread) in well
  // under a minute on an idle 2-core machine, and within the harness test's budget at load ~12.
  quick: {
    runs: 2,
    jetstreamMessages: 1_000,
    e2eTrades: 500,
    e2eDrainTrades: 1_000,
    latencyRate: 1_000,
    latencyMs: 800,
    latencyWarmupMs: 200,
    latencyHighRate: 2_000,
    latencyHighMs: 500,
    kernelTrades: 20_000,
    polars100Trades: 1_000,
    polars1000Trades: 5_000,
    normalizerFrames: 20_000,
    memorySymbols: 40,
    memoryTradesPerSymbol: 2,
    memorySpanMs: 1_000,
    memorySettleMs: 100,
    memoryIdleMaxMs: 1_000,
    recoveryRate: 1_000,
    recoveryBeforeKillMs: 500,
    bookUpdates: 50_000,
    bookLatencyRate: 200,
    bookLatencySymbols: 10,
    bookLatencySeconds: 1,
    bookLatencyWarmupSeconds: 0.5,
    backfillTrades: 20_000,
    backfillSpanMs: 3_600_000,
    scaleoutWorkers: [1, 2],
    scaleoutSymbols: 20,
    scaleoutTrades: 2_000,
    scaleoutRuns: 1,
    takeoverRuns: 2,
    takeoverRate: 200,
    symbolCounts: [10, 100],
    symbolTradesPerSymbol: 2,
    symbolMinTrades: 1_000,
  },
};

export interface KernelSection {
  trades: number;
  symbols: number;
  tradesPerSec: Figure;
  tradesPerCpuSec: Figure;
  polars100: PolarsBenchResult;
  polars1000: PolarsBenchResult;
  /** Kernel ÷ Polars, per CPU-second (medians). */
  ratio100: number;
  ratio1000: number;
}

export interface NormalizerSection {
  kind: string;
  frames: number;
  framesPerSec: Figure;
  framesPerCpuSec: Figure;
}

export interface BookSection {
  updates: number;
  frames: number;
  symbols: number;
  depth: number;
  /** Mean levels a side at the end of the last run. */
  meanLevels: number;
  levelUpdatesPerSec: Figure;
  levelUpdatesPerCpuSec: Figure;
}

export interface BookLatencySection {
  /** Frames/s asked of the simulator, and over how many symbols. */
  rate: number;
  symbols: number;
  seconds: number;
  framesPerSec: Figure;
  p50: Figure;
  p99: Figure;
  p999: Figure;
  max: Figure;
  cpuUsPerFrame: Figure;
  loopDelayP99Ms: Figure;
  /** Frames measured in the last run. */
  frames: number;
}

export interface TargetRow {
  target: string;
  measured: string;
  value: number;
  threshold: number;
  met: boolean;
}

export interface BenchReport {
  startedAt: string;
  durationMs: number;
  mode: 'full' | 'quick';
  sizes: BenchSizes;
  machine: MachineInfo;
  versions: Versions;
  jetstream?: JetStreamBenchResult;
  e2e?: E2eBenchResult & { ratioToCeiling: number | null };
  latency?: Omit<LatencyBenchResult, 'curve'>;
  /** The same measurement at 20,000 trades/s. */
  latencyHigh?: Omit<LatencyBenchResult, 'curve'>;
  /** The same measurement through the floor relay (consumer → one Redis SET per message) at the latency bench's rate. */
  floor?: Omit<LatencyBenchResult, 'curve'>;
  kernel?: KernelSection;
  normalizer?: NormalizerSection;
  memory?: MemoryBenchResult;
  recovery?: RecoveryBenchResult;
  book?: BookSection;
  bookLatency?: BookLatencySection;
  backfill?: BackfillBenchResult;
  scaleout?: ScaleOutResult;
  symbols?: SymbolCostResult;
  profiles?: { file: string; summary: ProfileSummary }[];
  targets: TargetRow[];
  /** Benches that failed, with their error (their sections are absent). */
  errors?: Partial<Record<BenchName, string>>;
  files: { markdown: string; json: string; charts: string[] };
}

export async function runBench(opts: BenchOptions = {}): Promise<BenchReport> {
  const mode = opts.quick ? 'quick' : 'full';
  const sizes = SIZES[mode];
  const only = new Set<BenchName>(opts.only?.length ? opts.only : BENCHES);
  const log = opts.log ?? (() => undefined);
  const started = new Date();
  const t0 = performance.now();
  const stamp = started.toISOString().replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z');
  const outDir = opts.outDir ?? join(repoRoot, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const profileDir = opts.profile ? join(outDir, `${stamp}-profiles`) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });

  const machine = machineInfo();
  const report: BenchReport = {
    startedAt: started.toISOString(),
    durationMs: 0,
    mode,
    sizes,
    machine,
    versions: await versions(),
    targets: [],
    files: { markdown: '', json: '', charts: [] },
  };
  let curve: [number, number][] = [];
  const step = async <T>(name: BenchName, fn: () => Promise<T>): Promise<T | undefined> => {
    if (!only.has(name)) return undefined;
    const s = performance.now();
    log(`bench ${name}: running`);
    try {
      const res = await fn();
      log(`bench ${name}: done in ${((performance.now() - s) / 1000).toFixed(1)} s`);
      return res;
    } catch (err) {
      // One failed bench must not lose the others' figures of a long run: the report names it.
      const message = err instanceof Error ? err.message : String(err);
      (report.errors ??= {})[name] = message.slice(0, 2000);
      log(`bench ${name}: FAILED after ${((performance.now() - s) / 1000).toFixed(1)} s: ${message.split('\n')[0]}`);
      return undefined;
    }
  };
  const { runs } = sizes;

  // In-process and pipeline benches, then the ones that restart worker processes. A full run
  // keeps them apart; quick mode (a harness check) overlaps the two groups to stay under a minute.
  const pipeline = async () => {
    report.jetstream = await step('jetstream', () => runJetStreamBench({ messages: sizes.jetstreamMessages, runs }));
    const e2e = await step('e2e', () => runE2eBench({ trades: sizes.e2eTrades, drainTrades: sizes.e2eDrainTrades, runs, ...(profileDir ? { profileDir } : {}) }));
    if (e2e) report.e2e = { ...e2e, ratioToCeiling: report.jetstream ? e2e.throughput.median / report.jetstream.ceiling : null };
    const latency = await step('latency', () =>
      runLatencyBench({ rate: sizes.latencyRate, durationMs: sizes.latencyMs, warmupMs: sizes.latencyWarmupMs, runs, ...(profileDir ? { profileDir } : {}) }),
    );
    if (latency) {
      const { curve: c, ...rest } = latency;
      curve = c;
      report.latency = rest;
    }
    const bare = ({ curve: _c, ...rest }: LatencyBenchResult) => rest;
    const high = await step('latency-high', () =>
      runLatencyBench({ rate: sizes.latencyHighRate, durationMs: sizes.latencyHighMs, warmupMs: sizes.latencyWarmupMs, runs }),
    );
    if (high) report.latencyHigh = bare(high);
    const floor = await step('floor', () => runLatencyBench({ rate: sizes.latencyRate, durationMs: sizes.latencyMs, warmupMs: sizes.latencyWarmupMs, runs, floor: true }));
    if (floor) report.floor = bare(floor);
    report.kernel = await step('kernel', async () => {
      const k = await runKernelBench({ trades: sizes.kernelTrades, runs });
      const p100 = await runPolarsBench({ trades: sizes.polars100Trades, batch: 100, runs });
      const p1000 = await runPolarsBench({ trades: sizes.polars1000Trades, batch: 1000, runs });
      const perCpu = figure(k.tradesPerCpuSec);
      return {
        trades: k.trades,
        symbols: k.symbols,
        tradesPerSec: figure(k.tradesPerSec),
        tradesPerCpuSec: perCpu,
        polars100: p100,
        polars1000: p1000,
        ratio100: perCpu.median / p100.tradesPerCpuSec.median,
        ratio1000: perCpu.median / p1000.tradesPerCpuSec.median,
      };
    });
    report.normalizer = await step('normalizer', async () => {
      const n = runNormalizerBench({ frames: sizes.normalizerFrames, runs });
      return { kind: n.kind, frames: n.frames, framesPerSec: figure(n.framesPerSec), framesPerCpuSec: figure(n.framesPerCpuSec) };
    });
    report.book = await step('book', async () => {
      const b = await runBookBench({ updates: sizes.bookUpdates, runs });
      const { levelUpdatesPerSec, levelUpdatesPerCpuSec, medianPerCpuSec: _m, ...rest } = b;
      return { ...rest, levelUpdatesPerSec: figure(levelUpdatesPerSec), levelUpdatesPerCpuSec: figure(levelUpdatesPerCpuSec) };
    });
    report.backfill = await step('backfill', () => runBackfillBench({ trades: sizes.backfillTrades, spanMs: sizes.backfillSpanMs, runs }));
  };
  const processes = async () => {
    report.memory = await step('memory', () =>
      runMemoryBench({ symbols: sizes.memorySymbols, tradesPerSymbol: sizes.memoryTradesPerSymbol, spanMs: sizes.memorySpanMs, settleMs: sizes.memorySettleMs, idleMaxMs: sizes.memoryIdleMaxMs, runs }),
    );
    report.recovery = await step('recovery', () => runRecoveryBench({ rate: sizes.recoveryRate, beforeKillMs: sizes.recoveryBeforeKillMs, runs }));
  };
  // Several processes at once (worker groups, simulator + book feed) and per-size fresh workers: on their own in a full run.
  const groups = async () => {
    report.symbols = await step('symbols', () =>
      runSymbolCostBench({ symbolCounts: sizes.symbolCounts, tradesPerSymbol: sizes.symbolTradesPerSymbol, minTrades: sizes.symbolMinTrades }),
    );
    report.scaleout = await step('scaleout', () =>
      runScaleOutBench({
        workerCounts: sizes.scaleoutWorkers,
        symbols: sizes.scaleoutSymbols,
        trades: sizes.scaleoutTrades,
        runs: sizes.scaleoutRuns,
        takeoverRuns: sizes.takeoverRuns,
        takeoverRate: sizes.takeoverRate,
      }),
    );
    report.bookLatency = await step('book-latency', async () => {
      const rs: BookLatencyResult[] = [];
      // A fresh simulator and book feed per run (each run's books are synced anew).
      for (let i = 0; i < runs; i++) {
        rs.push(
          await runBookLatencyBench({ rate: sizes.bookLatencyRate, symbols: sizes.bookLatencySymbols, seconds: sizes.bookLatencySeconds, warmup: sizes.bookLatencyWarmupSeconds }),
        );
      }
      const f = (pick: (x: BookLatencyResult) => number) => figure(rs.map(pick));
      return {
        rate: sizes.bookLatencyRate,
        symbols: sizes.bookLatencySymbols,
        seconds: sizes.bookLatencySeconds,
        framesPerSec: f((x) => x.framesPerSec),
        p50: f((x) => x.p50Ms),
        p99: f((x) => x.p99Ms),
        p999: f((x) => x.p999Ms),
        max: f((x) => x.maxMs),
        cpuUsPerFrame: f((x) => x.cpuUsPerFrame),
        loopDelayP99Ms: f((x) => x.loopDelayP99Ms),
        frames: rs[rs.length - 1]!.frames,
      };
    });
  };
  if (opts.quick) await Promise.all([pipeline(), processes(), groups()]);
  else {
    await pipeline();
    await processes();
    await groups();
  }

  if (profileDir) {
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (the other is tsx's loader).
    report.profiles = readdirSync(profileDir)
      .filter((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f))
      .map((f) => ({ file: join(profileDir, f), summary: summarizeProfile(join(profileDir, f), 15) }));
  }

  machine.loadEnd = os.loadavg()[0]!;
  report.durationMs = performance.now() - t0;
  report.targets = targets(report);

  const base = join(outDir, stamp);
  const charts: string[] = [];
  const rows = throughputRows(report);
  if (rows.length) {
    writeFileSync(`${base}-throughput.png`, svgToPng(barChart({ title: `Throughput (${mode})`, unit: 'trades or messages per second', rows, log: true })));
    charts.push(`${base}-throughput.png`);
  }
  if (report.latency) {
    const l = report.latency;
    const lat: BarRow[] = [
      { label: 'p50', value: l.p50.median, min: l.p50.min, max: l.p50.max, text: `${l.p50.median.toFixed(2)} ms` },
      { label: 'p99', value: l.p99.median, min: l.p99.min, max: l.p99.max, target: 10, text: `${l.p99.median.toFixed(2)} ms` },
      { label: 'p99.9', value: l.p999.median, min: l.p999.min, max: l.p999.max, text: `${l.p999.median.toFixed(2)} ms` },
      { label: 'max', value: l.max.median, min: l.max.min, max: l.max.max, text: `${l.max.median.toFixed(2)} ms` },
    ];
    writeFileSync(
      `${base}-latency.png`,
      svgToPng(barChart({ title: `recvTs → open candle visible in Redis at ${l.rate.toLocaleString('en-US')} trades/s (${mode})`, unit: 'milliseconds', rows: lat, log: true })),
    );
    writeFileSync(`${base}-latency-curve.png`, svgToPng(percentileChart({ title: `Latency by percentile at ${l.rate.toLocaleString('en-US')} trades/s (${mode})`, curve, target: { percentile: 99, ms: 10 } })));
    charts.push(`${base}-latency.png`, `${base}-latency-curve.png`);
  }
  report.files = { markdown: `${base}.md`, json: `${base}.json`, charts };
  writeFileSync(`${base}.json`, `${JSON.stringify({ ...report, latencyCurve: curve }, null, 2)}\n`);
  writeFileSync(`${base}.md`, renderMarkdown(report));
  log(summaryTable(report));
  return report;
}

/** The targets of issues 12, 13 and 14, each judged on this run's medians. */
function targets(r: BenchReport): TargetRow[] {
  const rows: TargetRow[] = [];
  const add = (target: string, value: number, threshold: number, atMost: boolean, measured: string) =>
    rows.push({ target, measured, value, threshold, met: Number.isFinite(value) && (atMost ? value <= threshold : value >= threshold) });
  const k = (x: number) => Math.round(x).toLocaleString('en-US');
  const pct = (x: number) => `${x.toFixed(1)}%`;
  const j = r.jetstream;
  if (j) add('Feed-path publish ≥ 80% of raw publish', (100 * j.publish.median) / j.rawPublish.median, 80, false, `${pct((100 * j.publish.median) / j.rawPublish.median)} (${k(j.publish.median)} vs ${k(j.rawPublish.median)} msgs/s)`);
  if (r.e2e) {
    if (r.e2e.ratioToCeiling !== null) {
      add('End-to-end ≥ 50% of the JetStream ceiling', r.e2e.ratioToCeiling * 100, 50, false, `${pct(r.e2e.ratioToCeiling * 100)} (${k(r.e2e.throughput.median)} of ${k(j!.ceiling)} msgs/s)`);
    }
    if (j) {
      const v = (100 * r.e2e.workerDrain.median) / j.consume.median;
      add('Worker alone ≥ 90% of the consume rate', v, 90, false, `${pct(v)} (${k(r.e2e.workerDrain.median)} of ${k(j.consume.median)} msgs/s)`);
    }
    add('Worker alone ≥ 150,000 trades per CPU-second', r.e2e.workerDrainPerCpuSec.median, 150_000, false, `${k(r.e2e.workerDrainPerCpuSec.median)} trades/CPU-s`);
  }
  if (r.latency) {
    add(`p99 recvTs → Redis ≤ 10 ms at ${k(r.latency.rate)} trades/s`, r.latency.p99.median, 10, true, `${r.latency.p99.median.toFixed(2)} ms`);
    add(`p99.9 recvTs → Redis ≤ 25 ms at ${k(r.latency.rate)} trades/s`, r.latency.p999.median, 25, true, `${r.latency.p999.median.toFixed(2)} ms`);
    if (r.floor) {
      const x = r.latency.p99.median / r.floor.p99.median;
      add('p99 ≤ 2× the latency floor (same rate, same method)', x, 2, true, `${x.toFixed(1)}× (floor p99 ${r.floor.p99.median.toFixed(2)} ms)`);
    }
  }
  if (r.memory) {
    add(`Worker RSS ≤ 250 MB for ${k(r.memory.symbols)} symbols × 7 timeframes`, r.memory.rssMB.median, 250, true, `${r.memory.rssMB.median.toFixed(0)} MB (heap in use ${r.memory.heapUsedMB.median.toFixed(0)} MB)`);
    add('Worker RSS ≤ 80 MB before any symbol', r.memory.baselineRssMB.median, 80, true, `${r.memory.baselineRssMB.median.toFixed(0)} MB`);
  }
  if (r.recovery) add(`SIGKILL → ${r.recovery.symbols} symbols caught up ≤ 1 s`, r.recovery.recoveryMs.median / 1000, 1, true, `${(r.recovery.recoveryMs.median / 1000).toFixed(2)} s`);
  if (r.kernel) {
    add('Kernel ≥ 2,000,000 trades per CPU-second (exact decimals)', r.kernel.tradesPerCpuSec.median, 2_000_000, false, `${k(r.kernel.tradesPerCpuSec.median)} trades/CPU-s`);
    add('Kernel ≥ 100× Polars micro-batch (batch 100)', r.kernel.ratio100, 100, false, `${r.kernel.ratio100.toFixed(0)}×`);
  }
  if (r.normalizer) add('Normalizer ≥ 500,000 Binance frames per CPU-second', r.normalizer.framesPerCpuSec.median, 500_000, false, `${k(r.normalizer.framesPerCpuSec.median)} frames/CPU-s`);
  if (r.book) add('Book engine ≥ 1,000,000 level updates per CPU-second', r.book.levelUpdatesPerCpuSec.median, 1_000_000, false, `${k(r.book.levelUpdatesPerCpuSec.median)} updates/CPU-s`);
  if (r.bookLatency) {
    const b = r.bookLatency;
    add(`p99 book delta frame → Redis book ≤ 10 ms at ${k(b.rate)} frames/s over ${b.symbols} symbols`, b.p99.median, 10, true, `${b.p99.median.toFixed(2)} ms (at ${k(b.framesPerSec.median)} frames/s)`);
  }
  if (r.backfill) add('Backfill from a local file ≥ 1,000,000 trades/s into stored candles', r.backfill.tradesPerSec.median, 1_000_000, false, `${k(r.backfill.tradesPerSec.median)} trades/s`);
  return rows;
}

function throughputRows(r: BenchReport): BarRow[] {
  const row = (label: string, f: Figure, target?: number): BarRow => ({ label, value: f.median, min: f.min, max: f.max, ...(target !== undefined ? { target } : {}) });
  const rows: BarRow[] = [];
  if (r.jetstream) {
    rows.push(row('JetStream publish, raw batched', r.jetstream.rawPublish));
    rows.push(row('JetStream consume (ordered)', r.jetstream.consume));
    rows.push(row('JetStream publish, feed path', r.jetstream.publish));
  }
  if (r.e2e) {
    rows.push(row('End-to-end (feed path → worker → Redis)', r.e2e.throughput, r.jetstream ? r.jetstream.ceiling / 2 : undefined));
    rows.push(row('Worker alone (stored backlog)', r.e2e.workerDrain));
    rows.push(row('Worker alone (per worker CPU-s)', r.e2e.workerDrainPerCpuSec));
  }
  if (r.kernel) {
    rows.push(row('Window kernel (per CPU-s)', r.kernel.tradesPerCpuSec, 2_000_000));
    rows.push(row('Polars micro-batch 1,000 (per CPU-s)', r.kernel.polars1000.tradesPerCpuSec));
    rows.push(row('Polars micro-batch 100 (per CPU-s)', r.kernel.polars100.tradesPerCpuSec));
  }
  if (r.normalizer) rows.push(row('Binance normalizer (per CPU-s)', r.normalizer.framesPerCpuSec, 500_000));
  if (r.book) rows.push(row('Book engine, level updates (per CPU-s)', r.book.levelUpdatesPerCpuSec, 1_000_000));
  if (r.backfill) rows.push(row('Backfill, file → stored candles', r.backfill.tradesPerSec, 1_000_000));
  return rows;
}
