/**
 * Book-engine micro-benchmark: level updates per CPU-second through `OrderBook.set`, applied in
 * venue-sized frames (1–10 levels) with the per-frame crossed check and a top-of-book read, as a
 * sync does them. Target (issue 13): ≥ 1,000,000 level updates per CPU-second.
 *
 *   node --import tsx bench/book.ts [--updates N] [--symbols S] [--depth D] [--runs R]
 *
 * Updates are generated up front as venues send them (Binance-style `"30000.12"` prices and
 * 8-decimal quantities): distance from the mid is exponential (most activity near the top, a tail
 * to ~`depth` levels), 30 % are deletes.
 *
 * The side structure was chosen with this workload (1M updates over 10 books, best of 5 runs,
 * level updates per CPU-second, 2-core machine at load ~3):
 *
 *   depth parameter (levels a side)   100 (200)   1,000 (1,460)   20,000 (15,350)
 *   chunked sorted arrays (ours)       1.76M       2.06M           0.74M
 *   one flat sorted array a side       1.57M       0.90M           0.18M
 *   sorted-btree 2.1.0                 1.69M       1.08M           0.38M
 *   Float64Array keys + Map of levels  2.76M       1.17M           0.49M
 */
import { pathToFileURL } from 'node:url';
import { OrderBook, type BookSideName } from '../actors/book/index.js';

export interface BookBenchOptions {
  /** Level updates per run (default 2,000,000). */
  updates?: number;
  /** Books the updates are spread over (default 10). */
  symbols?: number;
  /** Typical levels a side (default 1,000; Coinbase full books reach ~20,000). */
  depth?: number;
  /** Timed runs after one untimed warm-up (default 5). */
  runs?: number;
  seed?: number;
}

export interface BookBenchResult {
  levelUpdatesPerSec: number[];
  /** Per second of process CPU time (user + system): the per-core figure on a busy machine. */
  levelUpdatesPerCpuSec: number[];
  medianPerCpuSec: number;
  updates: number;
  frames: number;
  symbols: number;
  depth: number;
  /** Mean levels a side at the end of the last run (the depth actually exercised). */
  meanLevels: number;
}

interface Frame {
  book: number;
  sides: BookSideName[];
  prices: string[];
  qtys: string[];
}

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function syntheticBookFrames(updates: number, symbols: number, depth: number, seed = 42): Frame[] {
  const rand = rng(seed);
  const mids = Array.from({ length: symbols }, (_, i) => 3_000_000 + i * 170_000); // cents
  const frames: Frame[] = [];
  let n = 0;
  while (n < updates) {
    const k = Math.min(updates - n, 1 + Math.floor(rand() * 10));
    const f: Frame = { book: Math.floor(rand() * symbols), sides: [], prices: [], qtys: [] };
    for (let i = 0; i < k; i++) {
      const side: BookSideName = rand() < 0.5 ? 'bid' : 'ask';
      const dist = 1 + Math.floor(-Math.log(1 - rand()) * (depth / 3));
      const tick = side === 'bid' ? mids[f.book]! - dist : mids[f.book]! + dist;
      f.sides.push(side);
      f.prices.push((tick / 100).toFixed(2));
      f.qtys.push(rand() < 0.3 ? '0.00000000' : (1 + Math.floor(rand() * 5_000_000)).toString().padStart(9, '0').replace(/^(\d)(\d{8})$/, '$1.$2'));
    }
    frames.push(f);
    n += k;
  }
  return frames;
}

export async function runBookBench(opts: BookBenchOptions = {}): Promise<BookBenchResult> {
  const updates = opts.updates ?? 2_000_000;
  const symbols = opts.symbols ?? 10;
  const depth = opts.depth ?? 1_000;
  const runs = opts.runs ?? 5;
  const frames = syntheticBookFrames(updates, symbols, depth, opts.seed);
  const perSec: number[] = [];
  const perCpuSec: number[] = [];
  let meanLevels = 0;
  let sink = 0;
  for (let r = -1; r < runs; r++) {
    const books = Array.from({ length: symbols }, () => new OrderBook());
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      const book = books[f.book]!;
      for (let j = 0; j < f.sides.length; j++) book.set(f.sides[j]!, f.prices[j]!, f.qtys[j]!);
      if (book.crossed()) sink++;
      if (book.bids.size > 0) sink += book.bids.qtyAt(0).length;
    }
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(c0);
    if (r >= 0) {
      perSec.push(updates / secs);
      perCpuSec.push(updates / ((cpu.user + cpu.system) / 1e6));
    }
    meanLevels = books.reduce((s, b) => s + b.bids.size + b.asks.size, 0) / (2 * symbols);
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (sink < 0) console.log(sink); // keeps the reads alive
  return { levelUpdatesPerSec: perSec, levelUpdatesPerCpuSec: perCpuSec, medianPerCpuSec: median(perCpuSec), updates, frames: frames.length, symbols, depth, meanLevels };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function arg(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const res = await runBookBench({ updates: arg('updates'), symbols: arg('symbols'), depth: arg('depth'), runs: arg('runs') });
  const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
  console.log(
    `book: ${res.updates.toLocaleString('en-US')} level updates in ${res.frames.toLocaleString('en-US')} frames over ${res.symbols} books, ` +
      `depth parameter ${res.depth} (mean ${Math.round(res.meanLevels)} levels a side)`,
  );
  console.log(`wall clock (updates/s): ${res.levelUpdatesPerSec.map(fmt).join(', ')}`);
  console.log(`median: ${fmt(res.medianPerCpuSec)} level updates per CPU-second (runs: ${res.levelUpdatesPerCpuSec.map(fmt).join(', ')})`);
}
