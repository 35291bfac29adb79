import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { TickworkError } from '../../runtime/errors.js';
import type { Trade } from '../../schemas/trade.js';
import type { VenueAdapter } from '../../venues/kit/types.js';
import type { WindowTrade } from '../windows/index.js';
import { openReplay, type ReplayFormat } from '../replay/sources.js';
import type { CsvFormat, Skipped } from './csv-scan.js';
import type { CsvWorkerData, CsvWorkerMessage } from './csv-worker.js';

export interface TradeFileOptions {
  file: string;
  format: ReplayFormat;
  venue: string;
  /** The venue's normalizer (recordings) and symbol spelling (CSV). */
  adapter: VenueAdapter;
  /** Canonical symbol: required for the CSV dumps (no symbol column), a filter for recordings. */
  symbol?: string;
}

export interface TradeFile {
  /** Trades in file order, in pages of about a thousand (the kernel's fields; recordings: whole trades). */
  pages: AsyncGenerator<BatchTrade[]>;
  /** Bytes read so far. */
  bytes(): number;
  /** Lines that are not a trade of the format (count, first 20 with their line numbers). */
  skipped: { count: number; examples: string[] };
}

/** Scanned texts (a MiB each) the reading thread may hold beyond the one being applied. */
const AHEAD = 3;
const RECORDING_PAGE = 1000;
/** Trades per CSV page: a page is applied before the next is built, so its trades die young (no copying by the scavenger). */
const PAGE = 1024;

/**
 * A replay-format file (DESIGN.md: `binance-trades-csv`, `binance-aggtrades-csv`, `recording`) as
 * pages of trades for the batch path, read exactly as `tickwork replay` reads them (same ids,
 * sides, times, counts, decimal strings untouched). The CSV layouts are scanned on a worker thread
 * (csv-scan.ts, csv-worker.ts) while this one runs the kernel: a backfill reads millions of lines
 * a second. A price or quantity that is not a decimal is refused
 * by the window kernel (the batch counts it as invalid).
 */
export function openTradeFile(opts: TradeFileOptions): TradeFile {
  if (opts.format === 'recording') {
    const r = openReplay(opts);
    return { pages: pagesOf(r.trades), bytes: r.bytes, skipped: r.skipped };
  }
  if (!opts.symbol) throw new TickworkError('USAGE_INVALID', `--symbol is required for ${opts.format} (the dumps carry no symbol column)`);
  const skipped: Skipped = { count: 0, examples: [] };
  const read = { bytes: 0 };
  return { pages: csvPages(opts.file, opts.format, skipped, read), bytes: () => read.bytes, skipped };
}

async function* pagesOf(trades: AsyncIterable<Trade>): AsyncGenerator<Trade[]> {
  let page: Trade[] = [];
  for await (const t of trades) {
    page.push(t);
    if (page.length >= RECORDING_PAGE) {
      yield page;
      page = [];
    }
  }
  if (page.length) yield page;
}

/** What the batch path reads of a trade (the window kernel's fields). */
export type BatchTrade = WindowTrade;

/**
 * The CSV dumps' trades, scanned on a worker thread (csv-worker.ts) a MiB at a time; here only the
 * three strings the kernel keeps are cut from each text and the trade objects built, a page at a
 * time as the kernel takes them (they die young).
 */
async function* csvPages(file: string, format: CsvFormat, skipped: Skipped, read: { bytes: number }): AsyncGenerator<BatchTrade[]> {
  const worker = startWorker({ file, format, ahead: AHEAD });
  const inbox: CsvWorkerMessage[] = [];
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = (): void => {
    wake?.();
    wake = null;
  };
  worker.on('message', (m: CsvWorkerMessage) => {
    inbox.push(m);
    notify();
  });
  worker.on('error', (err) => {
    failure ??= err;
    notify();
  });
  worker.on('exit', (code) => {
    failure ??= new TickworkError('FILE_READ_FAILED', `${file}: the reading thread stopped (exit code ${code}) before the end of the file`);
    notify();
  });
  try {
    for (;;) {
      const m = inbox.shift();
      if (!m) {
        if (failure) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      if (m.kind === 'error') throw new TickworkError('FILE_READ_FAILED', `${file}: ${m.message}`);
      read.bytes = m.bytes;
      if (m.kind === 'end') {
        skipped.count = m.skipped.count;
        skipped.examples.push(...m.skipped.examples);
        return;
      }
      worker.postMessage('more'); // the worker scans the next text while these trades are applied
      const { text, n, at, ts, sell, count } = m.scanned;
      for (let from = 0; from < n; from += PAGE) {
        const to = Math.min(n, from + PAGE);
        const page: BatchTrade[] = new Array(to - from);
        for (let i = from; i < to; i++) {
          const k = 4 * i;
          const idEnd = at[k + 1]!;
          const priceEnd = at[k + 2]!;
          page[i - from] = {
            id: text.slice(at[k]!, idEnd),
            price: text.slice(idEnd + 1, priceEnd),
            qty: text.slice(priceEnd + 1, at[k + 3]!),
            side: sell[i] === 1 ? 'sell' : 'buy',
            ts: ts[i]!,
            count: count ? count[i]! : 1,
          };
        }
        yield page;
      }
    }
  } finally {
    worker.removeAllListeners('exit');
    await worker.terminate();
  }
}

/**
 * The worker: csv-worker.js beside this module in the built tree (dist/actors/batch/), also when
 * this code runs from a bundle chunk (dist/chunks/); when the sources run as they are (tests),
 * csv-worker.ts loaded through tsx's loader, registered in the new thread first.
 */
function startWorker(workerData: CsvWorkerData): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // tsx's ES-module API (its CommonJS build resolves its own files wrongly from an eval'd thread).
    const api = pathToFileURL(createRequire(here).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
    const entry = new URL('./csv-worker.ts', here).href;
    return new Worker(`import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`, { eval: true, workerData });
  }
  for (const rel of ['./csv-worker.js', '../actors/batch/csv-worker.js']) {
    const url = new URL(rel, here);
    if (existsSync(url)) return new Worker(url, { workerData });
  }
  throw new TickworkError('FILE_READ_FAILED', `csv-worker.js not found beside ${fileURLToPath(here)}`);
}
