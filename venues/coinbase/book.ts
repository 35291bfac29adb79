import { BookSync, SymbolBooks, type BookOutput, type BookSyncOptions, type Level, type RawLevel, type ResyncReason } from '../../actors/book/index.js';
import { rfc3339ToMs } from '../kit/frame.js';
import type { BookFrame, BookRouterOptions, VenueBooks } from '../kit/types.js';
import type { CoinbaseExchangeBook, CoinbaseL2Data, CoinbaseL2Event } from './book-schemas.js';

/**
 * Coinbase `level2` book sync for one product (pure; see actors/book/sync.ts). The snapshot comes
 * over the socket; updates carry absolute quantities ("0" removes). No checksum: a crossed book
 * after a whole event fails the sync. Resync = unsubscribe + subscribe `level2` for the product.
 *
 * Advanced Trade numbers messages per CONNECTION (`sequence_num` counts every channel, heartbeats
 * included), so a lost message cannot be attributed to a product: `CoinbaseLevel2Connection`
 * checks the counter and fails every book of that connection. Keep `level2` on connections of
 * its own with few products, so a gap resyncs few books.
 */
export class CoinbaseBookSync extends BookSync {
  protected readonly resyncKind = 'resubscribe' as const;

  constructor(opts: Omit<BookSyncOptions, 'venue'> & { venue?: string }) {
    super({ ...opts, venue: opts.venue ?? 'coinbase' });
  }

  /** One Advanced Trade `l2_data` event for this product; `ts` is the message timestamp (ms). */
  onEvent(ev: CoinbaseL2Event, ts: number, recvTs: number, out: BookOutput): void {
    const bids: RawLevel[] = [];
    const asks: RawLevel[] = [];
    for (const u of ev.updates) (u.side === 'bid' ? bids : asks).push([u.price_level, u.new_quantity]);
    this.onLevels(ev.type === 'snapshot', bids, asks, ts, recvTs, out);
  }

  /** One Exchange feed `snapshot` / `l2update` for this product (recordings). */
  onExchange(msg: CoinbaseExchangeBook, recvTs: number, out: BookOutput): void {
    if (msg.type === 'snapshot') {
      this.onLevels(true, msg.bids, msg.asks, recvTs, recvTs, out);
      return;
    }
    const bids: RawLevel[] = [];
    const asks: RawLevel[] = [];
    for (const c of msg.changes) (c[0] === 'buy' ? bids : asks).push([c[1], c[2]]);
    const ts = msg.time === undefined ? Number.NaN : rfc3339ToMs(msg.time);
    this.onLevels(false, bids, asks, Number.isNaN(ts) ? recvTs : ts, recvTs, out);
  }

  /** The connection lost or repeated a message of unknown product: this book cannot be trusted. */
  onConnectionSequence(reason: ResyncReason, now: number, out: BookOutput): void {
    this.fail(reason, now, out);
  }

  private onLevels(snapshot: boolean, bidLevels: readonly RawLevel[], askLevels: readonly RawLevel[], ts: number, recvTs: number, out: BookOutput): void {
    if (snapshot) {
      this.book.clear();
      if (!this.applyLevels('bid', bidLevels, null, recvTs, out) || !this.applyLevels('ask', askLevels, null, recvTs, out)) return;
      if (!this.checkUncrossed(recvTs, out)) return;
      this.begin(ts, recvTs, undefined, undefined, out);
      return;
    }
    if (this.state === 'syncing') return; // the snapshot our (re)subscribe brings opens the next epoch
    const bids: Level[] = [];
    const asks: Level[] = [];
    if (!this.applyLevels('bid', bidLevels, bids, recvTs, out) || !this.applyLevels('ask', askLevels, asks, recvTs, out)) return;
    if (!this.checkUncrossed(recvTs, out)) return;
    this.delta(bids, asks, ts, recvTs, undefined, undefined, out);
  }
}

/**
 * The `level2` books of one Advanced Trade connection and its `sequence_num` check. Feed it EVERY
 * message of the connection (`onSequence` for other channels, `onL2Data` for book data); a counter
 * that does not advance by exactly one fails every book here (each requests its own resubscribe).
 */
