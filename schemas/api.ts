import { Type, type Static } from '@sinclair/typebox';
import { Candle } from './candle.js';
import { MAX_EPOCH_MS } from './candle-check.js';
import { Trade } from './trade.js';
import { EpochMs, Symbol, Timeframe, VenueId, DecimalString } from './common.js';
import { FeedHealth, LiveState } from './state.js';
import { ArbitrageRecord } from './arbitrage.js';
import { BookStreamSubscribe, StreamBookFrame } from './book.js';
import { DerivStreamSubscribe, StreamDerivFrame } from './deriv.js';

/**
 * Request and response bodies of the query service (HTTP `/v1/*`, WebSocket `/v1/stream`, NATS
 * `md.query.*`). The `description`s double as the 400 message naming what a field expects.
 */

const Venue = Type.String({ ...VenueId, description: 'a venue id like binance' });
const Sym = Type.String({ ...Symbol, description: 'a canonical BASE-QUOTE symbol in upper case, like BTC-USDT' });
const Tf = Type.Union(Timeframe.anyOf, { description: 'one of 1s, 1m, 5m, 15m, 1h, 4h, 1d' });
/** Epoch milliseconds, or an ISO 8601 date/time string; parsed by the handler. */
export const TimeParam = Type.Union([Type.Integer({ minimum: 0, maximum: MAX_EPOCH_MS }), Type.String({ minLength: 1, maxLength: 40 })], {
  description: 'epoch milliseconds (0 to 253402300799999) or an ISO 8601 date/time',
});
const Limit = Type.Integer({ minimum: 1, description: 'a positive integer (values above the maximum are capped)' });

/** Every 4xx/5xx body: `field` names the offending parameter when there is one. */
export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'bad_request, not_found, rate_limited, forbidden, unavailable, internal, ...' }),
    field: Type.Optional(Type.String()),
    message: Type.String(),
  },
  { description: 'An error: `field` names the offending parameter when there is one' },
);
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
export const CandlesResponse = Type.Object(
  {
    venue: VenueId,
    symbol: Symbol,
    tf: Timeframe,
    candles: Type.Array(Candle),
  },
  { description: 'Candles by openTime: closed ones (PostgreSQL, then MD_CANDLES for the newest the sink has not written yet), the open one last' },
);
export type CandlesResponse = Static<typeof CandlesResponse>;

export const StateParams = Type.Object({ venue: Venue, symbol: Sym });
export type StateParams = Static<typeof StateParams>;
export const StateResponse = Type.Composite([LiveState], { description: 'Live state of one venue/symbol (Redis)' });

export const SymbolEntry = Type.Object({
  venue: VenueId,
  symbol: Symbol,
  worker: Type.Union([Type.String(), Type.Null()]),
  updatedAt: Type.Union([EpochMs, Type.Null()]),
});
export type SymbolEntry = Static<typeof SymbolEntry>;
export const SymbolsResponse = Type.Object({ symbols: Type.Array(SymbolEntry) }, { description: 'Known venue/symbol pairs, sorted' });
export type SymbolsResponse = Static<typeof SymbolsResponse>;

export const ArbitrageQuery = Type.Object({
  symbol: Type.Optional(Sym),
  since: Type.Optional(TimeParam),
  limit: Type.Optional(Limit),
});
export type ArbitrageQuery = Static<typeof ArbitrageQuery>;
/** Newest first. */
export const ArbitrageResponse = Type.Object({ opportunities: Type.Array(ArbitrageRecord) }, { description: 'Opportunities, newest first' });
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
export const OverviewResponse = Type.Object(
  {
    now: EpochMs,
    symbols: Type.Array(OverviewRow),
    feeds: Type.Array(FeedHealth),
  },
  { description: 'One row per known symbol and the health of every venue feed' },
);
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

/** Server → client frames of /v1/stream besides acknowledgements. */
export const StreamCandleFrame = Type.Object({ type: Type.Literal('candle'), data: Candle }, { description: 'A closed candle, or the open one (closed:false, throttled)' });
export const StreamTradeFrame = Type.Object({ type: Type.Literal('trade'), data: Trade }, { description: 'A trade (subscriptions with trades:true)' });
export const StreamArbFrame = Type.Object({ type: Type.Literal('arb'), data: ArbitrageRecord }, { description: 'A cross-venue opportunity (subscriptions with arb:true)' });
export const StreamDroppedFrame = Type.Object(
  { type: Type.Literal('dropped'), count: Type.Integer({ minimum: 1 }) },
  { description: 'Frames the server discarded because the client read too slowly: refetch over HTTP' },
);
export const StreamErrorFrame = Type.Composite([Type.Object({ type: Type.Literal('error') }), ErrorBody], {
  description: 'A refused client frame: the same body HTTP answers (400 bad_request naming the field, 404 not_found, 429 too_many_subscriptions / rate_limited)',
});

/** Every frame the server sends on /v1/stream. */
export const StreamServerFrame = Type.Union([StreamCandleFrame, StreamTradeFrame, StreamArbFrame, StreamBookFrame, StreamDerivFrame, StreamAck, StreamDroppedFrame, StreamErrorFrame]);
/** Every frame a client may send on /v1/stream. */
export const StreamClientFrame = Type.Union([StreamSubscribe, StreamUnsubscribe, BookStreamSubscribe, DerivStreamSubscribe]);

// ---- process routes (every tickwork process) ----

export const HealthResponse = Type.Object({ status: Type.Literal('ok') }, { description: 'The process is alive' });
export const ReadyResponse = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('not ready')]),
    failing: Type.Array(Type.String(), { description: 'names of failing checks (nats, redis, postgres, process, shutdown)' }),
    checks: Type.Record(Type.String(), Type.String(), { description: 'per dependency: "ok" or the reason it failed' }),
  },
  { description: 'Readiness: every dependency answered (200) or not (503)' },
);
