import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { Logger } from '../runtime/logger.js';
import type { FairPriceOptions } from './fair.js';

/** A rate: an exact count per trailing window, or a token bucket (sustained rate plus burst). */
export type Rate = { limit: number; windowMs: number } | { capacity: number; refillPerSec: number };

/**
 * Limits the simulator enforces the way the venue does; `null` turns one off. Every breach is
 * counted in `SimStats.violations` under the key named here.
 */
export interface SimLimits {
  /** Connection attempts per client IP; breach → HTTP 429 on the upgrade (`connect-rate`). */
  connect: Rate | null;
  /** Attempts refused with 429 before the IP is banned (HTTP 418 / venue ban status) for `banMs`. */
  connectBanAfter: number | null;
  banMs: number;
  /** Incoming frames per connection, ping/pong control frames included; breach → disconnect (`message-rate`). */
  messages: Rate | null;
  /** Incoming frames per IP across connections (Coinbase); breach → disconnect (`ip-message-rate`). */
  ipMessages: Rate | null;
  /** Subscribe/unsubscribe requests per connection (OKX 480/h); breach → error frame (`subscribe-rate`). */
  subscribes: Rate | null;
  /** Topics held by one connection (Binance 1024); breach → error frame, nothing subscribed (`stream-limit`). */
  maxStreams: number | null;
  /** Topics in one subscribe request (Bybit spot 10); breach → error frame (`args-limit`). */
  maxArgsPerRequest: number | null;
  /** REST request weight per minute per IP (Binance 6000); breach → HTTP 429 (`rest-weight`). */
  restWeightPerMin: number | null;
}

/** Limits from the ones a venue has (connect and ban are always stated); every other limit is off (null). */
export function simLimits(own: Pick<SimLimits, 'connect' | 'banMs'> & Partial<SimLimits>): SimLimits {
  return {
    connect: own.connect,
    connectBanAfter: own.connectBanAfter ?? null,
    banMs: own.banMs,
    messages: own.messages ?? null,
    ipMessages: own.ipMessages ?? null,
    subscribes: own.subscribes ?? null,
    maxStreams: own.maxStreams ?? null,
    maxArgsPerRequest: own.maxArgsPerRequest ?? null,
    restWeightPerMin: own.restWeightPerMin ?? null,
  };
}

export interface SyntheticOptions {
  /** Canonical `BASE-QUOTE` symbols. */
  symbols: string[];
  /** Individual trades per second across all symbols (mean; arrivals are bursty). */
  tradesPerSec: number;
  /** Quote-only book changes per second across all symbols; default half of tradesPerSec, at least 1. */
  quotesPerSec?: number;
  seed?: number;
  /** Start price per canonical symbol as a decimal string; its decimals set the tick size (and it centres the fair price). */
  startPrice?: Record<string, string>;
  /** The fair price every venue's book follows and this venue's noise around it (simulate/fair.ts); defaults suit a demo. */
  fair?: FairPriceOptions;
  /** false: no true L2 book (events carry no depth changes); a past market needs only its trades. Default true. */
  trueBook?: boolean;
  /** 0 = plain Poisson single fills; towards 1 = more multi-fill sweeps and hot periods. Default 0.3. */
  burstiness?: number;
  /** Generator timer period; default 5 ms. */
  tickMs?: number;
  /**
   * Added to every symbol's first trade and aggTrade id (default 0). A venue never reuses an id, so a
   * simulator restarted against the same streams (e.g. `up --demo` twice) passes a time-based offset;
   * otherwise its repeated ids are rightly dropped as duplicates.
   */
  idOffset?: number;
}

