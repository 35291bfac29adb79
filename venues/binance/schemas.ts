import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { PositiveDecimal, SafeId, VenueDecimal, VenueMs, VenueSymbolText } from '../kit/raw.js';

/**
 * Binance spot / Binance.US market streams (same protocol), the event payloads we consume.
 * In a combined stream they arrive as `{"stream":"<name>","data":<payload>}`.
 * https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams
 */

/** `<symbol>@aggTrade`: `m` true means the buyer was the maker, so the taker sold. */
export const BinanceAggTrade = Type.Object({
  e: Type.Literal('aggTrade'),
  E: VenueMs,
  s: VenueSymbolText,
  a: SafeId,
  p: PositiveDecimal,
  q: PositiveDecimal,
  f: SafeId,
  l: SafeId,
  T: VenueMs,
  m: Type.Boolean(),
});
export type BinanceAggTrade = Static<typeof BinanceAggTrade>;
export const BinanceAggTradeCheck = TypeCompiler.Compile(BinanceAggTrade);

/** `<symbol>@trade`. */
export const BinanceTrade = Type.Object({
  e: Type.Literal('trade'),
  E: VenueMs,
  s: VenueSymbolText,
  t: SafeId,
  p: PositiveDecimal,
  q: PositiveDecimal,
  T: VenueMs,
  m: Type.Boolean(),
});
export type BinanceTrade = Static<typeof BinanceTrade>;
export const BinanceTradeCheck = TypeCompiler.Compile(BinanceTrade);

/** `<symbol>@bookTicker`: spot sends no event type or time; USD-M futures add `"e":"bookTicker"`, `E` and `T`. */
export const BinanceBookTicker = Type.Object({
  e: Type.Optional(Type.Literal('bookTicker')),
  u: SafeId,
  s: VenueSymbolText,
  b: VenueDecimal,
  B: VenueDecimal,
  a: VenueDecimal,
  A: VenueDecimal,
  E: Type.Optional(VenueMs),
  T: Type.Optional(VenueMs),
});
export type BinanceBookTicker = Static<typeof BinanceBookTicker>;
export const BinanceBookTickerCheck = TypeCompiler.Compile(BinanceBookTicker);

/** Reply to SUBSCRIBE/UNSUBSCRIBE/LIST_SUBSCRIPTIONS: `{"result":null,"id":1}`. */
export const BinanceResult = Type.Object({
  result: Type.Union([Type.Null(), Type.Array(Type.String()), Type.Boolean()]),
  id: Type.Union([Type.Integer(), Type.String(), Type.Null()]),
});
export const BinanceResultCheck = TypeCompiler.Compile(BinanceResult);

/** REST `GET /api/v3/aggTrades` item (same fields as the stream, without e/E/s). */
export const BinanceRestAggTrades = Type.Array(Type.Omit(BinanceAggTrade, ['e', 'E', 's']), { maxItems: 1000 });
export type BinanceRestAggTrades = Static<typeof BinanceRestAggTrades>;
export const BinanceRestAggTradesCheck = TypeCompiler.Compile(BinanceRestAggTrades);
