import type { Namespace } from '../runtime/namespace.js';
import type { Redis } from '../runtime/redis.js';
import { bookKey, type BookSnap } from '../schemas/book.js';

/** A book not rewritten for this long disappears: a feed gone quiet stops serving it. */
export const BOOK_TTL_MS = 10_000;

/**
 * Redis adapter of the L2 books: `book:<venue>:<SYMBOL>` holds the latest top-N `BookSnap` as one
 * JSON string with PEXPIRE 10 s, written by the book feed, read by the API in one GET.
 */
export class BookStore {
  constructor(
    private readonly redis: Redis,
    private readonly ns: Namespace,
  ) {}

  /** Writes the books in one pipeline (SET … PX: value and expiry in one command each). */
  async put(snaps: readonly BookSnap[]): Promise<void> {
    if (snaps.length === 0) return;
    if (snaps.length === 1) {
      const s = snaps[0]!;
      await this.redis.set(this.ns.key(bookKey(s.venue, s.symbol)), JSON.stringify(s), 'PX', BOOK_TTL_MS);
      return;
    }
    const pipe = this.redis.pipeline();
    for (const s of snaps) pipe.set(this.ns.key(bookKey(s.venue, s.symbol)), JSON.stringify(s), 'PX', BOOK_TTL_MS);
    const results = await pipe.exec();
    const failed = results?.find(([err]) => err !== null);
    if (failed) throw failed[0];
  }

  /** The stored book as its JSON text (the API cuts it to the asked depth), or null. */
  getRaw(venue: string, symbol: string): Promise<string | null> {
    return this.redis.get(this.ns.key(bookKey(venue, symbol)));
  }

  /** Several books in one MGET, in the order asked (null where none). */
  getRawMany(pairs: readonly { venue: string; symbol: string }[]): Promise<(string | null)[]> {
    if (pairs.length === 0) return Promise.resolve([]);
    return this.redis.mget(...pairs.map((p) => this.ns.key(bookKey(p.venue, p.symbol))));
  }

  async get(venue: string, symbol: string): Promise<BookSnap | null> {
    const raw = await this.getRaw(venue, symbol);
    return raw === null ? null : (JSON.parse(raw) as BookSnap);
  }
}
