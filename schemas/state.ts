import { Type, type Static } from '@sinclair/typebox';
import { DecimalString, EpochMs, Symbol, VenueId } from './common.js';
import { Candle } from './candle.js';
import { Trade } from './trade.js';

/**
 * Live state of one venue+symbol as the API serves it (`GET /v1/state/:venue/:symbol`).
 * The worker writes it to Redis key `state:<venue>:<SYMBOL>` (namespaced) as one JSON string
 * (one fenced pipeline per worker per flush for every changed symbol), so the API reads it in
 * one round trip.
 */
export const LiveState = Type.Object({
  venue: VenueId,
  symbol: Symbol,
  lastTrade: Type.Union([Trade, Type.Null()]),
  /** Open candle per timeframe, keyed by tf. */
  candles: Type.Record(Type.String(), Candle),
  /**
   * Closed candles published to MD_CANDLES and not yet acknowledged when this state was written
   * (oldest first, at most 64; absent when none): the API serves them until MD_CANDLES or
   * PostgreSQL has them, so no bar is missing between the stored ones and the open one.
   */
  pending: Type.Optional(Type.Array(Candle)),
  /** Rolling VWAP per window (e.g. "1m", "5m", "15m"); null when the window holds no volume. */
  vwap: Type.Record(Type.String(), Type.Union([DecimalString, Type.Null()])),
  /** Last applied MD_TRADES stream sequence. */
  lastSeq: Type.Integer({ minimum: 0 }),
  tradesApplied: Type.Integer({ minimum: 0 }),
  updatedAt: EpochMs,
  worker: Type.Optional(Type.String()),
});
export type LiveState = Static<typeof LiveState>;

export const stateKey = (venue: string, symbol: string): string => `state:${venue}:${symbol}`;

/** Health of one venue's feed, written by the feed supervisor to Redis key `feed:<venue>` every second. */
export const FeedHealth = Type.Object({
  venue: VenueId,
  connections: Type.Integer({ minimum: 0 }),
  connected: Type.Integer({ minimum: 0 }),
  symbols: Type.Array(Symbol),
  lastMessageTs: Type.Union([EpochMs, Type.Null()]),
  reconnects: Type.Integer({ minimum: 0 }),
  tradesPublished: Type.Integer({ minimum: 0 }),
  dlq: Type.Integer({ minimum: 0 }),
  updatedAt: EpochMs,
});
export type FeedHealth = Static<typeof FeedHealth>;
export const feedHealthKey = (venue: string): string => `feed:${venue}`;

/** Set of known `<venue>:<SYMBOL>` pairs → owning worker (Redis hash `symbols`), for `GET /v1/symbols`. */
export const symbolsKey = 'symbols';

/** One symbol a worker owns (`GET /v1/ownership` on the worker's HTTP port). */
export const OwnedSymbol = Type.Object({
  venue: VenueId,
  symbol: Symbol,
  /** Fencing token: the NATS KV revision of the lease when it was acquired; null for a static shard. */
  token: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
  /** Epoch ms (the worker's clock) when it was acquired. */
  since: EpochMs,
  /** The symbol actor has read its snapshot and MD_TRADES and applies live trades. */
  ready: Type.Boolean(),
});
export type OwnedSymbol = Static<typeof OwnedSymbol>;

/** What one worker owns: `GET /v1/ownership` on its HTTP port. */
export const WorkerOwnership = Type.Object({
  worker: Type.String(),
  /** `group`: leases on NATS KV (`tickwork worker`); `static`: `--shard i/N`. */
  kind: Type.Union([Type.Literal('group'), Type.Literal('static')]),
  /** Live group members as this worker sees them. */
  members: Type.Array(Type.String()),
  owned: Type.Array(OwnedSymbol),
});
export type WorkerOwnership = Static<typeof WorkerOwnership>;
