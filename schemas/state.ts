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
