import type { BookOutput, BookSync } from '../../actors/book/index.js';
import type { IdRule } from '../../actors/symbol/trade-check.js';
import type { Quote } from '../../schemas/quote.js';
import type { Trade } from '../../schemas/trade.js';
import type { DerivsContracts, VenueDerivs } from './derivs.js';

import type { VenueContext, VenueProtocol } from './simulator.js';

/**
 * One venue, everything tickwork knows about it, defined in its own folder (`venues/<id>/`) and
 * listed once in `venues/index.ts`. Every venue list (feed config, `<VENUE>_WS_URL` variables,
 * simulator venues, `up --demo`, CLI choices) derives from that registry.
 */
export interface Venue {
  /** The venue id of DESIGN.md, e.g. `binance-us`. */
  readonly id: string;
  /** Prefix of the URL overrides: `BINANCE_US` → `BINANCE_US_WS_URL`, `BINANCE_US_REST_URL`. */
  readonly envPrefix: string;
  /** Public market-data WebSocket endpoint (its path is also the simulator's). */
  readonly wsUrl: string;
  /** Public REST base (trade history); absent where none is used. */
  readonly restUrl?: string;
  /** The documented limits, as data for the feed's rate limiters. */
  readonly limits: VenueLimits;
  /** The formats of its trade ids, checked by the symbol actors (bus input is not trusted); absent: numerals or UUIDs. */
  readonly tradeIds?: IdRule;
  /** A fresh normalizer; one per connection (adapters may hold per-connection state). */
  createAdapter(): VenueAdapter;
  /** REST trade history by sequential id, for gap filling; absent where the venue offers none we use. */
  readonly history?: RestTrades;
  /** L2 books (the `books` channel): how to subscribe and sync them; absent where not supported. */
  readonly books?: VenueBooks;
  /** Perpetual-swap derivatives (tickers, liquidations) on connections of their own (venues/kit/derivs.ts); absent where not supported. */
  readonly derivs?: VenueDerivs;
  /** The simulator's protocol: how a local server speaks this venue. */
  simulator(ctx: VenueContext): VenueProtocol;
  /** Synthetic market: the simulator's default symbols; `upDemo` says whether `up --demo` runs it. */
  readonly demo: { readonly symbols: readonly string[]; readonly upDemo: boolean };
}

/**
 * The one shape every venue adapter has (`venues/<id>/adapter.ts`). An adapter is pure protocol
 * knowledge: it builds the frames to send and classifies every frame received. It owns no socket;
 * the feed connection drives it. Create one instance per connection (`Venue.createAdapter`): some
 * venues need per-connection state (Bybit depth-1 deltas, symbols learnt from subscriptions).
 */
export interface VenueAdapter {
  readonly venue: string;
  /** Application-level keep-alive the client must send; absent when WS-level ping/pong suffices. */
  readonly appPing?: AppPing;

  /** Canonical `BASE-QUOTE` → the venue's symbol text ('BTC-USDT' → 'BTCUSDT' on Binance). */
  toVenueSymbol(symbol: string): string;
  /** The venue's symbol → canonical `BASE-QUOTE`, or null when it cannot be mapped. */
  fromVenueSymbol(venueSymbol: string): string | null;

  /** Frames subscribing `symbols` (canonical) to `channels`, split to respect per-request limits. */
  subscribeFrames(symbols: readonly string[], channels: readonly FeedChannel[], nextReqId: () => number): string[];
  unsubscribeFrames(symbols: readonly string[], channels: readonly FeedChannel[], nextReqId: () => number): string[];

  /**
   * Classifies one received text frame and appends its result to `out`. Exactly one of:
   * ≥1 trades/quotes (returns 'data'), one control kind (returns it), or one reject (returns
   * 'reject'). Never throws. `recvTs` is epoch ms (floored if fractional).
   */
  parse(raw: string, recvTs: number, out: ParseOutput): FrameClass;

  /**
   * For venues whose trade ids are sequential per symbol: the id range a trade covers, so that a
   * gap exists when `next.first > prev.last + 1`. Null for a trade whose id is not sequential
   * (e.g. Kraken v1 synthetic ids). Absent for venues without sequential ids (Bybit).
   */
  tradeSeq?(trade: Trade): TradeSeq | null;
}

/**
 * A venue's REST trade history, as data and small functions: the kit (`venues/kit/history.ts`)
 * does the HTTP, the rate limits and the retries. Two uses: gap filling by sequence id (`path`,
 * `parse`) and backfill of a time range (`range`).
 */
