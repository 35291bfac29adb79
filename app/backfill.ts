import { stat } from 'node:fs/promises';
import { runCandleBatch, type CandleBatchResult } from '../actors/batch/candle-batch.js';
import { openTradeFile } from '../actors/batch/file-source.js';
import { loadFeedConfig, urlsFor } from '../actors/feed/config.js';
import type { ReplayFormat } from '../actors/replay/sources.js';
import type { WindowTrade } from '../actors/windows/index.js';
import { TickworkError } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import { startProcess, type ProcessContext } from '../runtime/process.js';
import type { Candle } from '../schemas/candle.js';
import type { Tf } from '../schemas/common.js';
import { CandleBulkWriter, type BulkResult } from '../store/candle-bulk.js';
import { CandleStore, loadStoreSettings, type StoreSettings } from '../store/candles.js';
import { recordHistoryRanges, retentionWarnings, type RetentionWarning } from '../store/history-ranges.js';
import { loadArchiveSettings, TradeArchive } from '../store/trade-archive.js';
import { restTradeRange, tradeLike } from '../venues/kit/history.js';
import { venueById } from '../venues/index.js';
import { batchWindowsConfig, diffStored, liveSeam, loadBatchWorkerConfig } from './history.js';

export type BackfillSource = 'venue' | 'file' | 'archive';

export interface BackfillArgs {
  venue: string;
  symbols: string[];
  /** [from, to), epoch ms. */
  from: number;
  to: number;
  source: BackfillSource;
  /** `--source file`: the file and its replay format. */
  file?: string;
  format?: ReplayFormat;
  /** `--source archive`: the archive folder (default TICKWORK_ARCHIVE_DIR). */
  archiveDir?: string;
}

export interface SymbolBackfill {
  symbol: string;
  trades: number;
  invalid: number;
  candles: Partial<Record<Tf, number>>;
  written: BulkResult;
  /** Per timeframe, the live path's first bar (ISO): bars from there on are the live path's. */
  seam: Partial<Record<Tf, string>>;
  /** Computed bars the live path owns, compared with the stored ones. */
  overlap: { compared: number; equal: number; differ: number; examples: string[] };
}

/** Reading trades before the range: the latest of them carries the gap bars before the range's first trade. */
const LEAD_IN_MS = 5 * 60_000;
/** Live-owned bars kept for the overlap comparison (the rest are counted, not compared). */
const MAX_COMPARED = 200_000;

/**
 * `tickwork backfill`: candles of a past range from the venue's REST history, a replay-format file
 * or the trade archive, computed by the live path's window kernel and written in bulk to
 * PostgreSQL. Nothing of the live path is touched: no trade is published, no actor state written;
 * Redis and MD_TRADES are only read, for the seam (see actors/batch/candle-batch.ts: bars from
 * the live path's first bar on are left to it, and compared). Idempotent: a re-run writes nothing.
 * A range older than a timeframe's retention is warned about before anything starts, and its
 * candles are recorded as a history range that retention skips (store/history-ranges.ts).
 * Prints one JSON line: the per-symbol counts.
 */
export async function runBackfill(args: BackfillArgs, base: NodeJS.ProcessEnv = process.env): Promise<SymbolBackfill[]> {
  const venue = venueById(args.venue);
  checkRange(args.from, args.to);
  const workerCfg = loadBatchWorkerConfig(base);
  const store = loadStoreSettings(base);
  const restUrl = args.source === 'venue' ? urlsFor(loadFeedConfig(base), venue).rest : undefined;
  const archive = args.source === 'archive' ? new TradeArchive(args.archiveDir ?? loadArchiveSettings(base).TICKWORK_ARCHIVE_DIR) : null;
  if (args.source === 'file') await checkFile(args);
  if (args.source === 'venue') restTradeRange(venue, restUrl); // no history or no URL: say so before connecting

  const ctx = await startProcess({ role: 'backfill', needs: ['pg', 'redis', 'nats'], env: base, installSignalHandlers: true });
  try {
    const warnings = warnRetention(ctx.log, args.from, store);
    const out: SymbolBackfill[] = [];
    for (const symbol of args.symbols) {
      if (ctx.lifecycle.isStopping) break;
      const pages = (): AsyncIterable<readonly WindowTrade[]> => {
        if (args.source === 'venue') {
          const like = tradeLike(venue, symbol, venue.createAdapter().toVenueSymbol(symbol));
          return restTradeRange(venue, restUrl)(like, args.from - LEAD_IN_MS, args.to);
        }
        if (args.source === 'archive') return archive!.trades(venue.id, symbol, args.from - LEAD_IN_MS, args.to);
        return openTradeFile({ file: args.file!, format: args.format!, venue: venue.id, adapter: venue.createAdapter(), symbol }).pages;
      };
      out.push(await backfillSymbol(ctx, { venue: venue.id, symbol, from: args.from, to: args.to, source: args.source, store, workerCfg: workerCfg, pages: pages() }));
    }
    process.stdout.write(`${JSON.stringify({ backfill: out, warnings: warnings.map((w) => w.message) })}\n`);
    return out;
  } finally {
    await ctx.lifecycle.shutdown();
  }
}

