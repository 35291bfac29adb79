import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { DecimalString } from '../../schemas/common.js';
import { numberFieldsPattern, quoteNumberFields } from '../kit/frame.js';
import { EpochSecondsText, Rfc3339, SafeId, VenueSymbolText } from '../kit/raw.js';

/**
 * Kraken spot `book` channel, v2 (`wss://ws.kraken.com/v2`) and v1 (recordings).
 * https://docs.kraken.com/api/docs/websocket-v2/book, .../guides/spot-ws-book-v2
 *
 * v2 sends `price` and `qty` as JSON NUMBERS "containing full precision": the checksum is over that
 * text, so frames are decoded with `decodeKrakenV2Book`, which turns those numbers into strings of
 * their exact source text before JSON.parse (JSON.parse alone would turn 0.10000000 into 0.1).
 */

/** Subscribable depths; the book is truncated to the subscribed one after every message. */
export const KRAKEN_BOOK_DEPTHS = [10, 25, 100, 500, 1000] as const;

const V2Level = Type.Object({ price: DecimalString, qty: DecimalString });

export const KrakenV2BookData = Type.Object({
  symbol: VenueSymbolText,
  bids: Type.Array(V2Level, { maxItems: 1_000 }),
  asks: Type.Array(V2Level, { maxItems: 1_000 }),
  /** CRC32 (unsigned) of the top 10 asks and bids after this message; snapshots carry one too. */
  checksum: Type.Integer({ minimum: 0, maximum: 4_294_967_295 }),
  /** Updates only. */
  timestamp: Type.Optional(Rfc3339),
});
export type KrakenV2BookData = Static<typeof KrakenV2BookData>;

export const KrakenV2Book = Type.Object({
  channel: Type.Literal('book'),
  type: Type.Union([Type.Literal('snapshot'), Type.Literal('update')]),
  data: Type.Array(KrakenV2BookData, { minItems: 1, maxItems: 100 }),
});
export type KrakenV2Book = Static<typeof KrakenV2Book>;
export const KrakenV2BookCheck = TypeCompiler.Compile(KrakenV2Book);

const V2_BOOK_NUMBERS = numberFieldsPattern(['price', 'qty']);

/**
 * A v2 book frame's text → JSON value with `price`/`qty` as their exact text; throws SyntaxError
 * on malformed JSON. Check the result with `KrakenV2BookCheck`.
 */
export function decodeKrakenV2Book(raw: string): unknown {
  return JSON.parse(quoteNumberFields(raw, V2_BOOK_NUMBERS));
}

/** v1 level `[price, volume, timestamp]`, with a 4th `"r"` when Kraken republishes a level that re-entered the depth. */
const V1Level = Type.Union([
  Type.Tuple([DecimalString, DecimalString, EpochSecondsText]),
  Type.Tuple([DecimalString, DecimalString, EpochSecondsText, Type.Literal('r')]),
]);
type V1Level = Static<typeof V1Level>;
const V1Levels = Type.Array(V1Level, { maxItems: 1_000 });
const V1Name = Type.String({ pattern: '^book-[0-9]{1,4}$' });

const V1SnapshotPart = Type.Object({ as: V1Levels, bs: V1Levels });
/** An update part: `a` and/or `b`; the checksum `c` sits in the LAST part of the frame. */
const V1UpdatePart = Type.Object({ a: Type.Optional(V1Levels), b: Type.Optional(V1Levels), c: Type.Optional(Type.String({ pattern: '^[0-9]{1,10}$' })) });

/**
 * v1 book frames: `[channelID, {as, bs}, "book-N", pair]` (snapshot) and
 * `[channelID, {a?, b?, c?}, ({b?, c?},)? "book-N", pair]` (update; one recorded frame splits `a`
 * and `b` into two dicts, which cryptofeed misses by reading only the first).
 */
export const KrakenV1Book = Type.Union([
  Type.Tuple([SafeId, V1SnapshotPart, V1Name, VenueSymbolText]),
  Type.Tuple([SafeId, V1UpdatePart, V1Name, VenueSymbolText]),
  Type.Tuple([SafeId, V1UpdatePart, V1UpdatePart, V1Name, VenueSymbolText]),
]);
export type KrakenV1Book = Static<typeof KrakenV1Book>;
export const KrakenV1BookCheck = TypeCompiler.Compile(KrakenV1Book);

/** A checked v1 frame, both layouts reduced to one shape. */
export interface KrakenV1BookFrame {
  snapshot: boolean;
  pair: string;
  /** Subscribed depth from the channel name (`book-1000` → 1000). */
  depth: number;
  asks: V1Level[];
  bids: V1Level[];
  /** Updates only. */
  checksum: number | undefined;
}

export function normalizeKrakenV1Book(f: KrakenV1Book): KrakenV1BookFrame {
  const pair = f[f.length - 1] as string;
  const depth = Number((f[f.length - 2] as string).slice(5));
  const first = f[1];
  if ('as' in first) return { snapshot: true, pair, depth, asks: first.as, bids: first.bs, checksum: undefined };
  const parts = f.length === 5 ? [first, f[2] as Static<typeof V1UpdatePart>] : [first];
  const asks: V1Level[] = [];
  const bids: V1Level[] = [];
  let c: string | undefined;
  for (const p of parts) {
    if (p.a) asks.push(...p.a);
    if (p.b) bids.push(...p.b);
    if (p.c !== undefined) c = p.c;
  }
  return { snapshot: false, pair, depth, asks, bids, checksum: c === undefined ? undefined : Number(c) };
}
