import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { IdString, PositiveDecimal, Rfc3339, SafeId, VenueDecimal, VenueMs, VenueMsString, VenueSymbolText } from '../kit/raw.js';

/**
 * Bybit public market data: today's v5 (`/v5/public/spot|linear`) and the older v2
 * `realtime_public` trade topic seen in recordings.
 * https://bybit-exchange.github.io/docs/v5/websocket/public/trade
 * https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook
 */

const TakerSide = Type.Union([Type.Literal('Buy'), Type.Literal('Sell')]);

/** v5 `publicTrade.<S>`: `S` is the taker side, `i` the trade id (UUID on linear, digits on spot). */
export const BybitPublicTrade = Type.Object({
  topic: Type.String({ maxLength: 128 }),
  type: Type.String(),
  ts: VenueMs,
  data: Type.Array(
    Type.Object({
      T: VenueMs,
      s: VenueSymbolText,
      S: TakerSide,
      v: PositiveDecimal,
      p: PositiveDecimal,
      i: IdString,
      BT: Type.Optional(Type.Boolean()),
    }),
    { maxItems: 10_000 },
  ),
});
export type BybitPublicTrade = Static<typeof BybitPublicTrade>;
export const BybitPublicTradeCheck = TypeCompiler.Compile(BybitPublicTrade);

const Level = Type.Tuple([VenueDecimal, VenueDecimal]);

/** v5 `orderbook.<depth>.<S>`; depth 1 is snapshot-only per the docs, deltas are handled anyway. */
export const BybitOrderbook = Type.Object({
  topic: Type.String({ maxLength: 128 }),
  type: Type.Union([Type.Literal('snapshot'), Type.Literal('delta')]),
  ts: VenueMs,
  data: Type.Object({
    s: VenueSymbolText,
    b: Type.Array(Level, { maxItems: 1000 }),
    a: Type.Array(Level, { maxItems: 1000 }),
    u: SafeId,
    seq: Type.Optional(SafeId),
  }),
  cts: Type.Optional(VenueMs),
});
export type BybitOrderbook = Static<typeof BybitOrderbook>;
export const BybitOrderbookCheck = TypeCompiler.Compile(BybitOrderbook);

/**
 * v2 `trade.<S>` (realtime_public / inverse `realtime`). `size` (and on inverse `price`) are JSON
 * numbers on the wire; the adapter turns them into their exact source text before JSON.parse.
 */
export const BybitV2Trade = Type.Object({
  topic: Type.String({ maxLength: 128 }),
  data: Type.Array(
    Type.Object({
      symbol: VenueSymbolText,
      price: PositiveDecimal,
      size: PositiveDecimal,
      side: TakerSide,
      trade_id: IdString,
      trade_time_ms: Type.Optional(Type.Union([VenueMsString, VenueMs])),
      timestamp: Rfc3339,
    }),
    { maxItems: 10_000 },
  ),
});
export type BybitV2Trade = Static<typeof BybitV2Trade>;
export const BybitV2TradeCheck = TypeCompiler.Compile(BybitV2Trade);
