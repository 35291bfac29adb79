import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { DecimalString } from '../../schemas/common.js';
import { numberFieldsPattern, quoteNumberFields } from '../kit/frame.js';
import { IdString, SafeId, VenueSymbolText } from '../kit/raw.js';

/**
 * Bybit book frames. v5 `orderbook.{depth}.{S}` is `BybitOrderbook` in ./schemas.ts (the quotes
 * path already checks it). Here: the older v2 `orderBookL2_25.{S}` of the recordings
 * (`realtime_public`), id-keyed, whose `size` (and on inverse `price`) are JSON NUMBERS with float
 * artefacts (`25.900002`); decode with `decodeBybitV2Book` so they keep their exact text.
 */

const V2Side = Type.Union([Type.Literal('Buy'), Type.Literal('Sell')]);
/** Level id: a digit string on USDT contracts (price × 10^4), a number on inverse ones. */
const V2Id = Type.Union([IdString, SafeId]);
const V2Level = Type.Object({ price: DecimalString, symbol: VenueSymbolText, id: V2Id, side: V2Side, size: DecimalString });
const V2Delete = Type.Object({ price: DecimalString, symbol: VenueSymbolText, id: V2Id, side: V2Side });
const V2Levels = Type.Array(V2Level, { maxItems: 1_000 });
/** Digits as text or as a JSON number (`cross_seq`, `timestamp_e6`). */
const V2Counter = Type.Union([Type.String({ pattern: '^[0-9]{1,20}$' }), SafeId]);

export const BybitV2BookSnapshot = Type.Object({
  topic: Type.String({ pattern: '^orderBookL2_25\\.', maxLength: 128 }),
  type: Type.Literal('snapshot'),
  /** USDT contracts wrap the levels in `order_book`; inverse ones send the array itself. */
  data: Type.Union([Type.Object({ order_book: V2Levels }), V2Levels]),
  cross_seq: V2Counter,
  timestamp_e6: V2Counter,
});
export type BybitV2BookSnapshot = Static<typeof BybitV2BookSnapshot>;

export const BybitV2BookDelta = Type.Object({
  topic: Type.String({ pattern: '^orderBookL2_25\\.', maxLength: 128 }),
  type: Type.Literal('delta'),
  data: Type.Object({
    delete: Type.Array(V2Delete, { maxItems: 1_000 }),
    update: V2Levels,
    insert: V2Levels,
  }),
  cross_seq: V2Counter,
  timestamp_e6: V2Counter,
});
export type BybitV2BookDelta = Static<typeof BybitV2BookDelta>;

export const BybitV2Book = Type.Union([BybitV2BookSnapshot, BybitV2BookDelta]);
export type BybitV2Book = Static<typeof BybitV2Book>;
export const BybitV2BookCheck = TypeCompiler.Compile(BybitV2Book);

const V2_BOOK_NUMBERS = numberFieldsPattern(['price', 'size']);

/** A v2 book frame's text → JSON value with `price`/`size` as their exact text; throws SyntaxError on malformed JSON. */
export function decodeBybitV2Book(raw: string): unknown {
  return JSON.parse(quoteNumberFields(raw, V2_BOOK_NUMBERS));
}
