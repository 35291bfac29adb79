import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseRecordingLine } from '../../runtime/recording.js';
import type { Trade } from '../../schemas/trade.js';
import { TickworkError } from '../../runtime/errors.js';
import { clearParseOutput, newParseOutput, type VenueAdapter } from '../../venues/kit/types.js';

export const REPLAY_FORMATS = ['binance-trades-csv', 'binance-aggtrades-csv', 'recording'] as const;
export type ReplayFormat = (typeof REPLAY_FORMATS)[number];

export interface ReplaySource {
  /** Trades in file order; `bytes()` says how far into the file the reader is. */
  trades: AsyncGenerator<Trade>;
  bytes(): number;
  /** Stops reading (the file is closed). */
  close(): void;
  /** Lines that could not be read as a trade (with their line numbers, first 20). */
  skipped: { count: number; examples: string[] };
}

export interface ReplayOptions {
  file: string;
  format: ReplayFormat;
  venue: string;
  /** The venue's normalizer (recordings) and symbol spelling (CSV). */
  adapter: VenueAdapter;
  /** Canonical symbol for CSV files (required there: Binance dumps carry no symbol column). */
  symbol?: string;
}

/**
 * Reads a file as the trades a live feed would have published: the same normalization (venue
 * adapter for recordings), the same ids, decimal strings untouched. `recvTs` is the recording's
 * receipt time, or the trade time for CSV dumps (they carry no receipt time).
 */
export function openReplay(opts: ReplayOptions): ReplaySource {
  const stream = createReadStream(opts.file);
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  const skipped = { count: 0, examples: [] as string[] };
  const skip = (n: number, why: string) => {
    skipped.count++;
    if (skipped.examples.length < 20) skipped.examples.push(`line ${n}: ${why}`);
  };
  const trades = opts.format === 'recording' ? fromRecording(lines, opts, skip) : fromCsv(lines, opts, skip);
  return {
    trades,
    bytes: () => stream.bytesRead,
    skipped,
    close: () => {
      lines.close();
      stream.destroy();
    },
  };
}

async function* fromRecording(lines: AsyncIterable<string>, opts: ReplayOptions, skip: (n: number, why: string) => void): AsyncGenerator<Trade> {
  const { adapter } = opts;
  const out = newParseOutput();
  let n = 0;
  for await (const text of lines) {
    n++;
    const line = parseRecordingLine(text, n);
    if (!line) {
      if (text.trim()) skip(n, 'not a recording line');
      continue;
    }
    if (line.kind !== 'received') continue;
    adapter.parse(line.data, Math.floor(line.ts), out);
    for (const t of out.trades) if (!opts.symbol || t.symbol === opts.symbol) yield t;
    if (out.rejects.length) skip(n, out.rejects[0]!.detail);
    clearParseOutput(out);
  }
}

const DECIMAL = /^[0-9]+(\.[0-9]+)?$/;
const INT = /^[0-9]+$/;

async function* fromCsv(lines: AsyncIterable<string>, opts: ReplayOptions, skip: (n: number, why: string) => void): AsyncGenerator<Trade> {
  if (!opts.symbol) throw new TickworkError('USAGE_INVALID', '--symbol is required for CSV formats (the dumps carry no symbol column)');
  const venueSymbol = opts.adapter.toVenueSymbol(opts.symbol);
  const agg = opts.format === 'binance-aggtrades-csv';
  let n = 0;
  for await (const text of lines) {
    n++;
    if (!text.trim()) continue;
    const f = text.split(',');
    // trades:    id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch
    // aggTrades: aggId,price,qty,firstId,lastId,time,isBuyerMaker,isBestMatch
    const [id, price, qty] = f as [string, string, string];
    const time = agg ? f[5] : f[4];
    const maker = agg ? f[6] : f[5];
    if (n === 1 && !INT.test(id)) continue; // header line in newer dumps
    if (!INT.test(id) || !DECIMAL.test(price ?? '') || !DECIMAL.test(qty ?? '') || !INT.test(time ?? '') || !/^(true|false|True|False)$/.test(maker ?? '')) {
      skip(n, `expected ${agg ? 8 : 7} fields of the ${opts.format} layout`);
      continue;
    }
    let ts = Number(time);
    if (ts > 1e14) ts = Math.floor(ts / 1000); // dumps since 2025 use microseconds
    const trade: Trade = {
      venue: opts.venue,
      symbol: opts.symbol,
      venueSymbol,
      id,
      price,
      qty,
      side: maker!.toLowerCase() === 'true' ? 'sell' : 'buy',
      ts,
      recvTs: ts,
    };
    if (agg) {
      const first = Number(f[3]);
      const last = Number(f[4]);
      if (!(last >= first)) {
        skip(n, 'lastId < firstId');
        continue;
      }
      trade.count = last - first + 1;
    }
    yield trade;
  }
}
