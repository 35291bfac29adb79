import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { PositiveDecimal, Rfc3339, SafeId, VenueDecimal, VenueSymbolText } from '../kit/raw.js';

/**
 * Coinbase Exchange websocket feed (`wss://ws-feed.exchange.coinbase.com`).
 * https://docs.cdp.coinbase.com/exchange/websocket-feed/channels
 */

/** `match` / `last_match` (matches channel): `side` is the MAKER order's side. */
export const CoinbaseMatch = Type.Object({
  type: Type.Union([Type.Literal('match'), Type.Literal('last_match')]),
  trade_id: SafeId,
  side: Type.Union([Type.Literal('buy'), Type.Literal('sell')]),
  size: PositiveDecimal,
  price: PositiveDecimal,
  product_id: VenueSymbolText,
  sequence: Type.Optional(SafeId),
  time: Rfc3339,
});
export type CoinbaseMatch = Static<typeof CoinbaseMatch>;
export const CoinbaseMatchCheck = TypeCompiler.Compile(CoinbaseMatch);

/**
 * `ticker`: best bid/ask. Sizes exist in today's feed; older captures lack them (the adapter then
 * classifies the frame `ignored:ticker-without-sizes` instead of inventing a quantity).
 * The first ticker after subscribing may lack `time`.
 */
export const CoinbaseTicker = Type.Object({
  type: Type.Literal('ticker'),
  product_id: VenueSymbolText,
  sequence: Type.Optional(SafeId),
  best_bid: VenueDecimal,
  best_ask: VenueDecimal,
  best_bid_size: Type.Optional(VenueDecimal),
  best_ask_size: Type.Optional(VenueDecimal),
  time: Type.Optional(Rfc3339),
});
export type CoinbaseTicker = Static<typeof CoinbaseTicker>;
export const CoinbaseTickerCheck = TypeCompiler.Compile(CoinbaseTicker);
