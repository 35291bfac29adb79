import { BookSync, LevelChange, SymbolBooks, type BookOutput, type BookSyncOptions, type Level } from '../../actors/book/index.js';
import { SymbolMap } from '../kit/symbols.js';
import type { BookFrame, PerpBooks, VenueBooks } from '../kit/types.js';
import { BOOK_DEPTH, BybitAdapter } from './adapter.js';
import { linearSymbolOf, linearUrlOf, perpOfLinear } from './derivs.js';
import type { BybitV2Book, BybitV2BookDelta, BybitV2BookSnapshot } from './book-schemas.js';
import type { BybitOrderbook } from './schemas.js';

/**
 * Bybit v5 `orderbook.{depth}.{S}` sync for one symbol, spot or linear (pure; see
 * actors/book/sync.ts). The snapshot comes over the socket: on subscribe, after a service restart
 * (`u` = 1, full data whatever its `type` says), or whenever Bybit resends one; each replaces the
 * book and opens an epoch. Every other delta must carry `u == previous u + 1`; anything else is a
 * lost, repeated or reordered frame. No checksum. Resync = unsubscribe + subscribe (`resubscribe`).
 * Linear quantities are base units (one contract is one unit of the base coin), as on spot.
 */
export class BybitBookSync extends BookSync {
  protected readonly resyncKind = 'resubscribe' as const;
  private lastU = 0;

  constructor(opts: Omit<BookSyncOptions, 'venue'> & { venue?: string }) {
    super({ ...opts, venue: opts.venue ?? 'bybit' });
  }

  /** One `orderbook.*` frame for this symbol (checked with `BybitOrderbookCheck`). */
  onMessage(msg: BybitOrderbook, recvTs: number, out: BookOutput): void {
    const d = msg.data;
    // "u = 1": Bybit's service restarted and sent its whole book (v5 orderbook docs, field `u`)
    if (msg.type === 'snapshot' || d.u === 1) {
      this.book.clear();
      if (!this.applyLevels('bid', d.b, null, recvTs, out) || !this.applyLevels('ask', d.a, null, recvTs, out)) return;
      if (!this.checkUncrossed(recvTs, out)) return;
      this.lastU = d.u;
      this.begin(msg.ts, recvTs, String(d.u), undefined, out);
      return;
    }
    if (this.state === 'syncing') return; // the snapshot our (re)subscribe brings opens the next epoch
    if (d.u !== this.lastU + 1) {
      this.fail(d.u <= this.lastU ? 'out-of-order' : 'gap', recvTs, out);
      return;
    }
    const bids: Level[] = [];
    const asks: Level[] = [];
    if (!this.applyLevels('bid', d.b, bids, recvTs, out) || !this.applyLevels('ask', d.a, asks, recvTs, out)) return;
    if (!this.checkUncrossed(recvTs, out)) return;
    this.lastU = d.u;
    this.delta(bids, asks, msg.ts, recvTs, String(d.u), undefined, out);
  }
}

/**
 * Bybit v2 `orderBookL2_25.{S}` (recordings): id-keyed levels, 25 per side. There is no update
 * counter to check (`cross_seq` rises but skips), so the sync checks what it can: `cross_seq`
 * strictly rises, deletes and updates name levels the book holds, inserts name new ones (a level's
 * id is fixed by its price, so levels are keyed by price). Resync = unsubscribe + subscribe.
 */
export class BybitV2BookSync extends BookSync {
  protected readonly resyncKind = 'resubscribe' as const;
  private lastCrossSeq = -1n;

  constructor(opts: Omit<BookSyncOptions, 'venue'> & { venue?: string }) {
    super({ ...opts, venue: opts.venue ?? 'bybit' });
  }

  /** One frame for this symbol (decoded with `decodeBybitV2Book`, checked with `BybitV2BookCheck`). */
  onMessage(msg: BybitV2Book, recvTs: number, out: BookOutput): void {
    const ts = e6ToMs(msg.timestamp_e6);
    const crossSeq = BigInt(msg.cross_seq);
    if (msg.type === 'snapshot') this.snapshot(msg, crossSeq, ts, recvTs, out);
    else if (this.state !== 'syncing') this.update(msg, crossSeq, ts, recvTs, out);
  }

