import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { DecimalString } from '../../schemas/common.js';
import { SafeId, VenueMs, VenueSymbolText } from '../kit/raw.js';

/**
 * Binance depth: the `<s>@depth@100ms` diff stream and the REST depth snapshot, spot
 * (`/api/v3/depth`, also Binance.US) and USD-M futures (`/fapi/v1/depth`; stream on
 * `fstream.binance.com/public`). Futures diffs add `T` (transaction time) and `pu` (the previous
 * diff's `u`). https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams#how-to-manage-a-local-order-book-correctly
 * https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/How-to-manage-a-local-order-book-correctly
 */

/** `[price, qty]`; qty "0" (any number of zeros) removes the level. */
const Level = Type.Tuple([DecimalString, DecimalString]);
const Levels = Type.Array(Level, { maxItems: 10_000 });

export const BinanceDepthUpdate = Type.Object({
  e: Type.Literal('depthUpdate'),
  E: VenueMs,
  /** Futures only: matching-engine time. */
  T: Type.Optional(VenueMs),
  s: VenueSymbolText,
  /** First and last update id in this event. */
  U: SafeId,
  u: SafeId,
  /** Futures only: `u` of the previous event. */
  pu: Type.Optional(SafeId),
  b: Levels,
  a: Levels,
});
export type BinanceDepthUpdate = Static<typeof BinanceDepthUpdate>;
export const BinanceDepthUpdateCheck = TypeCompiler.Compile(BinanceDepthUpdate);

export const BinanceDepthSnapshot = Type.Object({
  lastUpdateId: SafeId,
  /** Futures only. */
  E: Type.Optional(VenueMs),
  T: Type.Optional(VenueMs),
  bids: Levels,
  asks: Levels,
});
export type BinanceDepthSnapshot = Static<typeof BinanceDepthSnapshot>;
export const BinanceDepthSnapshotCheck = TypeCompiler.Compile(BinanceDepthSnapshot);
