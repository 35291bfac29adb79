import { createReadStream } from 'node:fs';
import { TickworkError } from '../../runtime/errors.js';
import type { Trade } from '../../schemas/trade.js';
import type { VenueAdapter } from '../../venues/kit/types.js';
import type { WindowTrade } from '../windows/index.js';
import { openReplay, type ReplayFormat } from '../replay/sources.js';

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

const CHUNK_BYTES = 1 << 20;
const RECORDING_PAGE = 1000;
/** Trades per CSV page: a page is applied before the next is built, so its trades die young (no copying by the scavenger). */
const PAGE = 1024;

/**
 * A replay-format file (DESIGN.md: `binance-trades-csv`, `binance-aggtrades-csv`, `recording`) as
 * pages of trades for the batch path, read exactly as `tickwork replay` reads them (same ids,
 * sides, times, counts, decimal strings untouched). The CSV layouts are scanned by hand, a chunk
 * at a time, with no substring or regular expression per field but the four the kernel keeps: a
 * backfill reads millions of lines a second. A price or quantity that is not a decimal is refused
 * by the window kernel (the batch counts it as invalid).
 */
export function openTradeFile(opts: TradeFileOptions): TradeFile {
  if (opts.format === 'recording') {
    const r = openReplay(opts);
    return { pages: pagesOf(r.trades), bytes: r.bytes, skipped: r.skipped };
  }
  if (!opts.symbol) throw new TickworkError('USAGE_INVALID', `--symbol is required for ${opts.format} (the dumps carry no symbol column)`);
  const stream = createReadStream(opts.file, { highWaterMark: CHUNK_BYTES });
  const skipped = { count: 0, examples: [] as string[] };
  return { pages: csvPages(stream, opts, skipped), bytes: () => stream.bytesRead, skipped };
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

async function* csvPages(
  stream: AsyncIterable<Buffer | string>,
  opts: TradeFileOptions,
  skipped: { count: number; examples: string[] },
): AsyncGenerator<BatchTrade[]> {
  const agg = opts.format === 'binance-aggtrades-csv';
  // trades:    id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch
  // aggTrades: aggId,price,qty,firstId,lastId,time,isBuyerMaker,isBestMatch
  const fields = agg ? 8 : 7;
  const timeField = agg ? 5 : 4;
  const layout = `expected ${fields} fields of the ${opts.format} layout`;
  // Field boundaries of the current line: field k is text[at[k], at[k + 1] - 1).
  const at = new Int32Array(fields + 1);
  let n = 0;
  const skip = (why: string): void => {
    skipped.count++;
    if (skipped.examples.length < 20) skipped.examples.push(`line ${n}: ${why}`);
  };
  /** Digits of text[from, to) as a number; −1 unless 1–19 ASCII digits. */
  const int = (text: string, from: number, to: number): number => {
    if (to <= from || to - from > 19) return -1;
    let v = 0;
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return -1;
      v = v * 10 + c;
    }
    return v;
  };
  /**
   * The complete lines of `text` from `start` up to `end` (a newline) as trades, into `page` until
   * it holds PAGE trades; returns where the next line starts.
   */
  const parse = (text: string, start: number, end: number, page: BatchTrade[]): number => {
    while (start <= end && page.length < PAGE) {
      let stop = text.indexOf('\n', start);
      if (stop < 0 || stop > end) stop = end;
      const lineEnd = stop > start && text.charCodeAt(stop - 1) === 13 ? stop - 1 : stop;
      const lineStart = start;
      start = stop + 1;
      n++;
      if (lineEnd === lineStart) continue;
      at[0] = lineStart;
      let k = 1;
      for (let i = lineStart; k < fields && i < lineEnd; ) {
        const comma = text.indexOf(',', i);
        if (comma < 0 || comma >= lineEnd) break;
        at[k++] = comma + 1;
        i = comma + 1;
      }
      at[fields] = lineEnd + 1;
      const idEnd = at[1]! - 1;
      const time = k === fields ? int(text, at[timeField]!, at[timeField + 1]! - 1) : -1;
      if (time < 0 || int(text, lineStart, idEnd) < 0) {
        if (n !== 1 || k !== fields) skip(layout); // line 1 may be a header
        continue;
      }
      // isBuyerMaker: true/True → the taker sold; false/False → the taker bought.
      const m = at[timeField + 1]!;
      const mLen = at[timeField + 2]! - 1 - m;
      const c = text.charCodeAt(m) | 32;
      const sell = c === 116 && mLen === 4;
      if (!sell && !(c === 102 && mLen === 5)) {
        skip(layout);
        continue;
      }
      const ts = time > 1e14 ? Math.floor(time / 1000) : time; // dumps since 2025 use microseconds
      let count = 1;
      if (agg) {
        const first = int(text, at[3]!, at[4]! - 1);
        const last = int(text, at[4]!, at[5]! - 1);
        if (first < 0 || !(last >= first)) {
          skip(first < 0 ? layout : 'lastId < firstId');
          continue;
        }
        count = last - first + 1;
      }
      page.push({ id: text.slice(lineStart, idEnd), price: text.slice(at[1]!, at[2]! - 1), qty: text.slice(at[2]!, at[3]! - 1), side: sell ? 'sell' : 'buy', ts, count });
    }
    return start;
  };
  // Lines are scanned inside each chunk's own (flat) string; only the line split across two chunks
  // is joined (a concatenated string would make every character read slower).
  let rest = '';
  for await (const chunk of stream) {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    const first = text.indexOf('\n');
    if (first < 0) {
      rest += text;
      continue;
    }
    const joined = `${rest}${text.slice(0, first)}\n`;
    let page: BatchTrade[] = [];
    parse(joined, 0, joined.length - 1, page);
    const end = text.lastIndexOf('\n');
    for (let pos = first + 1; pos <= end; ) {
      pos = parse(text, pos, end, page);
      if (page.length >= PAGE) {
        yield page;
        page = [];
      }
    }
    rest = text.slice(end + 1);
    if (page.length) yield page;
  }
  // The last line without a newline.
  if (rest.length) {
    const page: BatchTrade[] = [];
    parse(`${rest}\n`, 0, rest.length, page);
    if (page.length) yield page;
  }
}
