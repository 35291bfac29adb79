import { FAST_LIMIT, POW10 } from '../../runtime/decimal.js';
import { TickworkError } from '../../runtime/errors.js';

/**
 * The L2 book engine: pure, no I/O, exact.
 *
 * A level is keyed by its price as an exact scaled integer: `price × 10^scale`, with one scale for
 * the whole book that grows (rescaling every key) when a finer price arrives. The key is a JS
 * number holding an integer ≤ 2^52, so it is exact and compares with `<`; no binary fraction is
 * ever involved. The price and quantity TEXT as sent is kept per level, for checksums and for
 * publishing the venue's own figures. "100.10" and "100.1" are the same level (the later text wins).
 *
 * Each side is a chunked sorted list (see BookSide), chosen by measurement (bench/book.ts): it
 * beats one flat sorted array and sorted-btree at every depth we hold (OKX 400 to Coinbase ~20,000).
 */

export type BookSideName = 'bid' | 'ask';

/** `[price, qty]` as decimal text; qty "0" deletes. */
export type Level = [price: string, qty: string];

/** What one `set` did to the book; `None` is a delete of a price the book does not hold. */
export const LevelChange = { None: 0, Insert: 1, Update: 2, Delete: 3 } as const;
export type LevelChange = (typeof LevelChange)[keyof typeof LevelChange];

/** A level the engine cannot hold exactly: malformed text, a non-positive price, a negative qty, or a price beyond the exact key range. */
export class BookError extends TickworkError {
  constructor(
    /** The level field at fault. */
    readonly field: 'price' | 'qty',
    message: string,
  ) {
    super('BOOK_LEVEL_INVALID', message);
  }
}

/**
 * True when the decimal text is zero ("0", "0.000"); throws BookError on malformed or negative
 * text. One scan, no allocation: this runs for every level of every frame.
 */
export function isZeroQty(qty: string): boolean {
  const n = qty.length;
  let zero = true;
  let digits = 0;
  let dot = -1;
  for (let i = 0; i < n; i++) {
    const c = qty.charCodeAt(i);
    if (c === 46 /* . */ && dot < 0 && digits > 0) {
      dot = i;
      continue;
    }
    if (c < 48 || c > 57) {
      if (c === 45 /* - */ && i === 0) throw new BookError('qty', `qty is negative: ${qty.slice(0, 40)}`);
      throw new BookError('qty', `qty is not a decimal: ${JSON.stringify(qty.slice(0, 40))}`);
    }
    digits++;
    if (c !== 48) zero = false;
  }
  if (digits === 0 || dot === n - 1) throw new BookError('qty', `qty is not a decimal: ${JSON.stringify(qty.slice(0, 40))}`);
  return zero;
}

/** Levels a chunk holds before it splits in two; chunks below a quarter of it merge. */
const CHUNK = 128;

/** A run of levels, ascending by ord, in parallel arrays. */
interface Chunk {
  ords: number[];
  prices: string[];
  qtys: string[];
}

/**
 * One side of the book; index 0 of the accessors is the best level. Views read it in place.
 *
 * Levels are a chunked sorted list (a list of sorted runs of ≤ 128 levels, as Python's
 * sortedcontainers does): an insert or delete moves at most one chunk's elements, so a 20,000-level
 * Coinbase book costs little more than a 400-level OKX one, and the top of book (the last chunk)
 * is found first. Ords ascend: bids store `+key`, asks `-key`, so the best level is the tail.
 */
export class BookSide {
  private chunks: Chunk[] = [];
  private count = 0;

  constructor(readonly side: BookSideName) {}

  get size(): number {
    return this.count;
  }

  /** Price text of the i-th best level (0 = best). */
  priceAt(i: number): string {
    const c = this.locate(i);
    return c.prices[this.at]!;
  }

  /** Quantity text of the i-th best level (0 = best). */
  qtyAt(i: number): string {
    const c = this.locate(i);
    return c.qtys[this.at]!;
  }

  /** Exact key (price × 10^book scale) of the i-th best level. */
  keyAt(i: number): number {
    const c = this.locate(i);
    const o = c.ords[this.at]!;
    return this.side === 'bid' ? o : -o;
  }

  /** Quantity text at the exact key, or undefined. */
  qtyAtKey(key: number): string | undefined {
    if (this.count === 0) return undefined;
    const ord = this.side === 'bid' ? key : -key;
    const c = this.chunks[this.chunkFor(ord)]!;
    const i = search(c.ords, ord);
    return i >= 0 ? c.qtys[i] : undefined;
  }

  /** Copies the best `n` levels (all when n is omitted) as `[price, qty]`, best first. */
  levels(n = this.count): Level[] {
    const out: Level[] = [];
    this.forEachTop(n, (p, q) => out.push([p, q]));
    return out;
  }

  /** Calls `fn` for the best `n` levels, best first, without copying. */
  forEachTop(n: number, fn: (price: string, qty: string, i: number) => void): void {
    let k = 0;
    for (let ci = this.chunks.length - 1; ci >= 0 && k < n; ci--) {
      const c = this.chunks[ci]!;
      for (let j = c.ords.length - 1; j >= 0 && k < n; j--) fn(c.prices[j]!, c.qtys[j]!, k++);
    }
  }

