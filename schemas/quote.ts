import { Type, type Static } from '@sinclair/typebox';
import { lazyCheck } from './check.js';
import { DecimalString, EpochMs, Symbol, VenueId } from './common.js';

/** Best bid/ask (DESIGN.md: md.quote.<venue>.<SYMBOL>). */
export const Quote = Type.Object({
  venue: VenueId,
  symbol: Symbol,
  venueSymbol: Type.String({ minLength: 1, maxLength: 64 }),
  bidPrice: DecimalString,
  bidQty: DecimalString,
  askPrice: DecimalString,
  askQty: DecimalString,
  /** Venue's update id / sequence where it has one. */
  updateId: Type.Optional(Type.String({ maxLength: 64 })),
  /** Where the quote comes from: `book` = the top of a live L2 book (md.book); absent = the venue's own best bid/offer channel. */
  source: Type.Optional(Type.Literal('book')),
  ts: EpochMs,
  recvTs: EpochMs,
});
export type Quote = Static<typeof Quote>;
export const QuoteCheck = lazyCheck(Quote);
