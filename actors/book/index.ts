/**
 * The L2 book engine and the sync shape every venue's book sync shares (venues/<id>/book.ts).
 *
 * How a feed connection drives one (no sockets or timers in here; the caller owns both):
 *   1. Per subscribed symbol: `new <Venue>BookSync({ symbol, venueSymbol, now, ... })`
 *      (Coinbase: add it to the connection's `CoinbaseLevel2Connection`).
 *   2. Per received book frame, after the venue's raw schema check: `sync.on…(frame, recvTs, out)`.
 *   3. Then drain `out` (one `BookOutput` per connection, cleared after each batch):
 *      - `events` → `md.book.<venue>.<SYMBOL>` in order; quotes from the top only while `sync.live`;
 *      - `requests` → under the venue's limits: `resubscribe` = unsubscribe + subscribe the book
 *        channel of that symbol; `snapshot` = fetch the REST depth snapshot (Binance) and call
 *        `sync.onSnapshot(body, recvTs, out)`, or `sync.onSnapshotFailed(now, retryAfterMs, out)`;
 *      - `invalid` → the raw frame to the DLQ with the detail as reason.
 *   4. Now and then: `sync.tick(now, out)` (re-asks timed-out resyncs); `sync.topN(depth)` for
 *      `md.booksnap` / Redis; on silence `markStale(now, out)`; on close `onDisconnect(now, out)`.
 */
export { BookError, BookSide, isZeroQty, LevelChange, OrderBook, type BookSideName, type Level } from './order-book.js';
export {
  BookSync,
  clearBookOutput,
  newBookOutput,
  RESYNC_REASONS,
  type BookInvalid,
  type BookOutput,
  type BookRequest,
  type BookRequestKind,
  type BookSyncOptions,
  type RawLevel,
  type ResyncReason,
} from './sync.js';
export { SymbolBooks } from './router.js';