  /** @internal Sets or deletes the level at `ord`; `qty` null deletes. */
  put(ord: number, price: string, qty: string | null): LevelChange {
    if (this.count === 0) {
      if (qty === null) return LevelChange.None;
      this.chunks.push({ ords: [ord], prices: [price], qtys: [qty] });
      this.count = 1;
      return LevelChange.Insert;
    }
    const ci = this.chunkFor(ord);
    const c = this.chunks[ci]!;
    const i = search(c.ords, ord);
    if (i >= 0) {
      if (qty !== null) {
        c.prices[i] = price;
        c.qtys[i] = qty;
        return LevelChange.Update;
      }
      removeAt(c, i);
      this.count--;
      this.shrunk(ci);
      return LevelChange.Delete;
    }
    if (qty === null) return LevelChange.None;
    insertAt(c, -i - 1, ord, price, qty);
    this.count++;
    if (c.ords.length > CHUNK) {
      const h = c.ords.length >>> 1;
      this.chunks.splice(ci + 1, 0, { ords: c.ords.splice(h), prices: c.prices.splice(h), qtys: c.qtys.splice(h) });
    }
    return LevelChange.Insert;
  }

  /** @internal Removes all but the best `depth` levels; returns the removed ones (worst first). */
  truncate(depth: number): Level[] {
    let extra = this.count - depth;
    if (extra <= 0) return [];
    const removed: Level[] = [];
    this.count = depth;
    while (extra > 0) {
      const c = this.chunks[0]!;
      const k = Math.min(extra, c.ords.length);
      for (let j = 0; j < k; j++) removed.push([c.prices[j]!, '0']);
      if (k === c.ords.length) this.chunks.shift();
      else {
        c.ords.splice(0, k);
        c.prices.splice(0, k);
        c.qtys.splice(0, k);
      }
      extra -= k;
    }
    return removed;
  }

  /** @internal Multiplies every key by 10^k (the caller checked the range). */
  rescale(k: number): void {
    const m = POW10[k]!;
    for (const c of this.chunks) for (let i = 0; i < c.ords.length; i++) c.ords[i]! *= m;
  }

  /** @internal Largest |key| held, for range checks before a rescale. */
  maxAbs(): number {
    if (this.count === 0) return 0;
    const first = this.chunks[0]!.ords[0]!;
    const lc = this.chunks[this.chunks.length - 1]!;
    return Math.max(Math.abs(first), Math.abs(lc.ords[lc.ords.length - 1]!));
  }

  /** @internal */
  clear(): void {
    this.chunks = [];
    this.count = 0;
  }

  /** Index within the chunk `locate` returned. */
  private at = 0;

  /** The chunk holding the i-th best level; its index inside is left in `at` (no allocation). */
  private locate(i: number): Chunk {
    if (i < 0 || i >= this.count) throw new RangeError(`level ${i} of a ${this.count}-level ${this.side} side`);
    for (let ci = this.chunks.length - 1; ; ci--) {
      const c = this.chunks[ci]!;
      if (i < c.ords.length) {
        this.at = c.ords.length - 1 - i;
        return c;
      }
      i -= c.ords.length;
    }
  }

  /** Index of the chunk `ord` belongs in: the first whose last ord is ≥ it, else the last. */
  private chunkFor(ord: number): number {
    const cs = this.chunks;
    const last = cs.length - 1;
    // most updates touch the top: try the last chunk first
    if (ord >= cs[last]!.ords[0]!) return last;
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const o = cs[mid]!.ords;
      if (o[o.length - 1]! < ord) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** After a delete: drop an empty chunk, or merge a small one into a neighbour that has room. */
  private shrunk(ci: number): void {
    const c = this.chunks[ci]!;
    const n = c.ords.length;
    if (n === 0) {
      this.chunks.splice(ci, 1);
      return;
    }
    if (n >= CHUNK >>> 2) return;
    const j = ci > 0 && this.chunks[ci - 1]!.ords.length + n <= CHUNK ? ci - 1 : ci + 1 < this.chunks.length && this.chunks[ci + 1]!.ords.length + n <= CHUNK ? ci + 1 : -1;
    if (j < 0) return;
    const [lo, hi] = j < ci ? [this.chunks[j]!, c] : [c, this.chunks[j]!];
    lo.ords.push(...hi.ords);
    lo.prices.push(...hi.prices);
    lo.qtys.push(...hi.qtys);
    this.chunks.splice(j < ci ? ci : j, 1);
  }
}

// Shifts by hand: `splice` allocates its result array on every call, which the GC then pays for.
function insertAt(c: Chunk, at: number, ord: number, price: string, qty: string): void {
  const { ords, prices, qtys } = c;
  let j = ords.length;
  ords.push(ord);
  prices.push(price);
  qtys.push(qty);
  for (; j > at; j--) {
    ords[j] = ords[j - 1]!;
    prices[j] = prices[j - 1]!;
    qtys[j] = qtys[j - 1]!;
  }
  ords[at] = ord;
  prices[at] = price;
  qtys[at] = qty;
}

function removeAt(c: Chunk, i: number): void {
  const { ords, prices, qtys } = c;
  const last = ords.length - 1;
  for (let j = i; j < last; j++) {
    ords[j] = ords[j + 1]!;
    prices[j] = prices[j + 1]!;
    qtys[j] = qtys[j + 1]!;
  }
  ords.pop();
  prices.pop();
  qtys.pop();
}

/** Index of `ord` in ascending `a`, or −(insertion point) − 1. */
function search(a: number[], ord: number): number {
  let lo = 0;
  let hi = a.length - 1;
  if (hi >= 0) {
    const top = a[hi]!;
    if (ord > top) return -(hi + 1) - 1;
    if (ord === top) return hi;
  }
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = a[mid]!;
    if (v < ord) lo = mid + 1;
    else if (v > ord) hi = mid - 1;
    else return mid;
  }
  return -lo - 1;
}