export interface SimulatorOptions {
  /** A venue id of the registry (venues/index.ts). */
  venue: string;
  host?: string;
  /** 0 (default) picks an ephemeral port. */
  port?: number;
  /** A `NAME.ws.K.0` recording to replay (its `NAME.0` beside it serves recorded REST bodies). */
  recording?: string;
  /**
   * REST bodies to serve beside `recording`, in the `<url> -> <unix seconds>: <body>` lines of the
   * `.0` files (a recorded depth snapshot then pairs with its recorded diffs); default its sibling `NAME.0`.
   */
  restRecording?: string;
  /** Synthetic market; the default when no recording is given (the venue's demo symbols, 20 trades/s). */
  synthetic?: SyntheticOptions;
  /** 'venue' (default) = the venue's documented limits; 'none'; or overrides merged over the venue's. */
  limits?: 'venue' | 'none' | Partial<SimLimits>;
  /** Recording replay speed: 1 = original timing, 10 = ten times faster, Infinity = as fast as possible. Default 1. */
  speed?: number;
  /** When a recording replay starts for a client: at its first subscribe request (default) or at connect. */
  replayStart?: 'subscribe' | 'connect';
  /** Server WebSocket ping period where the venue pings (Binance: 20 s), and how long a pong may take (60 s). */
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  /** Connection lifetime after which the server closes it (1000, as Binance does at 24 h); default the venue's. */
  maxConnectionMs?: number;
  /** Trades kept per symbol for REST backfill; default 500 000. */
  historyLimit?: number;
  /** A client whose unsent backlog exceeds this is cut off as a slow consumer; default 64 MiB. */
  maxBufferedBytes?: number;
  log?: Logger;
}

/**
 * Misbehaviour on command (`Simulator.misbehave`, or `POST /__sim/misbehave` with this JSON):
 * - `drop-all`: terminate every connection now (TCP reset, no close frame); refuse new ones for `durationMs`.
 * - `drop-every`: terminate every connection each `everyMs`, for `durationMs` (default: until reset).
 * - `stall`: send nothing for `ms` (frames generated meanwhile are lost) to the connections open now, or to all.
 * - `malformed` + `count`: send `count` malformed frames to each subscribed client now (or to the next one that subscribes).
 * - `malformed` + `ratio`: after each data frame, with that probability, also send a malformed one; for `durationMs` (default: until reset).
 * - `ban`: terminate every connection; answer upgrades and REST with the venue's ban status for `ms`.
 * - `book` + `fault`: the next L2 book delta (of `symbol`, canonical, or of any symbol) is dropped,
 *   sent twice, held back behind that symbol's next delta, or sent with a wrong checksum (Kraken, OKX).
 * - `snapshot-429` + `count`: the next `count` REST depth snapshots answer 429 with `Retry-After`
 *   (`retryAfterMs`, rounded up to seconds, default 1 s); asking again earlier counts `retry-after`.
 * - `reset`: stop every misbehaviour in progress.
 */
export const MisbehaviourSchema = Type.Union([
  Type.Object({ kind: Type.Literal('drop-all'), durationMs: Type.Optional(Type.Integer({ minimum: 0 })) }),
  Type.Object({ kind: Type.Literal('drop-every'), everyMs: Type.Integer({ minimum: 10 }), durationMs: Type.Optional(Type.Integer({ minimum: 0 })) }),
  Type.Object({
    kind: Type.Literal('stall'),
    ms: Type.Integer({ minimum: 0 }),
    scope: Type.Optional(Type.Union([Type.Literal('existing'), Type.Literal('all')])),
  }),
  Type.Object({ kind: Type.Literal('malformed'), count: Type.Integer({ minimum: 0, maximum: 10_000_000 }) }),
  Type.Object({ kind: Type.Literal('malformed'), ratio: Type.Number({ minimum: 0, maximum: 1 }), durationMs: Type.Optional(Type.Integer({ minimum: 0 })) }),
  Type.Object({ kind: Type.Literal('ban'), ms: Type.Integer({ minimum: 0 }) }),
  Type.Object({
    kind: Type.Literal('book'),
    fault: Type.Union([Type.Literal('drop'), Type.Literal('duplicate'), Type.Literal('reorder'), Type.Literal('corrupt-checksum')]),
    symbol: Type.Optional(Type.String({ pattern: '^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}(-PERP)?$' })),
  }),
  Type.Object({ kind: Type.Literal('snapshot-429'), count: Type.Integer({ minimum: 1, maximum: 1_000_000 }), retryAfterMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000 })) }),
  Type.Object({ kind: Type.Literal('reset') }),
]);
export type Misbehaviour = Static<typeof MisbehaviourSchema>;
export const MisbehaviourCheck = TypeCompiler.Compile(MisbehaviourSchema);