/** One venue+symbol through the kernel into the bulk writer, within the seam; the overlap compared. */
export async function backfillSymbol(
  ctx: ProcessContext,
  job: {
    venue: string;
    symbol: string;
    from: number;
    to: number;
    source: string;
    store: StoreSettings;
    workerCfg: ReturnType<typeof loadBatchWorkerConfig>;
    pages: AsyncIterable<readonly WindowTrade[]>;
  },
): Promise<SymbolBackfill> {
  const { venue, symbol, from, to } = job;
  const log = ctx.log.child({ venue, symbol });
  const sql = ctx.sql!;
  const schema = ctx.ns.pgSchema;
  const windows = batchWindowsConfig(job.workerCfg, venue, symbol);
  const candles = new CandleStore(sql, { schema, storedTfs: job.store.storedTfs, retentionMs: job.store.retentionMs });
  await candles.ensurePartitions(from, to);
  const seam = await liveSeam({ redis: ctx.redis!, nats: ctx.nats!, ns: ctx.ns, log }, windows);
  // Recorded before any write: a retention pass running meanwhile already spares them.
  const tfs = (windows.timeframes ?? []).filter((tf) => job.store.storedTfs.includes(tf));
  // One statement per range end (one in all without live candles), not one per timeframe.
  const byEnd = new Map<number, Tf[]>();
  for (const tf of tfs) {
    const end = Math.min(to, seam[tf] ?? to);
    if (from < end) byEnd.set(end, [...(byEnd.get(end) ?? []), tf]);
  }
  for (const [end, ends] of byEnd) await recordHistoryRanges(sql, schema, { venue, symbol, tfs: ends, fromMs: from, toMs: end, source: job.source });
  const writer = new CandleBulkWriter(sql, schema, job.store.storedTfs);
  const written: BulkResult = { inserted: 0, updated: 0, unchanged: 0 };
  const owned: Candle[] = [];
  let notCompared = 0;
  const invalid: string[] = [];
  let read = 0;
  const progress = setInterval(() => log.info({ trades: read }, 'backfill progress'), 5_000);
  progress.unref();
  let res: CandleBatchResult;
  try {
    res = await runCandleBatch(counted(job.pages, (n) => (read += n)), {
      windows,
      fromMs: from,
      toMs: to,
      seam,
      write: async (batch) => {
        const r = await writer.upsert(batch);
        written.inserted += r.inserted;
        written.updated += r.updated;
        written.unchanged += r.unchanged;
      },
      compare: (batch) => {
        for (const c of batch) {
          // The live path's first bar starts at its first trade: partial by design, not comparable.
          if (c.openTime === seam[c.tf as Tf]) continue;
          if (owned.length < MAX_COMPARED) owned.push(c);
          else notCompared++;
        }
      },
      onInvalid: (t, err) => {
        if (invalid.length < 5) invalid.push(`trade ${t.id}: ${err.message}`);
      },
    });
  } finally {
    clearInterval(progress);
  }
  if (invalid.length) log.warn({ invalid: res.invalid, examples: invalid }, 'trades the window kernel refused were skipped');
  const { compared, diffs } = owned.length ? await diffStored(candles, venue, symbol, owned) : { compared: 0, diffs: [] };
  const differ = diffs.filter((d) => !d.fields.includes('extra')).length;
  const examples = diffs.slice(0, 5).map((d) => `${d.tf} ${new Date(d.openTime).toISOString()}: ${d.fields.join(',')}`);
  if (differ > 0) log.warn({ differ, examples }, 'computed candles differ from the live ones in the overlap (left as stored)');
  log.info({ trades: res.applied, candles: res.written, ...written, overlap: { compared, differ, notCompared } }, 'backfill done');
  return {
    symbol,
    trades: res.applied,
    invalid: res.invalid,
    candles: res.written,
    written,
    seam: Object.fromEntries(Object.entries(seam).map(([tf, ms]) => [tf, new Date(ms).toISOString()])),
    overlap: { compared, equal: compared - differ, differ, examples },
  };
}

async function* counted<T>(pages: AsyncIterable<readonly T[]>, onPage: (n: number) => void): AsyncGenerator<readonly T[]> {
  for await (const p of pages) {
    onPage(p.length);
    yield p;
  }
}

/** Logs, before anything is written, each timeframe whose retention the range reaches past. */
export function warnRetention(log: Logger, from: number, store: StoreSettings, now = Date.now()): RetentionWarning[] {
  const warnings = retentionWarnings(from, now, store.retentionMs, store.storedTfs);
  for (const w of warnings) log.warn({ tf: w.tf, variable: w.variable, cutoff: new Date(w.cutoff).toISOString() }, w.message);
  return warnings;
}

export function checkRange(from: number, to: number): void {
  if (!Number.isFinite(from) || !Number.isFinite(to)) throw new TickworkError('USAGE_INVALID', '--from and --to are required (ISO 8601 or epoch ms)');
  if (!(from < to)) throw new TickworkError('USAGE_INVALID', `--from ${new Date(from).toISOString()} must be before --to ${new Date(to).toISOString()}`);
}

async function checkFile(args: BackfillArgs): Promise<void> {
  if (!args.file || !args.format) throw new TickworkError('USAGE_INVALID', '--source file needs --file and --format');
  if (args.format !== 'recording' && args.symbols.length !== 1) {
    throw new TickworkError('USAGE_INVALID', `--source file with ${args.format} takes one symbol (the dumps carry no symbol column)`);
  }
  try {
    await stat(args.file);
  } catch {
    throw new TickworkError('FILE_NOT_FOUND', `--file ${args.file}: no such file`);
  }
}
