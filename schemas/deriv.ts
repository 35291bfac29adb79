import { Type, type Static } from '@sinclair/typebox';
import { lazyCheck } from './check.js';
import { DecimalString, EpochMs, Symbol, VenueId } from './common.js';

/**
 * Perpetual-swap derivatives data (DESIGN.md "Extensions in progress"):
 * - `md.deriv.<venue>.<SYMBOL>` in `MD_DERIVS`: the venue's derivative ticker, merged from every
 *   channel that carries a part of it, emitted on change at most once per second;
 * - `md.liq.<venue>.<SYMBOL>` in `MD_LIQS`: one liquidation order;
 * - PostgreSQL `funding_rates`: one row per settled funding (venue, symbol, settlement time).
 * Symbols are `BASE-QUOTE-PERP`; quantities are base units (contracts × contract value), the
 * venue's own figure kept beside them as `venue…`.
 */

const NullableDecimal = Type.Union([DecimalString, Type.Null()]);
const NullableMs = Type.Union([EpochMs, Type.Null()]);

/** The fields a venue sends (in parts) and the merge keeps; null = the venue has not said (or says there is none). */
export const DerivFields = Type.Object({
  markPrice: NullableDecimal,
  indexPrice: NullableDecimal,
  lastPrice: NullableDecimal,
  /** The rate that settles at `nextFundingTime`, per funding interval (0.0001 = 1 bp). */
  fundingRate: NullableDecimal,
  /** The next settlement, epoch ms (OKX `fundingTime`, Binance `T`, Bybit `nextFundingTime`). */
  nextFundingTime: NullableMs,
  /** The funding interval, stated by the venue or observed between two settlements. */
  fundingIntervalMs: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
  /** The venue's estimate for the settlement after the next (OKX `nextFundingRate`). */
  predictedFundingRate: NullableDecimal,
  /** Open interest in base units. */
  openInterest: NullableDecimal,
  /** Open interest in quote currency, where the venue sends it. */
  openInterestValue: NullableDecimal,
  /** Open interest as the venue sent it (contracts on OKX), where it differs from `openInterest`. */
  venueOpenInterest: NullableDecimal,
});
export type DerivFields = Static<typeof DerivFields>;

export const DERIV_FIELD_NAMES = Object.keys(DerivFields.properties) as (keyof DerivFields)[];

/** A funding that settled: the last rate announced for `fundingTime` before the venue moved on. */
export const SettledFunding = Type.Object({
  fundingRate: DecimalString,
  fundingTime: EpochMs,
  fundingIntervalMs: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
});
export type SettledFunding = Static<typeof SettledFunding>;

/** `md.deriv.<venue>.<SYMBOL>` payload, also the Redis `deriv:<venue>:<SYMBOL>` value and the API answer. */
export const DerivTicker = Type.Composite([
  Type.Object({ venue: VenueId, symbol: Symbol, venueSymbol: Type.String({ minLength: 1, maxLength: 64 }) }),
  DerivFields,
  Type.Object({
    /** Venue time of the newest part merged in, epoch ms; strictly increasing per venue+symbol (so the message id is unique). */
    ts: EpochMs,
    recvTs: EpochMs,
    /** Present on the ticker that moved `nextFundingTime` past a settlement: the rate that settled there. */
    settled: Type.Optional(SettledFunding),
  }),
]);
export type DerivTicker = Static<typeof DerivTicker>;
export const DerivTickerCheck = lazyCheck(DerivTicker);

/** `md.liq.<venue>.<SYMBOL>` payload. */
export const Liquidation = Type.Object({
  venue: VenueId,
  symbol: Symbol,
  venueSymbol: Type.String({ minLength: 1, maxLength: 64 }),
  /** The side of the liquidation ORDER: `sell` closes a liquidated long, `buy` a liquidated short. */
  side: Type.Union([Type.Literal('buy'), Type.Literal('sell')]),
  price: DecimalString,
  /** Base units. */
  qty: DecimalString,
  /** The venue's own quantity (contracts) where it differs from `qty`. */
  venueQty: Type.Optional(DecimalString),
  ts: EpochMs,
  recvTs: EpochMs,
  /** True where the venue sends a sample, not every liquidation (Binance: the latest per symbol per second). */
  sampled: Type.Boolean(),
});
export type Liquidation = Static<typeof Liquidation>;
export const LiquidationCheck = lazyCheck(Liquidation);

