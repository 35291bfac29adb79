import { Type, type Static } from '@sinclair/typebox';
import { Candle } from './candle.js';
import { EpochMs, Symbol, Timeframe, VenueId, DecimalString } from './common.js';
import { FeedHealth, LiveState } from './state.js';
import { ArbitrageRecord } from './arbitrage.js';

/**
 * Request and response bodies of the query service (HTTP `/v1/*`, WebSocket `/v1/stream`, NATS
 * `md.query.*`). The `description`s double as the 400 message naming what a field expects.
 */

const Venue = Type.String({ ...VenueId, description: 'a venue id like binance' });
const Sym = Type.String({ ...Symbol, description: 'a canonical BASE-QUOTE symbol in upper case, like BTC-USDT' });
const Tf = Type.Union(Timeframe.anyOf, { description: 'one of 1s, 1m, 5m, 15m, 1h, 4h, 1d' });
/** Epoch milliseconds, or an ISO 8601 date/time string; parsed by the handler. */
export const TimeParam = Type.Union([EpochMs, Type.String({ minLength: 1, maxLength: 40 })], {
  description: 'epoch milliseconds or an ISO 8601 date/time',
});
const Limit = Type.Integer({ minimum: 1, description: 'a positive integer (values above the maximum are capped)' });

/** Every 4xx/5xx body: `field` names the offending parameter when there is one. */
export const ErrorBody = Type.Object({
  error: Type.String({ description: 'bad_request, not_found, rate_limited, internal, ...' }),
  field: Type.Optional(Type.String()),
  message: Type.String(),
});
export type ErrorBody = Static<typeof ErrorBody>;

export const CandlesQuery = Type.Object({
  venue: Venue,
  symbol: Sym,
  tf: Tf,
  from: Type.Optional(TimeParam),
  to: Type.Optional(TimeParam),
  limit: Type.Optional(Limit),
});
export type CandlesQuery = Static<typeof CandlesQuery>;

/** Closed candles from PostgreSQL plus the open one (`closed:false`, last) from Redis, by openTime. */
export const CandlesResponse = Type.Object({
  venue: VenueId,
  symbol: Symbol,
  tf: Timeframe,
  candles: Type.Array(Candle),
});
export type CandlesResponse = Static<typeof CandlesResponse>;

export const StateParams = Type.Object({ venue: Venue, symbol: Sym });
export type StateParams = Static<typeof StateParams>;
export const StateResponse = LiveState;

export const SymbolEntry = Type.Object({
  venue: VenueId,
  symbol: Symbol,
  worker: Type.Union([Type.String(), Type.Null()]),
  updatedAt: Type.Union([EpochMs, Type.Null()]),
});
export type SymbolEntry = Static<typeof SymbolEntry>;
export const SymbolsResponse = Type.Object({ symbols: Type.Array(SymbolEntry) });
export type SymbolsResponse = Static<typeof SymbolsResponse>;

export const ArbitrageQuery = Type.Object({
  symbol: Type.Optional(Sym),
  since: Type.Optional(TimeParam),
  limit: Type.Optional(Limit),
});
export type ArbitrageQuery = Static<typeof ArbitrageQuery>;
/** Newest first. */
export const ArbitrageResponse = Type.Object({ opportunities: Type.Array(ArbitrageRecord) });
export type ArbitrageResponse = Static<typeof ArbitrageResponse>;

/** Extension for the dashboard: one row per known symbol plus every venue's feed health, in one call. */
export const OverviewRow = Type.Object({
  venue: VenueId,
  symbol: Symbol,
  worker: Type.Union([Type.String(), Type.Null()]),
  lastPrice: Type.Union([DecimalString, Type.Null()]),
  lastTradeTs: Type.Union([EpochMs, Type.Null()]),
  vwap1m: Type.Union([DecimalString, Type.Null()]),
  tradesApplied: Type.Integer({ minimum: 0 }),
  updatedAt: Type.Union([EpochMs, Type.Null()]),
});
export type OverviewRow = Static<typeof OverviewRow>;
export const OverviewResponse = Type.Object({
  now: EpochMs,
  symbols: Type.Array(OverviewRow),
  feeds: Type.Array(FeedHealth),
});
export type OverviewResponse = Static<typeof OverviewResponse>;

// ---- WebSocket /v1/stream ----

export const StreamSubscribe = Type.Object({
  op: Type.Literal('subscribe'),
  venue: Venue,
  symbol: Sym,
  tf: Tf,
  /** Also push every trade of venue+symbol. */
  trades: Type.Optional(Type.Boolean()),
  /** Also push cross-venue arbitrage signals of symbol. */
  arb: Type.Optional(Type.Boolean()),
});
export type StreamSubscribe = Static<typeof StreamSubscribe>;

export const StreamUnsubscribe = Type.Object({
  op: Type.Literal('unsubscribe'),
  venue: Venue,
  symbol: Sym,
  tf: Tf,
});
export type StreamUnsubscribe = Static<typeof StreamUnsubscribe>;

export const StreamOp = Type.Object({
  op: Type.Union([Type.Literal('subscribe'), Type.Literal('unsubscribe')], { description: 'subscribe or unsubscribe' }),
});

/**
 * Server → client frames: `{type:'candle', data: Candle}` (open updates have closed:false,
 * throttled per venue/symbol/tf; closed ones closed:true), `{type:'trade', data: Trade}`,
 * `{type:'arb', data}`, acknowledgements, `{type:'dropped', count}` after the server discarded
 * frames for a slow reader (refetch over HTTP), and `{type:'error', error, field?, message}`.
 */
export const StreamAck = Type.Object({
  type: Type.Union([Type.Literal('subscribed'), Type.Literal('unsubscribed')]),
  venue: VenueId,
  symbol: Symbol,
  tf: Timeframe,
  trades: Type.Boolean(),
  arb: Type.Boolean(),
});
export type StreamAck = Static<typeof StreamAck>;