/**
 * Both sides of one instrument's book. Apply a whole venue frame with `set`, then check
 * (`crossed`, a venue checksum over `bids`/`asks`), then `truncate` where the venue says so.
 */
export class OrderBook {
  readonly bids = new BookSide('bid');
  readonly asks = new BookSide('ask');
  /** Fraction digits of every key; grows, never shrinks, until `clear`. */
  private scale = 0;

  /**
   * Sets `price` on `side` to `qty` (text as sent); a zero qty deletes the level. Throws BookError
   * for malformed, non-positive or out-of-range text, before touching the book.
   */
  set(side: BookSideName, price: string, qty: string): LevelChange {
    const key = this.keyOf(price);
    const del = isZeroQty(qty);
    return side === 'bid' ? this.bids.put(key, price, del ? null : qty) : this.asks.put(-key, price, del ? null : qty);
  }

  /** The exact key of `price` at the book's current scale (rescaling the book if `price` is finer). */
  keyOf(price: string): number {
    // one scan: units without trailing fraction zeros, and their scale ("100.10" → 1001 at 1)
    const n = price.length;
    let units = 0;
    let scale = 0;
    let zeros = 0; // fraction zeros not yet folded in (they may be trailing)
    let intDigits = 0;
    let fracDigits = -1; // −1 until the dot
    for (let i = 0; i < n; i++) {
      const c = price.charCodeAt(i);
      if (c === 46 /* . */ && fracDigits < 0 && intDigits > 0) {
        fracDigits = 0;
        continue;
      }
      const d = c - 48;
      if (d < 0 || d > 9) return this.badPrice(price);
      if (fracDigits < 0) {
        intDigits++;
        units = units * 10 + d;
      } else {
        fracDigits++;
        if (d === 0) {
          zeros++;
          continue;
        }
        if (zeros + 1 >= POW10.length) return this.badPrice(price);
        units = units * POW10[zeros + 1]! + d;
        scale += zeros + 1;
        zeros = 0;
      }
      if (units > FAST_LIMIT) throw new BookError('price', `price ${price.slice(0, 40)} has too many significant digits for an exact key`);
    }
    if (intDigits === 0 || fracDigits === 0) return this.badPrice(price);
    if (units === 0) throw new BookError('price', `price must be positive: ${price.slice(0, 40)}`);
    if (scale > this.scale) this.grow(scale - this.scale, price);
    const k = this.scale - scale;
    if (k === 0) return units;
    if (k >= POW10.length || units > FAST_LIMIT / POW10[k]!) throw new BookError('price', `price ${price.slice(0, 40)} at scale ${this.scale} leaves the exact key range`);
    return units * POW10[k]!;
  }

  private badPrice(price: string): never {
    throw new BookError('price', `price is not a decimal: ${JSON.stringify(price.slice(0, 40))}`);
  }

  /** Fraction digits of the keys (`keyAt(i) / 10^keyScale` is the price). */
  get keyScale(): number {
    return this.scale;
  }

  /** True when the best bid is at or above the best ask (a locked or crossed book is never a real book). */
  crossed(): boolean {
    return this.bids.size > 0 && this.asks.size > 0 && this.bids.keyAt(0) >= this.asks.keyAt(0);
  }

  /** Keeps the best `depth` levels per side; returns what fell out as `[price, "0"]` per side. */
  truncate(depth: number): { bids: Level[]; asks: Level[] } {
    return { bids: this.bids.truncate(depth), asks: this.asks.truncate(depth) };
  }

  clear(): void {
    this.bids.clear();
    this.asks.clear();
    this.scale = 0;
  }

  private grow(k: number, price: string): void {
    if (k >= POW10.length || Math.max(this.bids.maxAbs(), this.asks.maxAbs()) > FAST_LIMIT / POW10[k]!) {
      throw new BookError('price', `price ${price.slice(0, 40)} needs scale ${this.scale + k}, beyond the exact key range of this book`);
    }
    this.bids.rescale(k);
    this.asks.rescale(k);
    this.scale += k;
  }
}