export interface RestTrades {
  /** Most trades one request may return. */
  readonly maxPerRequest: number;
  /** Request weight of one call against `VenueLimits.restWeightPerMin`. */
  readonly weight: number;
  /** The endpoint's own request limit where the venue states one (OKX 20 per 2 s); the kit keeps to half of it. */
  readonly rate?: RateLimit;
  /**
   * Path and query, appended to the REST base, for up to `limit` trades with sequence ≥ `fromId`.
   * `sinceTs`: the time of the trade before `fromId` where known, for venues that page by time
   * (Kraken); the answer may then hold earlier trades, which the caller skips.
   */
  path(venueSymbol: string, fromId: number, limit: number, sinceTs?: number): string;
  /**
   * Response body → trades normalized exactly as live ones, in id order; `like` is the live trade
   * whose gap is being filled (venue, symbol, venueSymbol come from it). Throws on a malformed body.
   */
  parse(body: string, like: Trade, recvTs: number): Trade[];
  /**
   * Backfill: the trades of `like`'s symbol with `fromMs ≤ ts < toMs`, page by page in (ts, id)
   * order, each page after the previous one, fetched through `get`. Throws
   * `HISTORY_UNAVAILABLE` when the venue does not serve that far back.
   */
  range(get: RestGet, like: Trade, fromMs: number, toMs: number): AsyncGenerator<Trade[]>;
}

/** One GET of a venue's REST history through the kit (rate limits, retries, timeout): the body and when it arrived. */
export type RestGet = (path: string) => Promise<{ body: string; recvTs: number }>;

/**
 * Where a feed gets the trades it missed (the port the gap filler uses; `venues/kit/history.ts`
 * implements it over a venue's `RestTrades`).
 */
export interface TradeHistory {
  /** Most trades one call may return. */
  readonly maxPerRequest: number;
  /**
   * Up to `limit` trades of `like`'s symbol with sequence ≥ `fromId`, in id order (possibly with
   * earlier ones, which the caller skips). `sinceTs`: time of the trade before `fromId`, if known.
   */
  trades(like: Trade, fromId: number, limit: number, signal: AbortSignal, sinceTs?: number): Promise<Trade[]>;
}

/** `books`: the venue's L2 depth channel, carried on connections of its own (see VenueBooks). */
export type FeedChannel = 'trades' | 'quotes' | 'books';

export interface TradeSeq {
  first: number;
  last: number;
}

export interface AppPing {
  intervalMs: number;
  frame(): string;
}

/** Limits as each venue documents them; undefined = not documented / not applicable. */
export interface VenueLimits {
  /** Streams/topics one connection may carry. */
  maxStreamsPerConnection?: number;
  /** Topics/args one subscribe request may carry (the adapter already splits by it). */
  maxArgsPerRequest?: number;
  /** Client → server messages per connection (token bucket: `count` per `perMs`). */
  messagesPerConnection?: RateLimit;
  /** Subscribe/unsubscribe requests per connection. */
  subscribesPerConnection?: RateLimit;
  /** Client → server messages across all connections of one IP. */
  messagesPerIp?: RateLimit;
  /** New connections per IP. */
  connectsPerIp?: RateLimit;
  /** The venue closes a connection after this age (Binance: 24 h). */
  maxConnectionAgeMs?: number;
  /** REST request weight per minute per IP (Binance 6000); history requests spend `RestTrades.weight`. */
  restWeightPerMin?: number;
  /** The venue drops a connection that has been silent (no client message) this long. */
  idleTimeoutMs?: number;
  /** Where the numbers come from. */
  source: string;
}

export interface RateLimit {
  count: number;
  perMs: number;
}

/**
 * Why a frame went to the DLQ. `internal`: an adapter bug caught by the guard (should never occur).
 * `encoding`: the frame's bytes are not UTF-8 (set by the connection before any adapter sees it).
 */
export type RejectReason = 'json' | 'schema' | 'symbol' | 'unknown-frame' | 'internal' | 'encoding' | 'book-level';

export interface FrameReject {
  reason: RejectReason;
  /** TypeBox error path inside the frame, e.g. `/data/0/p`; '' when not a schema error. */
  schemaPath: string;
  /** Short human explanation (≤ 200 chars). */
  detail: string;
  raw: string;
}

/**
 * Documented non-data frames. `ignored:<what>` names a channel or frame we receive but do not
 * consume (depth, kline, book, derivatives instruments, quotes without sizes, ...).
 */
