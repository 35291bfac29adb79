import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BookError, LevelChange, OrderBook, type BookSideName, type Level } from '../../../actors/book/index.js';
import { compare, normalize, parseDecimal } from '../../../runtime/decimal.js';

/**
 * The engine against a reference: per side a Map from the exact value (normalized decimal) to the
 * level's latest texts, sorted with the project's exact decimal compare on every read. Random
 * streams mix scales, trailing zeros, repeated prices written differently ("100.10" / "100.1"),
 * all spellings of a zero quantity, truncations and clears.
 */

class Reference {
  readonly sides: Record<BookSideName, Map<string, Level>> = { bid: new Map(), ask: new Map() };

  set(side: BookSideName, price: string, qty: string): LevelChange {
    const key = keyOf(price);
    const m = this.sides[side];
    const had = m.has(key);
    if (compare(parseDecimal(qty), { units: 0n, scale: 0 }) === 0) {
      m.delete(key);
      return had ? LevelChange.Delete : LevelChange.None;
    }
    m.set(key, [price, qty]);
    return had ? LevelChange.Update : LevelChange.Insert;
  }

  levels(side: BookSideName): Level[] {
    const sorted = [...this.sides[side].values()].sort((a, b) => compare(parseDecimal(a[0]), parseDecimal(b[0])));
    return side === 'bid' ? sorted.reverse() : sorted;
  }

  truncate(depth: number): void {
    for (const side of ['bid', 'ask'] as const) {
      const keep = this.levels(side).slice(0, depth);
      this.sides[side] = new Map(keep.map((l) => [keyOf(l[0]), l]));
    }
  }

  crossed(): boolean {
    const b = this.levels('bid')[0];
    const a = this.levels('ask')[0];
    return b !== undefined && a !== undefined && compare(parseDecimal(b[0]), parseDecimal(a[0])) >= 0;
  }
}

function keyOf(price: string): string {
  const d = normalize(parseDecimal(price));
  return `${d.units}e-${d.scale}`;
}

/** units × 10^-dec written with `pad` extra trailing zeros, as venues do ("0.35130000"). */
function text(units: number, dec: number, pad: number): string {
  let s = String(units).padStart(dec + 1, '0');
  if (dec > 0) s = s.slice(0, s.length - dec) + '.' + s.slice(s.length - dec);
  if (pad > 0) s += (dec > 0 ? '' : '.') + '0'.repeat(pad);
  return s;
}

const price = fc.oneof(
  // a dense band near the top: many repeats, so updates and deletes hit held levels
  { weight: 6, arbitrary: fc.tuple(fc.integer({ min: 9_990, max: 10_010 }), fc.constant(2), fc.integer({ min: 0, max: 3 })) },
  // finer and coarser ticks: the book's key scale grows mid-stream
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 1, max: 2_000_000 }), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 2 })) },
).map(([u, d, p]) => text(u, d, p));

const qty = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 2 })).map(([u, d, p]) => text(u, d, p)) },
  { weight: 2, arbitrary: fc.constantFrom('0', '0.0', '0.00000000', '00.000') },
);

type Op =
  | { kind: 'set'; side: BookSideName; price: string; qty: string }
  | { kind: 'truncate'; depth: number }
  | { kind: 'clear' }
  /** Sets (or with qty "0" deletes) `count` consecutive ticks from `from`: books deep enough to split and merge the engine's chunks. */
  | { kind: 'range'; side: BookSideName; from: number; count: number; step: number; qty: string };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 60, arbitrary: fc.record({ kind: fc.constant('set' as const), side: fc.constantFrom<BookSideName>('bid', 'ask'), price, qty }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), depth: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('range' as const),
      side: fc.constantFrom<BookSideName>('bid', 'ask'),
      // few starts and steps, so deleting ranges empties and merges chunks that inserts filled
      from: fc.integer({ min: 0, max: 8 }).map((k) => 9_800 + 50 * k),
      count: fc.integer({ min: 1, max: 400 }),
      step: fc.constantFrom(1, 2),
      qty: fc.constantFrom('1.5', '0', '0', '2'),
    }),
  },
);

/** Frames of ops: the book is compared with the reference after each whole frame. */
const frames = fc.array(fc.array(op, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 30 });

