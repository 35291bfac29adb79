/**
 * `tickwork bench`: runs the benchmark suite and writes the report (Markdown + JSON + PNG charts)
 * to bench/results/. Each bench works in its own namespace on the real NATS/Redis servers and
 * removes its streams and keys afterwards.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
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
import { renderMarkdown, summaryTable } from './report.js';
import { figure, type Figure } from './stats.js';

export const BENCHES = ['jetstream', 'e2e', 'latency', 'kernel', 'normalizer', 'memory', 'recovery'] as const;
export type BenchName = (typeof BENCHES)[number];

export interface BenchOptions {
  /**
   * Small sizes, short durations and two groups of benches overlapping: the whole suite in under a
   * minute. A harness check, not a measurement.
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
  kernelTrades: number;
  polars100Trades: number;
  polars1000Trades: number;
  normalizerFrames: number;
  memorySymbols: number;
  memoryTradesPerSymbol: number;
  memorySpanMs: number;
  memorySettleMs: number;
  recoveryRate: number;
  recoveryBeforeKillMs: number;
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
    kernelTrades: 1_000_000,
    polars100Trades: 20_000,
    polars1000Trades: 100_000,
    normalizerFrames: 1_000_000,
    memorySymbols: 1_000,
    memoryTradesPerSymbol: 30,
    memorySpanMs: 30_000,
    memorySettleMs: 3_000,
    recoveryRate: 5_000,
    recoveryBeforeKillMs: 5_000,
  },
  quick: {
    runs: 3,
    jetstreamMessages: 3_000,
    e2eTrades: 2_000,
    e2eDrainTrades: 3_000,
    latencyRate: 5_000,
    latencyMs: 1_500,
    latencyWarmupMs: 300,
    kernelTrades: 100_000,
    polars100Trades: 2_000,
    polars1000Trades: 10_000,
    normalizerFrames: 100_000,
    memorySymbols: 300,
    memoryTradesPerSymbol: 3,
    memorySpanMs: 3_000,
    memorySettleMs: 200,
    recoveryRate: 5_000,
    recoveryBeforeKillMs: 1_000,
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
  kernel?: KernelSection;
  normalizer?: NormalizerSection;
  memory?: MemoryBenchResult;
  recovery?: RecoveryBenchResult;
  profiles?: { file: string; summary: ProfileSummary }[];
  targets: TargetRow[];
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
    const res = await fn();
    log(`bench ${name}: done in ${((performance.now() - s) / 1000).toFixed(1)} s`);
    return res;
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
  };
  const processes = async () => {
    report.memory = await step('memory', () =>
      runMemoryBench({ symbols: sizes.memorySymbols, tradesPerSymbol: sizes.memoryTradesPerSymbol, spanMs: sizes.memorySpanMs, settleMs: sizes.memorySettleMs, runs }),
    );
    report.recovery = await step('recovery', () => runRecoveryBench({ rate: sizes.recoveryRate, beforeKillMs: sizes.recoveryBeforeKillMs, runs }));

  };
  if (opts.quick) await Promise.all([pipeline(), processes()]);
  else {
    await pipeline();
    await processes();
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

function targets(r: BenchReport): TargetRow[] {
  const rows: TargetRow[] = [];
  const add = (target: string, value: number, threshold: number, atMost: boolean, measured: string) =>
    rows.push({ target, measured, value, threshold, met: Number.isFinite(value) && (atMost ? value <= threshold : value >= threshold) });
  const k = (x: number) => Math.round(x).toLocaleString('en-US');
  if (r.e2e) {
    add('End-to-end ≥ 100,000 trades/s', r.e2e.throughput.median, 100_000, false, `${k(r.e2e.throughput.median)} trades/s`);
    if (r.e2e.ratioToCeiling !== null) {
      add('End-to-end ≥ 50% of the JetStream ceiling', r.e2e.ratioToCeiling * 100, 50, false, `${(r.e2e.ratioToCeiling * 100).toFixed(1)}% of ${k(r.jetstream!.ceiling)} msgs/s`);
    }
  }
  if (r.latency) add(`p99 latency ≤ 10 ms at ${k(r.latency.rate)} trades/s`, r.latency.p99.median, 10, true, `${r.latency.p99.median.toFixed(2)} ms`);
  if (r.kernel) {
    add('Kernel ≥ 2,000,000 trades/s per core (exact decimals)', r.kernel.tradesPerCpuSec.median, 2_000_000, false, `${k(r.kernel.tradesPerCpuSec.median)} trades/CPU-s`);
    add('Kernel ≥ 100× Polars micro-batch (batch 100)', r.kernel.ratio100, 100, false, `${r.kernel.ratio100.toFixed(0)}×`);
  }
  if (r.normalizer) add('Normalizer ≥ 500,000 Binance frames/s per core', r.normalizer.framesPerCpuSec.median, 500_000, false, `${k(r.normalizer.framesPerCpuSec.median)} frames/CPU-s`);
  if (r.memory) add(`Worker RSS ≤ 300 MB for ${k(r.memory.symbols)} symbols`, r.memory.rssMB.median, 300, true, `${r.memory.rssMB.median.toFixed(0)} MB`);
  if (r.recovery) add(`Recovery ≤ 5 s for ${r.recovery.symbols} symbols`, r.recovery.recoveryMs.median / 1000, 5, true, `${(r.recovery.recoveryMs.median / 1000).toFixed(2)} s`);
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
    rows.push(row('End-to-end (feed path → worker → Redis)', r.e2e.throughput, 100_000));
    rows.push(row('Worker alone (stored backlog)', r.e2e.workerDrain));
    rows.push(row('Worker alone (per worker CPU-s)', r.e2e.workerDrainPerCpuSec));
  }
  if (r.kernel) {
    rows.push(row('Window kernel (per CPU-s)', r.kernel.tradesPerCpuSec, 2_000_000));
    rows.push(row('Polars micro-batch 1,000 (per CPU-s)', r.kernel.polars1000.tradesPerCpuSec));
    rows.push(row('Polars micro-batch 100 (per CPU-s)', r.kernel.polars100.tradesPerCpuSec));
  }
  if (r.normalizer) rows.push(row('Binance normalizer (per CPU-s)', r.normalizer.framesPerCpuSec, 500_000));
  return rows;
}
