import { crc32 } from 'node:zlib';
import { BookSync, SymbolBooks, type BookOutput, type BookSyncOptions, type Level, type OrderBook } from '../../actors/book/index.js';
import { TickworkError } from '../../runtime/errors.js';
import { SymbolMap } from '../kit/symbols.js';
import type { BookFrame, PerpBooks, VenueBooks } from '../kit/types.js';
import { OkxAdapter } from './adapter.js';
import type { OkxBooks } from './book-schemas.js';
import { isSwap, perpOfSwap, swapContracts, swapOf } from './derivs.js';

/**
 * OKX v5 `books` sync for one instrument (pure; see actors/book/sync.ts for the shape).
 *
 * - `snapshot` (400 levels; `prevSeqId` −1) replaces the book and opens an epoch.
 * - `update`: `prevSeqId` must equal the last `seqId` (keep-alives repeat it: `seqId == prevSeqId`;
 *   after maintenance `seqId` may go backwards, which this rule accepts). OKX deletes levels that
 *   leave its 400-level window itself, so nothing is truncated here.
 * - `checksum`, when present and not 0, is verified after the whole frame: signed CRC32 of
 *   `bid1px:bid1sz:ask1px:ask1sz:…` over the top 25 per side, raw text (deprecated live, where it
 *   is 0; the 2022 recordings carry it and have no seqId).
 * - Resync = unsubscribe + subscribe (`resubscribe`): each spends the 480/h per-connection budget.
 */
export class OkxBookSync extends BookSync {
  protected readonly resyncKind = 'resubscribe' as const;
  private lastSeqId: number | null = null;

  constructor(opts: Omit<BookSyncOptions, 'venue'> & { venue?: string }) {
    super({ ...opts, venue: opts.venue ?? 'okx' });
  }

  /** One `books*` push for this instrument (already checked with `OkxBooksCheck`). */
  onMessage(msg: OkxBooks, recvTs: number, out: BookOutput): void {
    const action = msg.action ?? 'snapshot';
    for (const d of msg.data) {
      if (action === 'snapshot') this.snapshot(d, recvTs, out);
      else this.update(d, recvTs, out);
    }
  }

  private snapshot(d: OkxBooks['data'][number], recvTs: number, out: BookOutput): void {
    this.book.clear();
    if (!this.applyLevels('ask', d.asks, null, recvTs, out) || !this.applyLevels('bid', d.bids, null, recvTs, out)) return;
    if (!this.verify(d.checksum, recvTs, out)) return;
    this.lastSeqId = d.seqId ?? null;
    this.begin(Number(d.ts), recvTs, d.seqId === undefined ? undefined : String(d.seqId), nonZero(d.checksum), out);
  }

  private update(d: OkxBooks['data'][number], recvTs: number, out: BookOutput): void {
    if (this.state === 'syncing') return; // the snapshot our (re)subscribe brings opens the next epoch
    if (d.prevSeqId !== undefined && this.lastSeqId !== null && d.prevSeqId !== this.lastSeqId) {
      this.fail(d.prevSeqId < this.lastSeqId ? 'out-of-order' : 'gap', recvTs, out);
      return;
    }
    const bids: Level[] = [];
    const asks: Level[] = [];
    if (!this.applyLevels('ask', d.asks, asks, recvTs, out) || !this.applyLevels('bid', d.bids, bids, recvTs, out)) return;
    if (!this.verify(d.checksum, recvTs, out)) return;
    if (d.seqId !== undefined) this.lastSeqId = d.seqId;
    this.delta(bids, asks, Number(d.ts), recvTs, d.seqId === undefined ? undefined : String(d.seqId), nonZero(d.checksum), out);
  }

  /** Whole frame applied: never crossed, and the venue checksum (when sent) matches. */
  private verify(checksum: number | undefined, recvTs: number, out: BookOutput): boolean {
    if (!this.checkUncrossed(recvTs, out)) return false;
    if (checksum === undefined || checksum === 0 || okxChecksum(this.book) === (checksum | 0)) return true;
    this.fail('checksum', recvTs, out);
    return false;
  }
}

function nonZero(checksum: number | undefined): number | undefined {
  return checksum === undefined || checksum === 0 ? undefined : checksum;
}

/** OKX book checksum: signed CRC32 over the top 25 bids and asks interleaved, as sent. */
export function okxChecksum(book: OrderBook): number {
  const { bids, asks } = book;
  const n = Math.max(Math.min(25, bids.size), Math.min(25, asks.size));
  let s = '';
  for (let i = 0; i < n; i++) {
    if (i < bids.size) s += (s === '' ? '' : ':') + bids.priceAt(i) + ':' + bids.qtyAt(i);
    if (i < asks.size) s += (s === '' ? '' : ':') + asks.priceAt(i) + ':' + asks.qtyAt(i);
  }
  return crc32(s) | 0;
}

/**
 * The `books` syncs of one connection. Where the options carry contract values (swap books), a
 * book's sizes are contracts: the sync keeps them as sent (the checksum is over that text) and
 * publishes contracts × `ctVal`, base units, as DESIGN.md asks of perpetual quantities.
 */
export class OkxBooksRouter extends SymbolBooks<OkxBookSync> {
  protected create(symbol: string, venueSymbol: string, now: number): OkxBookSync {
    const values = this.opts.contractValues;
    const contractValue = values?.get(venueSymbol);
    if (values !== undefined && contractValue === undefined) throw new TickworkError('CONFIG_INVALID', `no contract value for ${venueSymbol}: its book sizes could not be published in base units`);
    return new OkxBookSync({
      venue: this.opts.venue,
      symbol,
      venueSymbol,
      now,
      ...(this.opts.resyncTimeoutMs !== undefined ? { resyncTimeoutMs: this.opts.resyncTimeoutMs } : {}),
      ...(contractValue !== undefined ? { contractValue } : {}),
    });
  }

  onFrame(frame: BookFrame, recvTs: number, out: BookOutput): void {
    this.syncOf(frame)?.onMessage(frame.msg as OkxBooks, recvTs, out);
  }
}

/**
 * The book connections of OKX's linear swaps (`BTC-USDT-SWAP` for `BTC-USDT-PERP`, same public
 * endpoint): the spot adapter's protocol, mapping swap instruments instead of spot ones.
 */
export class OkxSwapBookAdapter extends OkxAdapter {
  protected override readonly symbols = new SymbolMap(perpOfSwap);

  override toVenueSymbol(symbol: string): string {
    return swapOf(symbol);
  }

  protected override booksOf(instId: string): boolean {
    return isSwap(instId);
  }
}

/**
 * Swaps: `books` as on spot, on connections of their own. Their sizes are in contracts; the feed
 * reads `ctVal` (REST instruments, linear swaps only, as the derivatives feed does) before adding a
 * book, and the router publishes base units (contracts × ctVal).
 */
const swapBooks: PerpBooks = {
  subscription: 'books:<BASE-QUOTE-SWAP>',
  createAdapter: () => new OkxSwapBookAdapter(),
  createRouter: (opts) => new OkxBooksRouter(opts),
  contracts: swapContracts,
};

/** OKX books: `books` (400-level snapshot, 100 ms updates, seqId/prevSeqId; resync = resubscribe, 480/h per connection), spot and swaps. */
export const okxBooks: VenueBooks = {
  subscription: 'books:<instId>',
  createRouter: (opts) => new OkxBooksRouter(opts),
  perps: swapBooks,
};
