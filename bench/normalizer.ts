/**
 * Normalizer micro-benchmark: Binance combined-stream `aggTrade`/`trade` frames per second
 * through the venue adapter's `parse` (JSON.parse → compiled TypeBox check → symbol map →
 * normalized Trade), one core.
 *
 *   node --import tsx bench/normalizer.ts [--frames N] [--runs R] [--kind aggTrade|trade|mixed]
 *
 * Frames are generated up front as Binance sends them (distinct ids, prices, symbols), so the
 * timed loop is the feed's per-frame work only; publishing is not measured here.
 */
import { pathToFileURL } from 'node:url';
import { venueById } from '../venues/index.js';
import { clearParseOutput, newParseOutput } from '../venues/kit/types.js';

export interface NormalizerBenchOptions {
  /** Frames per run (default 1,000,000). */
  frames?: number;
  /** Timed runs (default 5), after one untimed warm-up run. */
  runs?: number;
  /** Which trade stream (default 'aggTrade'; 'mixed' alternates both). */
  kind?: 'aggTrade' | 'trade' | 'mixed';
  /** Distinct frames cycled through (default 4096). */
  distinct?: number;
}

export interface NormalizerBenchResult {
  name: 'normalizer';
  kind: string;
  frames: number;
  /** Wall-clock frames/s per run. */
  framesPerSec: number[];
  median: number;
  /** Frames per second of process CPU time per run: the per-core figure on a busy machine. */
  framesPerCpuSec: number[];
  medianPerCpuSec: number;
}

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'BNBBTC', 'XRPBUSD', 'SOLUSDC', 'DOGEUSDT', 'ADAETH', 'LTCFDUSD'];

/** Binance frames exactly as the combined stream sends them. */
export function binanceTradeFrames(n: number, kind: NormalizerBenchOptions['kind'] = 'aggTrade'): string[] {
  const frames: string[] = new Array(n);
  let id = 1_500_000_000;
  let ts = Date.UTC(2024, 0, 2);
  for (let i = 0; i < n; i++) {
    const s = SYMBOLS[i % SYMBOLS.length]!;
    const price = (20_000 + ((i * 7919) % 100_000) / 100).toFixed(8);
    const qty = (0.00001 * (1 + ((i * 104729) % 50_000))).toFixed(8);
    const m = (i * 31) % 3 === 0;
    ts += i % 4;
    id++;
    const agg = kind === 'aggTrade' || (kind === 'mixed' && i % 2 === 0);
    frames[i] = agg
      ? `{"stream":"${s.toLowerCase()}@aggTrade","data":{"e":"aggTrade","E":${ts + 2},"s":"${s}","a":${id},"p":"${price}","q":"${qty}","f":${id * 2},"l":${id * 2 + (i % 3)},"T":${ts},"m":${m},"M":true}}`
      : `{"stream":"${s.toLowerCase()}@trade","data":{"e":"trade","E":${ts + 2},"s":"${s}","t":${id},"p":"${price}","q":"${qty}","T":${ts},"m":${m},"M":true}}`;
  }
  return frames;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export function runNormalizerBench(opts: NormalizerBenchOptions = {}): NormalizerBenchResult {
  const total = opts.frames ?? 1_000_000;
  const runs = opts.runs ?? 5;
  const kind = opts.kind ?? 'aggTrade';
  const pool = binanceTradeFrames(opts.distinct ?? 4096, kind);
  const adapter = venueById('binance').createAdapter();
  const out = newParseOutput();
  const recvTs = Date.UTC(2024, 0, 2);

  const once = (): number => {
    let trades = 0;
    for (let i = 0, j = 0; i < total; i++) {
      adapter.parse(pool[j]!, recvTs, out);
      if (++j === pool.length) j = 0;
      // Batches as the feed publishes them: consume, then reuse the output arrays.
      if (out.trades.length === 64 || i === total - 1) {
        trades += out.trades.length;
        if (out.rejects.length > 0) throw new Error(`benchmark frame rejected: ${out.rejects[0]!.detail}`);
        clearParseOutput(out);
      }
    }
    return trades;
  };

  once();
  const framesPerSec: number[] = [];
  const framesPerCpuSec: number[] = [];
  for (let r = 0; r < runs; r++) {
    const c0 = cpuMs();
    const t0 = process.hrtime.bigint();
    const trades = once();
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = (cpuMs() - c0) / 1000;
    if (trades !== total) throw new Error(`expected ${total} trades, got ${trades}`);
    framesPerSec.push(Math.round(total / wall));
    framesPerCpuSec.push(Math.round(total / cpu));
  }
  return { name: 'normalizer', kind, frames: total, framesPerSec, median: median(framesPerSec), framesPerCpuSec, medianPerCpuSec: median(framesPerCpuSec) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2);
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const kind = (arg('kind') ?? 'aggTrade') as NormalizerBenchOptions['kind'];
  const res = runNormalizerBench({ frames: Number(arg('frames') ?? 1_000_000), runs: Number(arg('runs') ?? 5), kind });
  console.log(JSON.stringify(res));
  console.log(`normalizer (${res.kind}): median ${res.median.toLocaleString('en-US')} frames/s wall, ${res.medianPerCpuSec.toLocaleString('en-US')} frames/s per CPU second`);
}
