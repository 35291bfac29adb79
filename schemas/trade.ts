import { Type, type Static } from '@sinclair/typebox';
import { lazyCheck } from './check.js';
import { DecimalString, EpochMs, Symbol, VenueId } from './common.js';

/** Normalized trade (DESIGN.md contract). */
export const Trade = Type.Object({
  venue: VenueId,
  symbol: Symbol,
  venueSymbol: Type.String({ minLength: 1, maxLength: 64 }),
  id: Type.String({ minLength: 1, maxLength: 64 }),
  price: DecimalString,
  qty: DecimalString,
  side: Type.Union([Type.Literal('buy'), Type.Literal('sell')]),
  ts: EpochMs,
  recvTs: EpochMs,
  count: Type.Optional(Type.Integer({ minimum: 1 })),
});
export type Trade = Static<typeof Trade>;
export const TradeCheck = lazyCheck(Trade);

/** `Nats-Msg-Id` of a trade: `<venue>:<SYMBOL>:<tradeId>`. */
export const tradeMsgId = (t: Pick<Trade, 'venue' | 'symbol' | 'id'>): string => `${t.venue}:${t.symbol}:${t.id}`;
