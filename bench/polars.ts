/**
 * The proof-of-concept way of making candles, for comparison with the window kernel: trades are
 * collected into micro-batches and every batch is aggregated with a Polars `group_by_dynamic` per
 * timeframe (nodejs-polars, bench-only), the batch's partial bars then merged into the open bars.
 *
 * This is the cheapest form of that approach, so the ratio to the kernel is a lower bound: the
 * aggregation sees only the new batch (not the open windows' trades again), prices and volumes
 * are float64 (not exact decimals), and no rolling VWAPs are kept. The batch arrives as JSON
 * lines (as messages off the stream) and is read with `readJSON`, the fastest way in found.
 */
import pl from 'nodejs-polars';
import { syntheticTrades } from './kernel.js';
import { TIMEFRAMES } from '../schemas/common.js';
import { figure, type Figure } from './stats.js';

export interface PolarsBenchOptions {
  trades: number;
  batch: number;
  runs: number;
  symbols?: number;
}

export interface PolarsBenchResult {
  batch: number;
  trades: number;
  /** Trades/s per run, wall clock. */
  tradesPerSec: Figure;
  /** Trades per CPU-second of the process (Polars may use more than one thread). */
  tradesPerCpuSec: Figure;
  /** Open and closed bars the merge ended with (all timeframes). */
  bars: number;
}

interface Bar {
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  quote: number;
  buyVolume: number;
  trades: number;
  lastId: string;
}

/**
 * Expressions are built once: building one in nodejs-polars costs milliseconds, which a fair
 * implementation would not pay per batch.
 */
const AGGS = () => [
  pl.col('price').first().alias('open'),
  pl.col('price').max().alias('high'),
  pl.col('price').min().alias('low'),
  pl.col('price').last().alias('close'),
  pl.col('qty').sum().alias('volume'),
  pl.col('price').mul(pl.col('qty')).sum().alias('quote'),
  pl.col('qty').filter(pl.col('buy')).sum().alias('buyVolume'),
  pl.col('price').count().alias('trades'),
  pl.col('id').last().alias('lastId'),
];
const CASTS = () => [pl.col('ts').cast(pl.Datetime('ms')).alias('t'), pl.col('price').cast(pl.Float64), pl.col('qty').cast(pl.Float64)];
const ORDER = () => [pl.col('sym'), pl.col('t')];

export async function runPolarsBench(opts: PolarsBenchOptions): Promise<PolarsBenchResult> {
  const symbols = opts.symbols ?? 10;
  // The kernel bench's own trades (same generator and seed), so both sides aggregate the same data.
  const trades = syntheticTrades(opts.trades, symbols);
  const rates: number[] = [];
  const perCpu: number[] = [];
  let bars = 0;
  // Trades arrive as JSON lines (as off the stream); a micro-batch is read into a DataFrame at once.
  const lines = trades.map(({ symbol, trade: t }) => JSON.stringify({ sym: symbol, ts: t.ts, price: t.price, qty: t.qty, buy: t.side === 'buy', id: t.id }));
  const aggs = AGGS();
  const casts = CASTS();
  const order = ORDER();
  const once = (n: number): Map<string, Bar> => {
    const state = new Map<string, Bar>();
    for (let i = 0; i < n; i += opts.batch) {
      const batch = Buffer.from(lines.slice(i, Math.min(n, i + opts.batch)).join('\n'));
      const df = pl.readJSON(batch, { format: 'lines' }).withColumns(...casts).sort(order);
      for (const tf of TIMEFRAMES) merge(state, tf, df.groupByDynamic({ indexColumn: 't', every: tf, by: 'sym' }).agg(aggs));
    }
    return state;
  };
  once(Math.min(trades.length, opts.batch * 5)); // warm-up: load the native library, JIT the merge
  for (let r = 0; r < opts.runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const state = once(trades.length);
    const secs = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    rates.push(opts.trades / secs);
    perCpu.push(opts.trades / ((cpu.user + cpu.system) / 1e6));
    // Every trade must have landed in exactly one bar per timeframe.
    let total = 0;
    for (const [key, b] of state) if (key.startsWith('1d|')) total += b.trades;
    if (total !== opts.trades) throw new Error(`polars bench: 1d bars hold ${total} trades, expected ${opts.trades}`);
    bars = state.size;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { batch: opts.batch, trades: opts.trades, tradesPerSec: figure(rates), tradesPerCpuSec: figure(perCpu), bars };
}

/** Folds a batch's partial bars into the running bars (a bar may span several batches). */
function merge(state: Map<string, Bar>, tf: string, out: pl.DataFrame): void {
  for (const r of out.toRecords() as unknown as (Bar & { sym: number; t: Date | number; buyVolume: number | null })[]) {
    const key = `${tf}|${r.sym}|${+r.t}`;
    const b = state.get(key);
    if (b === undefined) {
      state.set(key, {
        open: r.open,
        high: r.high,
        low: r.low,
        close: r.close,
        volume: r.volume,
        quote: r.quote,
        buyVolume: r.buyVolume ?? 0,
        trades: Number(r.trades),
        lastId: r.lastId,
      });
    } else {
      if (r.high > b.high) b.high = r.high;
      if (r.low < b.low) b.low = r.low;
      b.close = r.close;
      b.volume += r.volume;
      b.quote += r.quote;
      b.buyVolume += r.buyVolume ?? 0;
      b.trades += Number(r.trades);
      b.lastId = r.lastId;
    }
  }
}
