import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { PositiveDecimal, SafeId, VenueMs, VenueSymbolText } from '../../../venues/kit/raw.js';

/** The fake venue's one data frame: `{"t":"trade","s":"BTC-USD","i":1,"p":"1.5","q":"2","side":"buy","ts":...}`. */
export const FakeTrade = Type.Object({
  t: Type.Literal('trade'),
  s: VenueSymbolText,
  i: SafeId,
  p: PositiveDecimal,
  q: PositiveDecimal,
  side: Type.Union([Type.Literal('buy'), Type.Literal('sell')]),
  ts: VenueMs,
});
export const FakeTradeCheck = TypeCompiler.Compile(FakeTrade);