export type MalformedKind = 'truncated' | 'wrong-type' | 'missing-field' | 'huge-number' | 'non-utf8';

export interface SymbolHistoryStats {
  /** Individual trades generated (Binance `trade` ids, Kraken/Coinbase/OKX trade ids). */
  trades: number;
  firstTradeId: number | null;
  lastTradeId: number | null;
  /** Aggregated trades generated (Binance `aggTrade` ids): fills of one taker order at one price. */
  aggTrades: number;
  firstAggId: number | null;
  lastAggId: number | null;
}

export interface SimStats {
  venue: string;
  mode: 'synthetic' | 'recording';
  /** WebSocket connections accepted, ever. */
  connections: number;
  /** WebSocket upgrade requests, ever (accepted or refused). */
  connectAttempts: number;
  /** Upgrades refused (rate limit, ban, outage, unknown path). */
  rejectedConnects: number;
  activeClients: number;
  framesSent: number;
  /** Trade records sent to clients, per canonical symbol, counted once per client. */
  tradesSent: Record<string, number>;
  /** Quote frames sent to clients, counted once per client. */
  quotesSent: number;
  malformedSent: number;
  malformedByKind: Record<string, number>;
  /** Connections the simulator cut on purpose (misbehaviour), not for limits. */
  drops: number;
  /** Connections closed for breaking a limit, not answering pings, or not reading fast enough. */
  limitDisconnects: number;
  /** Connections closed for reaching the venue's maximum lifetime (Binance 24 h). */
  expiredConnections: number;
  violations: Record<string, number>;
  /** Book misbehaviour applied (`/__sim` `book`), by fault. */
  bookFaults: Record<string, number>;
  subscribeMessages: number;
  messagesReceived: number;
  /** Recording frames sent, counted once per client; `replaysCompleted` clients got the whole file. */
  replayFramesSent: number;
  replaysCompleted: number;
  restRequests: number;
  /** What the synthetic market generated (ground truth for gap checks), per canonical symbol. */
  generated: Record<string, SymbolHistoryStats>;
  paused: boolean;
}

/** The true book a venue's book channels render, at the market's current update id. */
export interface TrueBookView {
  symbol: string;
  updateId: number;
  bids: [price: string, qty: string][];
  asks: [price: string, qty: string][];
}

export interface Simulator {
  readonly venue: string;
  /**
   * The venue's public WebSocket endpoint on this server (the path of the venue's own URL, e.g.
   * `ws://127.0.0.1:PORT/v5/public/spot`, Binance `.../stream`): what `<VENUE>_WS_URL` takes.
   */
  readonly wsUrl: string;
  /** `ws://127.0.0.1:PORT`, for other paths the venue serves (Binance `/ws`, `/stream?streams=`). */
  readonly origin: string;
  /** The variables that point a feed at this simulator: `<VENUE>_WS_URL` and `<VENUE>_REST_URL`. */
  readonly env: Record<string, string>;
  /** `http://127.0.0.1:PORT`, the REST base (append `/api/v3/aggTrades`, ...). */
  readonly restUrl: string;
  /** `http://127.0.0.1:PORT/__sim`, the control endpoint for other processes. */
  readonly controlUrl: string;
  readonly port: number;
  stats(): SimStats;
  misbehave(cmd: Misbehaviour): void;
  /** Stop / restart the synthetic generator (no trades while paused; the clock is not caught up). */
  /**
   * Puts `symbol`'s prices `ticks` (price ticks) away from where they would be (0: back), at once and
   * exactly, every book level included; `POST /__sim/diverge?symbol=&ticks=`. A divergence scenario
   * is two simulators with the same seed, one of them diverged.
   */
  diverge(symbol: string, ticks: number): void;
  /** The synthetic market's true L2 book of `symbol` (best `depth` levels per side, canonical decimals); `GET /__sim/book?symbol=&depth=`. */
  book(symbol: string, depth?: number): TrueBookView | null;
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}
