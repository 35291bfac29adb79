import { Type, type Static } from '@sinclair/typebox';
import { lazyCheck } from './check.js';
import { DecimalString, EpochMs, Symbol, VenueId } from './common.js';

/**
 * L2 order books (DESIGN.md "Extensions in progress"):
 * - `md.book.<venue>.<SYMBOL>` on core NATS: every book event, in order, with our contiguous `seq`;
 * - `md.booksnap.<venue>.<SYMBOL>` in `MD_BOOKS` (last per subject): a top-N snapshot.
 * A consumer mirrors a book from one `snapshot` plus the `delta`s of the same `epoch`; a `prevSeq`
 * that is not its last `seq` means it missed an event and must re-bootstrap from `MD_BOOKS`.
 */

/** Canonical spot `BASE-QUOTE` or perpetual `BASE-QUOTE-PERP`, upper case. */
export const BookSymbol = Symbol;

/** `[price, qty]` as the venue sent them (JSON numbers kept as their text); qty "0" deletes. */
export const BookLevel = Type.Tuple([DecimalString, DecimalString]);
export type BookLevel = Static<typeof BookLevel>;

/** `syncing`: not served (no quotes, no arbitrage); `live`: in sync; `stale`: in sync but the connection went quiet. */
export const BookState = Type.Union([Type.Literal('syncing'), Type.Literal('live'), Type.Literal('stale')]);
export type BookState = Static<typeof BookState>;

/**
 * `snapshot` opens an epoch with the whole book; `delta` carries the levels one venue frame changed
 * (in order; levels a depth truncation removed appear with qty "0"); `status` changes `state`.
 */
export const BookEvent = Type.Object({
  venue: VenueId,
  symbol: BookSymbol,
  type: Type.Union([Type.Literal('snapshot'), Type.Literal('delta'), Type.Literal('status')]),
  /** Increases on every (re)sync; each epoch opens with a snapshot. */
  epoch: Type.Integer({ minimum: 0 }),
  /** Ours, contiguous over the life of the book (across epochs): `prevSeq === seq - 1`. */
  seq: Type.Integer({ minimum: 1 }),
  prevSeq: Type.Integer({ minimum: 0 }),
  state: BookState,
  bids: Type.Array(BookLevel),
  asks: Type.Array(BookLevel),
  /** Venue event time (receipt time when the venue sends none), epoch ms. */
  ts: EpochMs,
  recvTs: EpochMs,
  /** The venue's update id / sequence after this event, where it has one. */
  venueSeq: Type.Optional(Type.String({ maxLength: 64 })),
  /** The venue's checksum carried by this frame (verified before publishing). */
  checksum: Type.Optional(Type.Integer()),
  /** Why the book left `live` (status events): a resync reason, `disconnect` or `stale`. */
  reason: Type.Optional(Type.String({ maxLength: 64 })),
  /**
   * A snapshot too large for one NATS message (a deep Coinbase book) is published as `parts`
   * messages with the same `seq`, `part` 1..parts, each holding a slice of the levels; a consumer
   * applies them all before the next `seq`. Absent on events sent whole.
   */
  part: Type.Optional(Type.Integer({ minimum: 1 })),
  parts: Type.Optional(Type.Integer({ minimum: 2 })),
});
export type BookEvent = Static<typeof BookEvent>;
export const BookEventCheck = lazyCheck(BookEvent);

/** Top-N book as stored in `MD_BOOKS` (≤ 1/s and on every state change) and served by the API. */
export const BookSnap = Type.Object({
  venue: VenueId,
  symbol: BookSymbol,
  epoch: Type.Integer({ minimum: 0 }),
  /** The last `md.book` event this snapshot includes. */
  seq: Type.Integer({ minimum: 0 }),
  state: BookState,
  /** Levels asked for per side (a side may hold fewer). */
  depth: Type.Integer({ minimum: 1 }),
  bids: Type.Array(BookLevel),
  asks: Type.Array(BookLevel),
  ts: EpochMs,
  recvTs: EpochMs,
});
export type BookSnap = Static<typeof BookSnap>;
export const BookSnapCheck = lazyCheck(BookSnap);

/** Default top-N of `md.booksnap` and the API. */
export const BOOK_SNAP_DEPTH = 50;

export const BOOK_STREAM = 'MD_BOOKS';
export const BOOK_STREAM_SUBJECTS = 'md.booksnap.>';

export const bookSubject = (venue: string, symbol: string): string => `md.book.${venue}.${symbol}`;
export const bookSnapSubject = (venue: string, symbol: string): string => `md.booksnap.${venue}.${symbol}`;
/** `Nats-Msg-Id` of a top-N snapshot: one per (epoch, seq), so a republish is deduplicated. */
export const bookSnapMsgId = (venue: string, symbol: string, epoch: number, seq: number): string => `${venue}:${symbol}:${epoch}:${seq}`;

/** Redis key of the latest top-N book (`BookSnap` JSON, PEXPIRE 10 s), before namespacing. */
export const bookKey = (venue: string, symbol: string): string => `book:${venue}:${symbol}`;

// ---- API: GET /v1/book/:venue/:symbol and the `book` WebSocket channel -----------------------

const ApiVenue = Type.String({ ...VenueId, description: 'a venue id like binance' });
const ApiSymbol = Type.String({ ...Symbol, description: 'a canonical BASE-QUOTE (or BASE-QUOTE-PERP) symbol in upper case, like BTC-USDT' });
const Depth = Type.Integer({ minimum: 1, maximum: BOOK_SNAP_DEPTH, description: `an integer from 1 to ${BOOK_SNAP_DEPTH} (levels per side)` });

export const BookParams = Type.Object({ venue: ApiVenue, symbol: ApiSymbol });
export type BookParams = Static<typeof BookParams>;
export const BookQuery = Type.Object({ depth: Type.Optional(Depth) });
export type BookQuery = Static<typeof BookQuery>;
/** The API's answer: the stored top-N cut to `depth`; empty sides while `syncing`. */
export const BookResponse = BookSnap;

/**
 * WebSocket `/v1/stream`, channel `book`: `{"op":"subscribe","channel":"book","venue","symbol","depth"?}`
 * → `{"type":"subscribed","channel":"book",...}`, then `{"type":"book","data":BookSnap}` at most
 * once per throttle interval per book (and at once when its state changes).
 */
export const BookStreamSubscribe = Type.Object({
  op: Type.Union([Type.Literal('subscribe'), Type.Literal('unsubscribe')], { description: 'subscribe or unsubscribe' }),
  channel: Type.Literal('book', { description: 'book' }),
  venue: ApiVenue,
  symbol: ApiSymbol,
  depth: Type.Optional(Depth),
});
export type BookStreamSubscribe = Static<typeof BookStreamSubscribe>;

/** Server → client frame of the `book` channel. */
export const StreamBookFrame = Type.Object({ type: Type.Literal('book'), data: BookSnap }, { description: 'A top-N book (channel book), throttled per book' });
