import { runCandleBatch, type CandleBatchResult } from '../actors/batch/candle-batch.js';
import type { WindowTrade } from '../actors/windows/index.js';
import { TickworkError } from '../runtime/errors.js';
import { startProcess } from '../runtime/process.js';
import type { Candle } from '../schemas/candle.js';
import type { Trade } from '../schemas/trade.js';
import { CandleBulkWriter } from '../store/candle-bulk.js';
import { CandleStore, loadStoreSettings } from '../store/candles.js';
import { recordHistoryRanges } from '../store/history-ranges.js';
import { loadArchiveSettings, TradeArchive } from '../store/trade-archive.js';
import { venueById } from '../venues/index.js';
import { checkRange, warnRetention } from './backfill.js';
import { batchWindowsConfig, diffStored, loadBatchWorkerConfig, storedTrades, type CandleDiff } from './history.js';

export interface RebuildArgs {
  venue: string;
  symbol: string;
  /** [from, to), epoch ms. */
  from: number;
  to: number;
  /** `stream`: the raw trades in MD_TRADES; `archive`: the trade archive's verified files. */
  source: 'stream' | 'archive';
  /** Print the differences with the stored candles; write nothing. */
  dryRun: boolean;
  archiveDir?: string;
}

export interface RebuildReport {
  venue: string;
  symbol: string;
  source: string;
  dryRun: boolean;
  trades: number;
  computed: number;
  /** Dry run: the candles that would change (`missing`: not stored; `extra`: stored, not computed). */
  differ?: number;
  diffs?: string[];
  /** Rows replaced. */
  deleted?: number;
  written?: number;
}

/** Differences printed by a dry run (the count is always complete). */
const MAX_DIFFS_SHOWN = 500;
const LEAD_IN_MS = 5 * 60_000;

/**
 * `tickwork rebuild`: recomputes the stored candles of one venue+symbol for a range from the raw
 * trades (MD_TRADES, or the trade archive) with the live path's kernel, and replaces them in one
 * transaction (for operators after a fix). Every bar wholly inside [from, to) of the stored
 * timeframes is replaced, live ones included; `--dry-run` prints the differences and writes
 * nothing. Prints one JSON line.
 */
export async function runRebuild(args: RebuildArgs, base: NodeJS.ProcessEnv = process.env): Promise<RebuildReport> {
  const venue = venueById(args.venue);
  checkRange(args.from, args.to);
  const workerCfg = loadBatchWorkerConfig(base);
  const store = loadStoreSettings(base);
  const archiveDir = args.archiveDir ?? loadArchiveSettings(base).TICKWORK_ARCHIVE_DIR;
  const archive = args.source === 'archive' ? new TradeArchive(archiveDir) : null;
  if (args.source === 'stream') await refuseArchivedDays(new TradeArchive(archiveDir), args);
  const ctx = await startProcess({ role: 'rebuild', needs: args.source === 'stream' ? ['pg', 'nats'] : ['pg'], env: base, installSignalHandlers: true });
  try {
    const { symbol, from, to } = args;
    const log = ctx.log.child({ venue: venue.id, symbol });
    const sql = ctx.sql!;
    const schema = ctx.ns.pgSchema;
    if (!args.dryRun) warnRetention(log, from, store);
    const windows = batchWindowsConfig(workerCfg, venue.id, symbol);
    const tfs = (windows.timeframes ?? []).filter((tf) => store.storedTfs.includes(tf));
    const pages = (): AsyncIterable<readonly WindowTrade[]> =>
      archive ? archive.trades(venue.id, symbol, from - LEAD_IN_MS, to) : streamPages(storedTrades(ctx.nats!, ctx.ns, log, venue.id, symbol), to);
    const report: RebuildReport = { venue: venue.id, symbol, source: args.source, dryRun: args.dryRun, trades: 0, computed: 0 };
    if (args.dryRun) {
      const computed: Candle[] = [];
      const res = await runCandleBatch(pages(), { windows, fromMs: from, toMs: to, write: async (c) => void computed.push(...c) });
      const candles = new CandleStore(sql, { schema, storedTfs: store.storedTfs });
      const { diffs } = await diffStored(candles, venue.id, symbol, computed.filter((c) => tfs.includes(c.tf as never)), { fromMs: from, toMs: to, tfs });
      Object.assign(report, { trades: res.applied, computed: computed.length, differ: diffs.length, diffs: diffs.slice(0, MAX_DIFFS_SHOWN).map(describe) });
    } else {
      await new CandleStore(sql, { schema, storedTfs: store.storedTfs }).ensurePartitions(from, to);
      await recordHistoryRanges(sql, schema, { venue: venue.id, symbol, tfs, fromMs: from, toMs: to, source: 'rebuild' });
      const writer = new CandleBulkWriter(sql, schema, store.storedTfs);
      const out = await writer.replaceRange(venue.id, symbol, tfs, from, to, (write): Promise<CandleBatchResult> => runCandleBatch(pages(), { windows, fromMs: from, toMs: to, write }));
      Object.assign(report, { trades: out.result.applied, computed: Object.values(out.result.written).reduce((a, n) => a + n, 0), deleted: out.deleted, written: out.written });
    }
    log.info({ ...report, diffs: undefined }, 'rebuild done');
    process.stdout.write(`${JSON.stringify({ rebuild: report })}\n`);
    return report;
  } finally {
    await ctx.lifecycle.shutdown();
  }
}

/**
 * A rebuild from MD_TRADES over days the archive moved out of it would replace their candles with
 * what little is left in the stream: refused, naming the source that has them.
 */
async function refuseArchivedDays(archive: TradeArchive, args: RebuildArgs): Promise<void> {
  const days = (await archive.days(args.venue, args.symbol)).filter((d) => {
    const start = Date.parse(`${d}T00:00:00.000Z`);
    return start < args.to && start + 86_400_000 > args.from;
  });
  if (days.length) {
    throw new TickworkError(
      'USAGE_INVALID',
      `--source stream: ${args.venue}:${args.symbol} trades of ${days[0]}${days.length > 1 ? ` … ${days.at(-1)}` : ''} were moved to the trade archive (${archive.dir}); rebuild them with --source archive`,
    );
  }
}

/** MD_TRADES batches as pages of trades, up to the first trade at or past the range end. */
async function* streamPages(batches: AsyncIterable<{ trade: Trade }[]>, toMs: number): AsyncGenerator<Trade[]> {
  for await (const batch of batches) yield batch.map((b) => b.trade).filter((t) => t.ts < toMs);
}

const describe = (d: CandleDiff): string => `${d.tf} ${new Date(d.openTime).toISOString()}: ${d.fields.join(',')}`;