/** One settled funding rate as stored in `funding_rates` and served by `GET /v1/funding`. */
export const FundingRate = Type.Object({
  venue: VenueId,
  symbol: Symbol,
  fundingTime: EpochMs,
  fundingRate: DecimalString,
  fundingIntervalMs: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
});
export type FundingRate = Static<typeof FundingRate>;

export const DERIV_STREAM = 'MD_DERIVS';
export const DERIV_STREAM_SUBJECTS = 'md.deriv.>';
export const LIQ_STREAM = 'MD_LIQS';
export const LIQ_STREAM_SUBJECTS = 'md.liq.>';

export const derivSubject = (venue: string, symbol: string): string => `md.deriv.${venue}.${symbol}`;
export const liqSubject = (venue: string, symbol: string): string => `md.liq.${venue}.${symbol}`;
/** `Nats-Msg-Id` of a merged ticker (its `ts` is strictly increasing per venue+symbol). */
export const derivMsgId = (t: Pick<DerivTicker, 'venue' | 'symbol' | 'ts'>): string => `${t.venue}:${t.symbol}:d:${t.ts}`;
/** `Nats-Msg-Id` of a liquidation: venues give no id, so its content is the id (two replicas store it once). */
export const liqMsgId = (l: Pick<Liquidation, 'venue' | 'symbol' | 'ts' | 'side' | 'price' | 'qty'>): string =>
  `${l.venue}:${l.symbol}:${l.ts}:${l.side}:${l.price}:${l.qty}`;
/** Redis key of the latest merged ticker (`DerivTicker` JSON), before namespacing. */
export const derivKey = (venue: string, symbol: string): string => `deriv:${venue}:${symbol}`;

/** A funding interval of 8 h: the interval funding spreads are normalized to, and most venues' default. */
export const FUNDING_8H_MS = 8 * 3_600_000;

// ---- API: GET /v1/derivs/:venue/:symbol and GET /v1/funding ---------------------------------

/** 9999-12-31T23:59:59.999Z: the largest time the API takes. */
const MAX_TIME_MS = 253_402_300_799_999;

const ApiVenue = Type.String({ ...VenueId, description: 'a venue id like binance-futures' });
const ApiPerp = Type.String({ ...Symbol, description: 'a canonical BASE-QUOTE-PERP symbol in upper case, like BTC-USDT-PERP' });

export const DerivParams = Type.Object({ venue: ApiVenue, symbol: ApiPerp });
export type DerivParams = Static<typeof DerivParams>;
export const DerivResponse = Type.Composite([DerivTicker], { description: 'The latest merged derivative ticker of one venue/symbol (Redis, one GET)' });

export const FundingQuery = Type.Object({
  symbol: ApiPerp,
  venue: Type.Optional(ApiVenue),
  since: Type.Optional(
    Type.Union([Type.Integer({ minimum: 0, maximum: MAX_TIME_MS }), Type.String({ minLength: 1, maxLength: 40 })], {
      description: 'epoch milliseconds (0 to 253402300799999) or an ISO 8601 date/time',
    }),
  ),
  limit: Type.Optional(Type.Integer({ minimum: 1, description: 'a positive integer (values above the maximum are capped)' })),
});
export type FundingQuery = Static<typeof FundingQuery>;
export const FundingResponse = Type.Object(
  { symbol: Symbol, rates: Type.Array(FundingRate) },
  { description: 'Settled funding rates of a symbol, newest settlement first' },
);
export type FundingResponse = Static<typeof FundingResponse>;

/**
 * WebSocket `/v1/stream`, channel `deriv`: `{"op":"subscribe","channel":"deriv","venue","symbol"}`
 * → `{"type":"subscribed","channel":"deriv",...}`, then `{"type":"deriv","data":DerivTicker}` when the
 * ticker changed, at most once per throttle interval per venue/symbol.
 */
export const DerivStreamSubscribe = Type.Object({
  op: Type.Union([Type.Literal('subscribe'), Type.Literal('unsubscribe')], { description: 'subscribe or unsubscribe' }),
  channel: Type.Literal('deriv', { description: 'deriv' }),
  venue: ApiVenue,
  symbol: ApiPerp,
});
export type DerivStreamSubscribe = Static<typeof DerivStreamSubscribe>;

/** Server → client frame of the `deriv` channel. */
export const StreamDerivFrame = Type.Object(
  { type: Type.Literal('deriv'), data: DerivTicker },
  { description: 'The latest merged derivative ticker (channel deriv), throttled per venue/symbol' },
);
