import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { DecimalString } from '../../schemas/common.js';
import { VenueMsString, VenueSymbolText } from '../kit/raw.js';

/**
 * OKX v5 order-book channels (`books`: 400-level snapshot then 100 ms increments; `books5`: top-5
 * snapshots only; `books50-l2-tbt` / `books-l2-tbt`: tick-by-tick, login required).
 * https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel
 */

/** `[price, size, deprecated "0", order count]`; index 2 is NOT a count. Size "0" deletes. */
const Level = Type.Tuple([DecimalString, DecimalString, Type.String({ maxLength: 32 }), Type.String({ maxLength: 32 })]);

/** seqId/prevSeqId: JSON integers; the snapshot has prevSeqId −1. */
const SeqId = Type.Integer({ minimum: -1, maximum: Number.MAX_SAFE_INTEGER });

export const OKX_BOOK_CHANNELS = ['books', 'books5', 'books50-l2-tbt', 'books-l2-tbt'] as const;

export const OkxBooks = Type.Object({
  arg: Type.Object({ channel: Type.Union(OKX_BOOK_CHANNELS.map((c) => Type.Literal(c))), instId: VenueSymbolText }),
  /** Absent on `books5` (every push is a full top-5). */
  action: Type.Optional(Type.Union([Type.Literal('snapshot'), Type.Literal('update')])),
  data: Type.Array(
    Type.Object({
      asks: Type.Array(Level, { maxItems: 5_000 }),
      bids: Type.Array(Level, { maxItems: 5_000 }),
      ts: VenueMsString,
      /** Signed CRC32 of the top 25 per side; 0 (live feeds since its deprecation) = absent. */
      checksum: Type.Optional(Type.Integer({ minimum: -2_147_483_648, maximum: 4_294_967_295 })),
      /** Absent in older recordings (2022): then only the checksum detects a lost update. */
      seqId: Type.Optional(SeqId),
      prevSeqId: Type.Optional(SeqId),
    }),
    { minItems: 1, maxItems: 100 },
  ),
});
export type OkxBooks = Static<typeof OkxBooks>;
export const OkxBooksCheck = TypeCompiler.Compile(OkxBooks);
