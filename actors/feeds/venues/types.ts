import type { Quote } from '../../../schemas/quote.js';
import type { Trade } from '../../../schemas/trade.js';

/**
 * The one shape every venue adapter has (one file per venue, see registry.ts). An adapter is pure
 * protocol knowledge: it builds the frames to send and classifies every frame received. It owns
 * no socket; the connection actor drives it with `ws`. Create one instance per connection
 * (`VenueAdapterFactory.create`): some venues need per-connection state (Bybit depth-1 deltas,
 * symbols learnt from subscriptions).
 */
export interface VenueAdapter {
  readonly venue: string;
  /** Public market-data WebSocket endpoint; `<VENUE>_WS_URL` overrides it. */
  readonly wsUrl: string;
  /** Public REST base (backfill); absent where the adapter needs none. */
  readonly restUrl?: string;
  /** The venue's documented limits, as data for the supervisor's token buckets. */
  readonly limits: VenueLimits;
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

  /** REST source for filling trade-id gaps (Binance aggTrades); absent where the venue offers none we use. */
  readonly backfill?: TradeBackfill;
}

/** How to fetch trades by sequence id over the venue's public REST API. */
export interface TradeBackfill {
  /** Most trades one request may return. */
  readonly maxPerRequest: number;
  /** Request weight of one call against `VenueLimits.restWeightPerMin`. */
  readonly weight: number;
  /** Path and query, appended to `restUrl`, for up to `limit` trades with sequence ≥ `fromId`. */
  path(venueSymbol: string, fromId: number, limit: number): string;
  /**
   * Response body → trades normalized exactly as live ones, in id order; `like` is the live trade
   * whose gap is being filled (venue, symbol, venueSymbol come from it). Throws on a malformed body.
   */
  parse(body: string, like: Trade, recvTs: number): Trade[];
}

export interface VenueAdapterFactory {
  /** Venue ids this adapter serves, e.g. ['binance', 'binance-us']. */
  readonly venues: readonly string[];
  create(venue: string): VenueAdapter;
}

export type FeedChannel = 'trades' | 'quotes';

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
  /** REST request weight per minute per IP (Binance 6000); backfill requests spend `TradeBackfill.weight`. */
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
export type RejectReason = 'json' | 'schema' | 'symbol' | 'unknown-frame' | 'internal' | 'encoding';

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

export type FrameClass = 'data' | 'reject' | ControlKind;

/** Batch sink for parse results; reuse one per connection and clear it after each publish. */
export interface ParseOutput {
  trades: Trade[];
  quotes: Quote[];
  control: ControlKind[];
  rejects: FrameReject[];
}

export function newParseOutput(): ParseOutput {
  return { trades: [], quotes: [], control: [], rejects: [] };
}

export function clearParseOutput(out: ParseOutput): void {
  out.trades.length = 0;
  out.quotes.length = 0;
  out.control.length = 0;
  out.rejects.length = 0;
}