export type ControlKind =
  | 'ack'
  | 'subscribed'
  | 'unsubscribed'
  | 'heartbeat'
  | 'pong'
  | 'info'
  | 'venue-error'
  | `ignored:${string}`;

/** `book`: the frame went to `ParseOutput.books` (an L2 snapshot or update). */
export type FrameClass = 'data' | 'book' | 'reject' | ControlKind;

/**
 * One L2 book frame an adapter recognized and checked against its raw schema. `msg` is opaque to
 * everyone but the venue's own `BookRouter` (the same folder made both). `symbol` is null for
 * connection-level frames a router still needs (Coinbase heartbeats carrying `sequence_num`);
 * such frames accompany a control kind rather than returning 'book'.
 */
export interface BookFrame {
  symbol: string | null;
  msg: unknown;
}

/** Batch sink for parse results; reuse one per connection and clear it after each publish. */
export interface ParseOutput {
  trades: Trade[];
  quotes: Quote[];
  control: ControlKind[];
  rejects: FrameReject[];
  books: BookFrame[];
}

export function newParseOutput(): ParseOutput {
  return { trades: [], quotes: [], control: [], rejects: [], books: [] };
}

export function clearParseOutput(out: ParseOutput): void {
  out.trades.length = 0;
  out.quotes.length = 0;
  out.control.length = 0;
  out.rejects.length = 0;
  out.books.length = 0;
}

/**
 * A venue's L2 books, as data plus a router (`venues/<id>/book.ts`). The feed carries the `books`
 * channel on connections of its own (actors/feed/book-feed.ts), so a book resync never touches
 * the trade path and Coinbase's connection-wide sequence covers books only.
 */
export interface VenueBooks {
  /** The book connections' endpoint from the configured `<VENUE>_WS_URL` (identity when absent). */
  wsUrl?(configured: string): string;
  /** Symbols one book connection carries at most (default: the venue's stream limit). */
  readonly symbolsPerConnection?: number;
  /** The REST depth snapshot a resync fetches (Binance); absent where the socket brings snapshots. */
  readonly rest?: RestDepth;
  /** What the `books` subscription asks for (documented per venue), for logs and health. */
  readonly subscription: string;
  /** The books of one connection. */
  createRouter(opts: BookRouterOptions): BookRouter;
  /**
   * The venue's perpetuals (`BASE-QUOTE-PERP`) where its trade adapter cannot name them (Bybit
   * linear, OKX swaps): their books on connections of their own, with their own adapter.
   */
  readonly perps?: PerpBooks;
}

/** Books of a venue's perpetuals (VenueBooks.perps): the adapter naming and parsing them, and their contract values. */
export interface PerpBooks extends Omit<VenueBooks, 'perps'> {
  /** A fresh adapter for one book connection (symbols `BASE-QUOTE-PERP`). */
  createAdapter(): VenueAdapter;
  /** Where book sizes are in contracts (OKX swaps): their contract values, read by REST before a book is added. */
  readonly contracts?: DerivsContracts;
}

export interface RestDepth {
  /** Path and query, appended to the REST base. */
  path(venueSymbol: string): string;
  /** Request weight of one call against `VenueLimits.restWeightPerMin`. */
  readonly weight: number;
}

export interface BookRouterOptions {
  venue: string;
  /** A resync not completed after this long is requested again. */
  resyncTimeoutMs?: number;
  /** Contract value by venue symbol where book sizes are in contracts (PerpBooks.contracts); read when a book is added. */
  contractValues?: ReadonlyMap<string, string>;
}

/**
 * The per-symbol book syncs of one connection (actors/book/router.ts has the shared part): frames
 * in, `BookOutput` (events, resync requests, invalid levels) out. Pure, like the syncs.
 */
export interface BookRouter {
  add(symbol: string, venueSymbol: string, now: number): void;
  remove(symbol: string): void;
  get(symbol: string): BookSync | undefined;
  syncs(): Iterable<BookSync>;
  /** One frame the adapter put in `ParseOutput.books`. */
  onFrame(frame: BookFrame, recvTs: number, out: BookOutput): void;
  /** A REST depth snapshot body for `symbol`; returns a reason when the body is malformed (then nothing changed). */
  onSnapshot(symbol: string, body: string, recvTs: number, out: BookOutput): string | null;
  /** The snapshot request failed; asked again after `retryAfterMs`. */
  onSnapshotFailed(symbol: string, now: number, retryAfterMs: number, out: BookOutput): void;
  /** The socket is gone: every book resyncs. */
  onDisconnect(now: number, out: BookOutput): void;
  tick(now: number, out: BookOutput): void;
}
