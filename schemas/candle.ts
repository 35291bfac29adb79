import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { DecimalString, EpochMs, Symbol, Timeframe, VenueId } from './common.js';

/** Candle (DESIGN.md contract). closeTime = openTime + tf − 1 ms, as exchange klines. */
export const Candle = Type.Object({
  venue: VenueId,
  symbol: Symbol,
  tf: Timeframe,
  openTime: EpochMs,
  closeTime: EpochMs,
  open: DecimalString,
  high: DecimalString,
  low: DecimalString,
  close: DecimalString,
  volume: DecimalString,
  quoteVolume: DecimalString,
  vwap: DecimalString,
  trades: Type.Integer({ minimum: 0 }),
  buyVolume: DecimalString,
  firstTradeId: Type.Union([Type.String(), Type.Null()]),
  lastTradeId: Type.Union([Type.String(), Type.Null()]),
  closed: Type.Boolean(),
});
export type Candle = Static<typeof Candle>;
export const CandleCheck = TypeCompiler.Compile(Candle);

/** `Nats-Msg-Id` of a closed candle: `<venue>:<SYMBOL>:<tf>:<openTime>`. */
export const candleMsgId = (c: Pick<Candle, 'venue' | 'symbol' | 'tf' | 'openTime'>): string =>
  `${c.venue}:${c.symbol}:${c.tf}:${c.openTime}`;
