import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { PositiveDecimal, SafeId, VenueDecimal, VenueMsString, VenueSymbolText } from '../kit/raw.js';

/**
 * OKX v5 public channels (`wss://ws.okx.com:8443/ws/v5/public`): every push is
 * `{"arg":{"channel":..,"instId":..},"data":[...]}`.
 * https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-trades-channel
 */

const Arg = Type.Object({ channel: Type.String({ maxLength: 64 }), instId: Type.Optional(VenueSymbolText) });

/** `trades`: `side` is the taker side; `count` (newer feeds) = trades aggregated into this one, `tradeId` being the last. */
export const OkxTrades = Type.Object({
  arg: Arg,
  data: Type.Array(
    Type.Object({
      instId: VenueSymbolText,
      tradeId: Type.String({ pattern: '^[0-9]{1,20}$' }),
      px: PositiveDecimal,
      sz: PositiveDecimal,
      side: Type.Union([Type.Literal('buy'), Type.Literal('sell')]),
      ts: VenueMsString,
      count: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,8}$' })),
    }),
    { maxItems: 10_000 },
  ),
});
export type OkxTrades = Static<typeof OkxTrades>;
export const OkxTradesCheck = TypeCompiler.Compile(OkxTrades);

/** `tickers`: an empty book side is sent as `""`. */
export const OkxTickers = Type.Object({
  arg: Arg,
  data: Type.Array(
    Type.Object({
      instId: VenueSymbolText,
      bidPx: Type.Union([VenueDecimal, Type.Literal('')]),
      bidSz: Type.Union([VenueDecimal, Type.Literal('')]),
      askPx: Type.Union([VenueDecimal, Type.Literal('')]),
      askSz: Type.Union([VenueDecimal, Type.Literal('')]),
      ts: VenueMsString,
    }),
    { maxItems: 10_000 },
  ),
});
export type OkxTickers = Static<typeof OkxTickers>;
export const OkxTickersCheck = TypeCompiler.Compile(OkxTickers);

/** Book level: [price, size, deprecated "0", order count]. */
const Level = Type.Tuple([VenueDecimal, VenueDecimal, Type.String({ maxLength: 32 }), Type.String({ maxLength: 32 })]);

/** `bbo-tbt`: tick-by-tick best bid/offer; `arg.instId` names the instrument. */
export const OkxBbo = Type.Object({
  arg: Type.Object({ channel: Type.Literal('bbo-tbt'), instId: VenueSymbolText }),
  data: Type.Array(
    Type.Object({
      asks: Type.Array(Level, { maxItems: 1 }),
      bids: Type.Array(Level, { maxItems: 1 }),
      ts: VenueMsString,
      seqId: Type.Optional(SafeId),
    }),
    { maxItems: 10_000 },
  ),
});
export type OkxBbo = Static<typeof OkxBbo>;
export const OkxBboCheck = TypeCompiler.Compile(OkxBbo);