function sameAsReference(book: OrderBook, ref: Reference, n: number): void {
  const bids = ref.levels('bid');
  const asks = ref.levels('ask');
  expect(book.bids.levels()).toEqual(bids);
  expect(book.asks.levels()).toEqual(asks);
  expect([book.bids.size, book.asks.size]).toEqual([bids.length, asks.length]);
  expect(book.crossed()).toBe(ref.crossed());
  // views read in place: index accessors, forEachTop, a bounded copy, lookups by exact key
  const seen: Level[] = [];
  book.bids.forEachTop(n, (p, q) => seen.push([p, q]));
  expect(seen).toEqual(bids.slice(0, n));
  expect(book.asks.levels(n)).toEqual(asks.slice(0, n));
  for (let i = 0; i < Math.min(n, asks.length); i++) expect([book.asks.priceAt(i), book.asks.qtyAt(i)]).toEqual(asks[i]);
  for (const [p, q] of bids.slice(0, n)) expect(book.bids.qtyAtKey(book.keyOf(p))).toBe(q);
  for (const [p, q] of asks.slice(-n)) expect(book.asks.qtyAtKey(book.keyOf(p))).toBe(q);
  // keys are exact: key / 10^scale is the price
  for (let i = 0; i < Math.min(n, bids.length); i++) {
    expect(compare({ units: BigInt(book.bids.keyAt(i)), scale: book.keyScale }, parseDecimal(bids[i]![0]))).toBe(0);
  }
}

describe('OrderBook against a reference Map on random update streams', () => {
  it('holds the same levels, order, texts, crossing and top-N views after every frame', () => {
    fc.assert(
      fc.property(frames, fc.integer({ min: 1, max: 300 }), (fs, n) => {
        const book = new OrderBook();
        const ref = new Reference();
        for (const frame of fs) {
          for (const o of frame) {
            if (o.kind === 'set') expect(book.set(o.side, o.price, o.qty)).toBe(ref.set(o.side, o.price, o.qty));
            else if (o.kind === 'range') {
              for (let i = 0; i < o.count; i++) {
                const p = text(o.from + i * o.step, 2, i % 2);
                expect(book.set(o.side, p, o.qty)).toBe(ref.set(o.side, p, o.qty));
              }
            }
            else if (o.kind === 'truncate') {
              const cut = book.truncate(o.depth);
              const before = { bid: ref.levels('bid'), ask: ref.levels('ask') };
              ref.truncate(o.depth);
              // what fell out, worst first, as deletes
              expect(cut.bids).toEqual(before.bid.slice(o.depth).reverse().map((l) => [l[0], '0']));
              expect(cut.asks).toEqual(before.ask.slice(o.depth).reverse().map((l) => [l[0], '0']));
            } else {
              book.clear();
              ref.sides.bid.clear();
              ref.sides.ask.clear();
            }
          }
          sameAsReference(book, ref, n);
        }
      }),
      { numRuns: 100 },
    );
  }, 300_000); // ~8 s alone; a loaded 2-core machine may take several times that

  it('rejects what it cannot hold exactly, naming the field, and leaves the book as it was', () => {
    const book = new OrderBook();
    book.set('bid', '100.25', '1');
    book.set('ask', '100.50', '2');
    const before = { bids: book.bids.levels(), asks: book.asks.levels() };
    const err = (f: () => unknown): BookError => {
      try {
        f();
      } catch (e) {
        if (e instanceof BookError) return e;
        throw e;
      }
      throw new Error('no BookError');
    };
    const what = (e: BookError): string[] => [e.code, e.field, e.message];
    expect(what(err(() => book.set('bid', '12345678901234567.8', '1')))).toEqual(['BOOK_LEVEL_INVALID', 'price', 'price 12345678901234567.8 has too many significant digits for an exact key']);
    expect(err(() => book.set('bid', '0.000000000000000001', '1')).message).toMatch(/beyond the exact key range/); // 100.25 × 10^18 leaves it
    expect(what(err(() => book.set('bid', '0', '1')))).toEqual(['BOOK_LEVEL_INVALID', 'price', 'price must be positive: 0']);
    expect(err(() => book.set('bid', '1e5', '1')).message).toMatch(/^price is not a decimal/);
    expect(what(err(() => book.set('ask', '101', '-1')))).toEqual(['BOOK_LEVEL_INVALID', 'qty', 'qty is negative: -1']);
    expect(err(() => book.set('ask', '101', 'abc')).field).toBe('qty');
    expect(err(() => book.set('ask', '101', '1.')).field).toBe('qty');
    expect({ bids: book.bids.levels(), asks: book.asks.levels() }).toEqual(before);
    expect(book.keyScale).toBe(2);
  });

  it('treats a locked book (bid == ask) as crossed', () => {
    const book = new OrderBook();
    book.set('bid', '100.0', '1');
    book.set('ask', '100.00', '1');
    expect(book.crossed()).toBe(true);
    book.set('ask', '100.000', '0');
    expect(book.crossed()).toBe(false);
  });
});