export class CoinbaseLevel2Connection {
  /** Product id → its book sync. */
  readonly books = new Map<string, CoinbaseBookSync>();
  private lastSeq: number | null = null;

  add(sync: CoinbaseBookSync): void {
    this.books.set(sync.venueSymbol, sync);
  }

  remove(productId: string): void {
    this.books.delete(productId);
  }

  /** A message of any channel (heartbeats, subscriptions, ...). Returns false when it broke the sequence. */
  onSequence(seq: number, recvTs: number, out: BookOutput): boolean {
    const last = this.lastSeq;
    this.lastSeq = last === null ? seq : Math.max(last, seq);
    if (last === null || seq === last + 1) return true;
    const reason: ResyncReason = seq <= last ? 'out-of-order' : 'gap';
    for (const b of this.books.values()) b.onConnectionSequence(reason, recvTs, out);
    return false;
  }

  /** An `l2_data` message (checked with `CoinbaseL2DataCheck`); events of products not added here are ignored. */
  onL2Data(msg: CoinbaseL2Data, recvTs: number, out: BookOutput): void {
    this.onSequence(msg.sequence_num, recvTs, out);
    const t = rfc3339ToMs(msg.timestamp);
    const ts = Number.isNaN(t) ? recvTs : t;
    for (const ev of msg.events) this.books.get(ev.product_id)?.onEvent(ev, ts, recvTs, out);
  }

  /** The socket closed: the counter restarts on the next connection, every book resyncs. */
  onDisconnect(now: number, out: BookOutput): void {
    this.lastSeq = null;
    for (const b of this.books.values()) b.onDisconnect(now, out);
  }

  tick(now: number, out: BookOutput): void {
    for (const b of this.books.values()) b.tick(now, out);
  }
}

/**
 * The `level2` syncs of one Advanced Trade connection: every message passes the connection's
 * `sequence_num` check (CoinbaseLevel2Connection), `l2_data` events then reach their product.
 */
export class CoinbaseBooks extends SymbolBooks<CoinbaseBookSync> {
  private readonly conn = new CoinbaseLevel2Connection();

  constructor(opts: BookRouterOptions) {
    super(opts);
  }

  protected create(symbol: string, venueSymbol: string, now: number): CoinbaseBookSync {
    return new CoinbaseBookSync({ venue: this.opts.venue, symbol, venueSymbol, now, ...(this.opts.resyncTimeoutMs !== undefined ? { resyncTimeoutMs: this.opts.resyncTimeoutMs } : {}) });
  }

  override add(symbol: string, venueSymbol: string, now: number): void {
    super.add(symbol, venueSymbol, now);
    this.conn.add(this.bySymbol.get(symbol)!);
  }

  override remove(symbol: string): void {
    const s = this.bySymbol.get(symbol);
    super.remove(symbol);
    if (s !== undefined) this.conn.remove(s.venueSymbol);
  }

  onFrame(frame: BookFrame, recvTs: number, out: BookOutput): void {
    const msg = frame.msg as CoinbaseL2Data | { sequence_num: number; events?: undefined };
    if (msg.events === undefined) this.conn.onSequence(msg.sequence_num, recvTs, out);
    else this.conn.onL2Data(msg, recvTs, out);
  }

  override onDisconnect(now: number, out: BookOutput): void {
    this.conn.onDisconnect(now, out);
  }
}

/** Advanced Trade replaces the Exchange feed's host; any other (overridden) URL is kept. */
const EXCHANGE_FEED = /^wss:\/\/ws-feed\.exchange\.coinbase\.com\/?$/;

/**
 * Coinbase books: Advanced Trade `level2` + `heartbeats`. Its `sequence_num` counts the whole
 * connection, so a lost message cannot be pinned on a product: one product per book connection
 * keeps a resync to that product (8 connections/s per IP allow it for a few dozen products).
 */
export const coinbaseBooks: VenueBooks = {
  wsUrl: (configured) => (EXCHANGE_FEED.test(configured) ? 'wss://advanced-trade-ws.coinbase.com' : configured),
  symbolsPerConnection: 1,
  subscription: 'Advanced Trade level2 + heartbeats, one product per connection',
  createRouter: (opts) => new CoinbaseBooks(opts),
};
