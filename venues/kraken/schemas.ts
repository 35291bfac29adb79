import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { EpochSecondsText, PositiveDecimal, Rfc3339, SafeId, VenueDecimal, VenueSymbolText } from '../kit/raw.js';

/**
 * Kraken spot websocket: v2 (`wss://ws.kraken.com/v2`, JSON objects, prices as JSON numbers) and
 * v1 (`wss://ws.kraken.com`, positional arrays, prices as strings) as seen in recordings.
 * https://docs.kraken.com/api/docs/websocket-v2/trade, .../websocket-v2/ticker
 * v2 decimals are JSON numbers on the wire: the adapter rewrites them to their exact source text
 * before JSON.parse, so here they are decimal strings.
 */

/** v2 `trade` (snapshot = last 50 trades on subscribe, then updates); `side` is the taker side. */
export const KrakenV2Trade = Type.Object({
  channel: Type.Literal('trade'),
  type: Type.Union([Type.Literal('snapshot'), Type.Literal('update')]),
  data: Type.Array(
    Type.Object({
      symbol: VenueSymbolText,
      side: Type.Union([Type.Literal('buy'), Type.Literal('sell')]),
      price: PositiveDecimal,
      qty: PositiveDecimal,
      ord_type: Type.Optional(Type.String({ maxLength: 16 })),
      trade_id: SafeId,
      timestamp: Rfc3339,
    }),
    { maxItems: 10_000 },
  ),
});
export type KrakenV2Trade = Static<typeof KrakenV2Trade>;
export const KrakenV2TradeCheck = TypeCompiler.Compile(KrakenV2Trade);

/** v2 `ticker` (level 1); `timestamp` is absent in older versions of the channel. */
export const KrakenV2Ticker = Type.Object({
  channel: Type.Literal('ticker'),
  type: Type.Union([Type.Literal('snapshot'), Type.Literal('update')]),
  data: Type.Array(
    Type.Object({
      symbol: VenueSymbolText,
      bid: VenueDecimal,
      bid_qty: VenueDecimal,
      ask: VenueDecimal,
      ask_qty: VenueDecimal,
      timestamp: Type.Optional(Rfc3339),
    }),
    { maxItems: 10_000 },
  ),
});
export type KrakenV2Ticker = Static<typeof KrakenV2Ticker>;
export const KrakenV2TickerCheck = TypeCompiler.Compile(KrakenV2Ticker);

/** v1 trade: `[channelID, [[price, volume, time, side b|s, orderType m|l, misc], ...], "trade", pair]`. */
export const KrakenV1Trade = Type.Tuple([
  SafeId,
  Type.Array(
    Type.Tuple([
      PositiveDecimal,
      PositiveDecimal,
      EpochSecondsText,
      Type.Union([Type.Literal('b'), Type.Literal('s')]),
      Type.Union([Type.Literal('m'), Type.Literal('l')]),
      Type.String({ maxLength: 64 }),
    ]),
    { maxItems: 10_000 },
  ),
  Type.Literal('trade'),
  VenueSymbolText,
]);
export type KrakenV1Trade = Static<typeof KrakenV1Trade>;
export const KrakenV1TradeCheck = TypeCompiler.Compile(KrakenV1Trade);

/** v1 spread (best bid/offer): `[channelID, [bid, ask, time, bidVolume, askVolume], "spread", pair]`. */
export const KrakenV1Spread = Type.Tuple([
  SafeId,
  Type.Tuple([VenueDecimal, VenueDecimal, EpochSecondsText, VenueDecimal, VenueDecimal]),
  Type.Literal('spread'),
  VenueSymbolText,
]);
export type KrakenV1Spread = Static<typeof KrakenV1Spread>;
export const KrakenV1SpreadCheck = TypeCompiler.Compile(KrakenV1Spread);
