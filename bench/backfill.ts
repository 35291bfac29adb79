/**
 * Backfill speed (issue 14): trades of a local replay-format file (Binance's public trade dump,
 * `binance-trades-csv`) → the window kernel → candles stored in PostgreSQL, through the functions
 * `tickwork backfill --source file` runs (openTradeFile, backfillSymbol: the seam check, the
 * history-range record, the bulk writer, the overlap comparison). Timed from the first read of the
 * file to the last candle committed; process start and schema migration are outside the timing.
 * Each run backfills a fresh symbol from the same file, so every run writes every candle. One
 * untimed run first (as the kernel and normalizer benches do), so the first timed run does not
 * time the JIT warming up. Target: ≥ 1,000,000 trades/s into stored candles.
 */
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTradeFile } from '../actors/batch/file-source.js';
import { backfillSymbol } from '../app/backfill.js';
import { loadBatchWorkerConfig } from '../app/history.js';
import { prepareSchema } from '../app/migrate.js';
import { startProcess } from '../runtime/process.js';
import { loadStoreSettings } from '../store/candles.js';
import { venueById } from '../venues/index.js';
import { inScope } from './env.js';
import { figure, type Figure } from './stats.js';

export interface BackfillBenchOptions {
  /** Trades in the file (spread evenly over `spanMs` of a past day). */
  trades: number;
  spanMs: number;
  runs: number;
}

export interface BackfillBenchResult {
  trades: number;
  spanMs: number;
  fileMB: number;
  /** Trades read, through the kernel, candles committed: per second of wall clock. */
  tradesPerSec: Figure;
  /** Per CPU-second of the bench process, all its threads (file scan, kernel, PostgreSQL client; the server's CPU is not counted). */
  tradesPerCpuSec: Figure;
  /** Candles written per run (all stored timeframes). */
  candles: number;
  /** Candles written per second. */
  candlesPerSec: Figure;
}

const DAY = 86_400_000;

/** `id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch`, no header: a random walk on a 0.01 tick. */
export function writeTradeDump(file: string, trades: number, from: number, spanMs: number): void {
  let tick = 3_000_000;
  let seed = 0x2545f491;
  const rand = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 4294967296;
  };
  // Written 100,000 lines at a time: no 100 MB string left for the timed runs' garbage collector.
  const fd = openSync(file, 'w');
  const lines: string[] = [];
  for (let i = 0; i < trades; i++) {
    tick += Math.floor(rand() * 9) - 4;
    const lots = 1 + Math.floor(rand() * rand() * 100_000);
    const price = `${Math.floor(tick / 100)}.${String(tick % 100).padStart(2, '0')}`;
    const qty = `${Math.floor(lots / 100_000)}.${String(lots % 100_000).padStart(5, '0')}`;
    // quoteQty is not read by the kernel; a fixed decimal keeps the line's shape.
    lines.push(`${1_000_000 + i},${price},${qty},0.0,${from + Math.floor((i * spanMs) / trades)},${rand() < 0.5 ? 'True' : 'False'},True`);
    if (lines.length === 100_000 || i === trades - 1) {
      writeSync(fd, `${lines.join('\n')}\n`);
      lines.length = 0;
    }
  }
  closeSync(fd);
}

export async function runBackfillBench(opts: BackfillBenchOptions): Promise<BackfillBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tickwork-bench-backfill-'));
  const file = join(dir, 'trades.csv');
  const to = Math.floor(Date.now() / DAY) * DAY - DAY; // the day before yesterday ends here: well inside every default retention
  const from = to - opts.spanMs;
  writeTradeDump(file, opts.trades, from, opts.spanMs);
  const perSec: number[] = [];
  const perCpu: number[] = [];
  const candlesPerSec: number[] = [];
  let candles = 0;
  try {
    await inScope('bf', async (scope) => {
      const env = { ...scope.env, LOG_LEVEL: 'warn' };
      const ctx = await startProcess({ role: 'bench-backfill', needs: ['pg', 'redis', 'nats'], env, installSignalHandlers: false, httpPort: 0 });
      const sql = ctx.sql!;
      const store = loadStoreSettings(env);
      try {
        await prepareSchema(sql, ctx.ns.pgSchema, store);
        const venue = venueById('binance');
        const workerCfg = loadBatchWorkerConfig(env);
        for (let r = -1; r < opts.runs; r++) {
          const symbol = r < 0 ? 'BFW-USDT' : `BF${r}-USDT`;
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          const res = await backfillSymbol(ctx, {
            venue: venue.id,
            symbol,
            from,
            to,
            source: 'file',
            store,
            workerCfg,
            pages: openTradeFile({ file, format: 'binance-trades-csv', venue: venue.id, adapter: venue.createAdapter(), symbol }).pages,
          });
          const secs = (performance.now() - t0) / 1000;
          const cpu = process.cpuUsage(c0);
          if (res.trades !== opts.trades || res.invalid !== 0) throw new Error(`backfill bench: ${res.trades} trades applied, ${res.invalid} invalid, of ${opts.trades}`);
          candles = res.written.inserted;
          if (candles === 0) throw new Error('backfill bench: no candle written');
          if (r < 0) continue;
          perSec.push(res.trades / secs);
          perCpu.push(res.trades / ((cpu.user + cpu.system) / 1e6));
          candlesPerSec.push(candles / secs);
        }
      } finally {
        await sql.unsafe(`drop schema if exists "${ctx.ns.pgSchema}" cascade`).catch(() => undefined);
        await ctx.lifecycle.shutdown();
      }
    });
    return {
      trades: opts.trades,
      spanMs: opts.spanMs,
      fileMB: statSync(file).size / 1e6,
      tradesPerSec: figure(perSec),
      tradesPerCpuSec: figure(perCpu),
      candles,
      candlesPerSec: figure(candlesPerSec),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