  private snapshot(msg: BybitV2BookSnapshot, crossSeq: bigint, ts: number, recvTs: number, out: BookOutput): void {
    this.book.clear();
    const levels = Array.isArray(msg.data) ? msg.data : msg.data.order_book;
    try {
      for (const l of levels) this.book.set(l.side === 'Buy' ? 'bid' : 'ask', l.price, l.size);
    } catch (err) {
      this.invalidLevel(err, recvTs, out);
      return;
    }
    if (!this.checkUncrossed(recvTs, out)) return;
    this.lastCrossSeq = crossSeq;
    this.begin(ts, recvTs, String(msg.cross_seq), undefined, out);
  }

  private update(msg: BybitV2BookDelta, crossSeq: bigint, ts: number, recvTs: number, out: BookOutput): void {
    if (crossSeq <= this.lastCrossSeq) {
      this.fail('out-of-order', recvTs, out);
      return;
    }
    const bids: Level[] = [];
    const asks: Level[] = [];
    let unknown = 0;
    try {
      // Bybit's order: delete, update, insert; the whole frame is applied before its verdict
      for (const l of msg.data.delete) {
        if (this.book.set(l.side === 'Buy' ? 'bid' : 'ask', l.price, '0') !== LevelChange.Delete) unknown++;
        (l.side === 'Buy' ? bids : asks).push([l.price, '0']);
      }
      for (const l of msg.data.update) {
        if (this.book.set(l.side === 'Buy' ? 'bid' : 'ask', l.price, l.size) !== LevelChange.Update) unknown++;
        (l.side === 'Buy' ? bids : asks).push([l.price, l.size]);
      }
      for (const l of msg.data.insert) {
        if (this.book.set(l.side === 'Buy' ? 'bid' : 'ask', l.price, l.size) !== LevelChange.Insert) unknown++;
        (l.side === 'Buy' ? bids : asks).push([l.price, l.size]);
      }
    } catch (err) {
      this.invalidLevel(err, recvTs, out);
      return;
    }
    if (unknown > 0) {
      this.fail('unknown-level', recvTs, out);
      return;
    }
    if (!this.checkUncrossed(recvTs, out)) return;
    this.lastCrossSeq = crossSeq;
    this.delta(bids, asks, ts, recvTs, String(msg.cross_seq), undefined, out);
  }
}

/** Microseconds (text or number) → whole ms. */
function e6ToMs(e6: string | number): number {
  return typeof e6 === 'number' ? Math.floor(e6 / 1000) : e6.length > 3 ? Number(e6.slice(0, -3)) : 0;
}

/** The `orderbook.50` syncs of one connection. */
export class BybitBooks extends SymbolBooks<BybitBookSync> {
  protected create(symbol: string, venueSymbol: string, now: number): BybitBookSync {
    return new BybitBookSync({ venue: this.opts.venue, symbol, venueSymbol, now, ...(this.opts.resyncTimeoutMs !== undefined ? { resyncTimeoutMs: this.opts.resyncTimeoutMs } : {}) });
  }

  onFrame(frame: BookFrame, recvTs: number, out: BookOutput): void {
    this.syncOf(frame)?.onMessage(frame.msg as BybitOrderbook, recvTs, out);
  }
}

/**
 * The book connections of Bybit's linear perpetuals (`/v5/public/linear`): the spot adapter's
 * protocol, with `BASE-QUOTE-PERP` symbols named as the derivatives feed names them (`BTCUSDT`,
 * USDC perpetuals `BTCPERP`).
 */
export class BybitLinearBookAdapter extends BybitAdapter {
  protected override readonly symbols = new SymbolMap(perpOfLinear);

  override toVenueSymbol(symbol: string): string {
    return linearSymbolOf(symbol);
  }
}

/** Linear perpetuals: the same `orderbook.50` protocol on the linear endpoint; sizes already in base units, so no contract values. */
const linearBooks: PerpBooks = {
  wsUrl: linearUrlOf,
  subscription: `orderbook.${BOOK_DEPTH}.<S> (linear)`,
  createAdapter: () => new BybitLinearBookAdapter(),
  createRouter: (opts) => new BybitBooks(opts),
};

/** Bybit books: `orderbook.50.<S>` (snapshot over the socket, then deltas; resync = resubscribe), spot and linear. */
export const bybitBooks: VenueBooks = {
  subscription: `orderbook.${BOOK_DEPTH}.<S>`,
  createRouter: (opts) => new BybitBooks(opts),
  perps: linearBooks,
};
