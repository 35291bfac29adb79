import { Type, type Static } from '@sinclair/typebox';
import { DecimalString, EpochMs, Symbol, VenueId } from './common.js';
import { Candle } from './candle.js';
import { Trade } from './trade.js';

/**
 * Live state of one venue+symbol as the API serves it (`GET /v1/state/:venue/:symbol`).
 * The symbol actor writes it to Redis key `state:<venue>:<SYMBOL>` (namespaced) as one JSON
 * string in the same MULTI as its snapshot, so the API reads it in one round trip.
 */
export const LiveState = Type.Object({
  venue: VenueId,
  symbol: Symbol,
  lastTrade: Type.Union([Trade, Type.Null()]),
  /** Open candle per timeframe, keyed by tf. */
  candles: Type.Record(Type.String(), Candle),
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
