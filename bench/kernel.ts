/**
 * Window-kernel micro-benchmark: trades/s through `SymbolWindows.apply` with all seven
 * timeframes and three rolling VWAPs, exact decimals, one core.
 *
 *   node --import tsx bench/kernel.ts [--trades N] [--symbols S] [--runs R]
 *
 * Trades are generated up front as a venue sends them (8-decimal price and quantity strings,
 * Binance style), so the timed loop is parse + window update only. The symbol actor's work
 * around it (dedupe, publishing) is not measured here.
 */
import { pathToFileURL } from 'node:url';
import { SymbolWindows, type WindowTrade } from '../actors/windows/index.js';
import { TIMEFRAMES } from '../schemas/common.js';

export interface KernelBenchOptions {
  /** Trades per run (default 2,000,000). */
  trades?: number;
  /** Symbols the trades are spread over (default 10). */
  symbols?: number;
  /** Timed runs (default 5), after one untimed warm-up run; each uses fresh windows over the same trades. */
  runs?: number;
  /** Mean trades per second per symbol in event time (default 200): sets how often bars close. */
  ratePerSymbol?: number;
  seed?: number;
}

export interface KernelBenchResult {
  /** Wall-clock throughput per run. */
  tradesPerSec: number[];
  median: number;
  /** Throughput per second of process CPU time (user + system) per run: the per-core figure on a busy machine. */
  tradesPerCpuSec: number[];
  medianPerCpuSec: number;
  trades: number;
  symbols: number;
  closedCandles: number;
}

/** Deterministic PRNG (mulberry32) so runs compare like for like. */
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

/** Synthetic trades: per-symbol random-walk prices on a 0.01 tick, lot sizes of 0.00001. */
export function syntheticTrades(n: number, symbols: number, ratePerSymbol = 200, seed = 42): { symbol: number; trade: WindowTrade }[] {
  const rand = rng(seed);
  const ticks = Array.from({ length: symbols }, (_, i) => 100_000 + i * 37_000); // price in cents
  const ts = Array.from({ length: symbols }, () => Date.UTC(2024, 0, 2));
  const ids = Array.from({ length: symbols }, () => 1_000_000);
  const out: { symbol: number; trade: WindowTrade }[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const s = Math.floor(rand() * symbols);
    ticks[s]! += Math.floor(rand() * 21) - 10;
    ts[s]! += Math.floor(rand() * (2000 / ratePerSymbol));
    const lots = 1 + Math.floor(rand() * rand() * 200_000); // 0.00001 … 2 units, skewed small
    out[i] = {
      symbol: s,
      trade: {
        id: String(ids[s]!++),
        price: (ticks[s]! / 100).toFixed(2) + '000000',
        qty: (lots / 100_000).toFixed(5) + '000',
        side: rand() < 0.5 ? 'buy' : 'sell',
        ts: ts[s]!,
        count: 1 + Math.floor(rand() * rand() * 4),
      },
    };
  }
  return out;
}

export async function runKernelBench(opts: KernelBenchOptions = {}): Promise<KernelBenchResult> {
  const n = opts.trades ?? 2_000_000;
  const symbols = opts.symbols ?? 10;
  const runs = opts.runs ?? 5;
  const trades = syntheticTrades(n, symbols, opts.ratePerSymbol, opts.seed);
  const tradesPerSec: number[] = [];
  const tradesPerCpuSec: number[] = [];
  let closedCandles = 0;
  // One untimed pass first (as the normalizer bench does), so run 1 does not time the JIT warming up.
  for (let r = -1; r < runs; r++) {
    const windows = Array.from(
      { length: symbols },
      (_, i) => new SymbolWindows({ venue: 'binance', symbol: `SYM${i}-USDT`, timeframes: TIMEFRAMES, vwapWindows: ['1m', '5m', '15m'] }),
    );
    closedCandles = 0;
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const { symbol, trade } = trades[i]!;
      windows[symbol]!.apply(trade);
      // The actor drains per batch; do the same so emitted candles do not pile up.
      if ((i & 1023) === 1023) for (const w of windows) closedCandles += w.drainClosed().length;
    }
    for (const w of windows) closedCandles += w.drainClosed().length;
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(c0);
    if (r >= 0) {
      tradesPerSec.push(n / secs);
      tradesPerCpuSec.push(n / ((cpu.user + cpu.system) / 1e6));
    }
    await new Promise((resolve) => setImmediate(resolve)); // let GC and the event loop breathe between runs
  }
  return { tradesPerSec, median: median(tradesPerSec), tradesPerCpuSec, medianPerCpuSec: median(tradesPerCpuSec), trades: n, symbols, closedCandles };
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
  const res = await runKernelBench({ trades: arg('trades'), symbols: arg('symbols'), runs: arg('runs') });
  const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
  console.log(
    `kernel: ${res.trades.toLocaleString('en-US')} trades over ${res.symbols} symbols, 7 timeframes + 3 VWAP windows, ` +
      `${res.closedCandles.toLocaleString('en-US')} candles closed per run`,
  );
  console.log(`runs (trades/s): ${res.tradesPerSec.map(fmt).join(', ')}`);
  console.log(`median: ${fmt(res.median)} trades/s wall clock; ${fmt(res.medianPerCpuSec)} trades per CPU-second (runs: ${res.tradesPerCpuSec.map(fmt).join(', ')})`);
}
