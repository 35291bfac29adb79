import { crc32 } from 'node:zlib';
import { BookSync, SymbolBooks, type BookOutput, type BookSyncOptions, type Level, type OrderBook, type RawLevel } from '../../actors/book/index.js';
import type { BookFrame, VenueBooks } from '../kit/types.js';
import { BOOK_DEPTH } from './adapter.js';
import { rfc3339ToMs, secondsTextToMs } from '../kit/frame.js';
import { TickworkError } from '../../runtime/errors.js';
import { KRAKEN_BOOK_DEPTHS, type KrakenV1BookFrame, type KrakenV2BookData } from './book-schemas.js';

/**
 * Kraken `book` sync for one pair (pure; see actors/book/sync.ts for the shape). No sequence
 * numbers: every message carries a CRC32 of the top 10 per side (v1: updates only), checked after
 * the whole message is applied and the book truncated to the subscribed depth (Kraken sends no
 * deletes for levels pushed out of range). Resync = unsubscribe + subscribe, which brings a snapshot.
 */
export class KrakenBookSync extends BookSync {
  protected readonly resyncKind = 'resubscribe' as const;
  /** The subscribed depth (10, 25, 100, 500 or 1000). */
  readonly depth: number;

  constructor(opts: Omit<BookSyncOptions, 'venue'> & { venue?: string; depth: number }) {
    super({ ...opts, venue: opts.venue ?? 'kraken' });
    if (!(KRAKEN_BOOK_DEPTHS as readonly number[]).includes(opts.depth)) {
      throw new TickworkError('CONFIG_INVALID', `Kraken book depth must be one of ${KRAKEN_BOOK_DEPTHS.join(', ')}, got ${opts.depth}`);
    }
    this.depth = opts.depth;
  }

  /** One `data` item of a v2 `book` message for this pair (decoded with `decodeKrakenV2Book`, checked). */
  onV2(type: 'snapshot' | 'update', d: KrakenV2BookData, recvTs: number, out: BookOutput): void {
    const ts = d.timestamp === undefined ? recvTs : rfc3339ToMs(d.timestamp);
    this.onMessage(type === 'snapshot', d.asks.map(v2Level), d.bids.map(v2Level), d.checksum, Number.isNaN(ts) ? recvTs : ts, recvTs, out);
  }

  /** One v1 book frame for this pair (checked with `KrakenV1BookCheck`, then `normalizeKrakenV1Book`). */
  onV1(f: KrakenV1BookFrame, recvTs: number, out: BookOutput): void {
    // v1 has no message time: an update happened at its latest level time; snapshot levels are old
    let ts = 0;
    if (!f.snapshot) {
      for (const l of f.asks) ts = Math.max(ts, secondsTextToMs(l[2]));
      for (const l of f.bids) ts = Math.max(ts, secondsTextToMs(l[2]));
    }
    this.onMessage(f.snapshot, f.asks, f.bids, f.checksum, ts > 0 ? ts : recvTs, recvTs, out);
  }

  private onMessage(snapshot: boolean, askLevels: readonly RawLevel[], bidLevels: readonly RawLevel[], checksum: number | undefined, ts: number, recvTs: number, out: BookOutput): void {
    if (snapshot) {
      this.book.clear();
      if (!this.applyLevels('ask', askLevels, null, recvTs, out) || !this.applyLevels('bid', bidLevels, null, recvTs, out)) return;
      this.book.truncate(this.depth);
      if (!this.verify(checksum, recvTs, out)) return;
      this.begin(ts, recvTs, undefined, checksum, out);
      return;
    }
    if (this.state === 'syncing') return; // the snapshot our (re)subscribe brings opens the next epoch
    const asks: Level[] = [];
    const bids: Level[] = [];
    if (!this.applyLevels('ask', askLevels, asks, recvTs, out) || !this.applyLevels('bid', bidLevels, bids, recvTs, out)) return;
    const cut = this.book.truncate(this.depth);
    if (cut.asks.length > 0) asks.push(...cut.asks);
    if (cut.bids.length > 0) bids.push(...cut.bids);
    if (!this.verify(checksum, recvTs, out)) return;
    this.delta(bids, asks, ts, recvTs, undefined, checksum, out);
  }

  private verify(checksum: number | undefined, recvTs: number, out: BookOutput): boolean {
    if (!this.checkUncrossed(recvTs, out)) return false;
    if (checksum === undefined || krakenChecksum(this.book) === checksum) return true;
    this.fail('checksum', recvTs, out);
    return false;
  }
}

function v2Level(l: { price: string; qty: string }): RawLevel {
  return [l.price, l.qty];
}

/** `"0.05000"` → `"5000"`: the dot removed, then leading zeros. */
function checksumText(s: string): string {
  const t = s.replace('.', '');
  let i = 0;
  while (i < t.length - 1 && t.charCodeAt(i) === 48) i++;
  return t.slice(i);
}

/** Kraken book checksum (v1 and v2): unsigned CRC32 of the top 10 asks (ascending) then bids (descending), as sent. */
export function krakenChecksum(book: OrderBook): number {
  let s = '';
  const { asks, bids } = book;
  for (let i = 0; i < Math.min(10, asks.size); i++) s += checksumText(asks.priceAt(i)) + checksumText(asks.qtyAt(i));
  for (let i = 0; i < Math.min(10, bids.size); i++) s += checksumText(bids.priceAt(i)) + checksumText(bids.qtyAt(i));
  return crc32(s);
}

/** One `data` item of a v2 book message, as the adapter hands it over. */
interface KrakenBookItem {
  type: 'snapshot' | 'update';
  data: KrakenV2BookData;
}

/** The v2 `book` syncs of one connection, at the subscribed depth. */
export class KrakenBooks extends SymbolBooks<KrakenBookSync> {
  protected create(symbol: string, venueSymbol: string, now: number): KrakenBookSync {
    return new KrakenBookSync({ venue: this.opts.venue, symbol, venueSymbol, now, depth: BOOK_DEPTH, ...(this.opts.resyncTimeoutMs !== undefined ? { resyncTimeoutMs: this.opts.resyncTimeoutMs } : {}) });
  }

  onFrame(frame: BookFrame, recvTs: number, out: BookOutput): void {
    const item = frame.msg as KrakenBookItem;
    this.syncOf(frame)?.onV2(item.type, item.data, recvTs, out);
  }
}

/** Kraken books: v2 `book` at depth 100 (CRC32 over the top 10 after every message; resync = resubscribe). */
export const krakenBooks: VenueBooks = {
  subscription: `book (depth ${BOOK_DEPTH})`,
  createRouter: (opts) => new KrakenBooks(opts),
};
