import { booksEnabled, type BookConfig } from '../actors/feed/book-config.js';
import { BookFeed } from '../actors/feed/book-feed.js';
import { symbolsFor, venuesOf, type FeedConfig } from '../actors/feed/config.js';
import type { ProcessContext } from '../runtime/process.js';
import { BookStore } from '../store/books.js';
import { namedByAdapter } from './derivs.js';
import type { Logger } from '../runtime/logger.js';
import { venueById, type Venue } from '../venues/index.js';

/**
 * The configured symbols of `venue` that get books: those its trade adapter names, plus its
 * perpetuals where their books have connections of their own (`VenueBooks.perps`: Bybit linear,
 * OKX swaps). Elsewhere a perpetual its trade adapter cannot name has no book.
 */
export function bookSymbolsFor(feed: FeedConfig, venue: Venue, log: Logger): string[] {
  const perps = venue.books?.perps !== undefined;
  const { kept, unnamed } = namedByAdapter(venue, symbolsFor(feed, venue.id), (s) => perps && s.endsWith('-PERP'));
  if (unnamed.length > 0) log.info({ venue: venue.id, symbols: unnamed }, 'no books for these symbols (the venue has no book connections that name them)');
  return kept;
}

export interface BookFeedsHandle {
  books: BookFeed[];
  stop(): Promise<void>;
}

/**
 * The L2 book feeds of the configured venues that have books, when TICKWORK_BOOKS=1: each on
 * connections of its own beside the venue's trade feed, publishing md.book.*, MD_BOOKS, Redis
 * `book:*` and book quotes. Their shutdown is registered with the feeds' (stop intake, then acks).
 */
export async function startBookFeeds(ctx: ProcessContext, feed: FeedConfig, cfg: BookConfig): Promise<BookFeedsHandle> {
  if (!booksEnabled(cfg)) return { books: [], stop: async () => undefined };
  const cache = new BookStore(ctx.redis!, ctx.ns);
  const books = venuesOf(feed)
    .map(venueById)
    .filter((v) => v.books !== undefined)
    .map(
      (venue) =>
        new BookFeed({
          venue,
          feed,
          cfg,
          nats: ctx.nats!,
          ns: ctx.ns,
          cache,
          log: ctx.log,
          onEscalate: (err) => {
            ctx.log.fatal({ venue: venue.id, err }, 'book feed supervisor gave up; exiting');
            ctx.lifecycle.shutdown().finally(() => process.exit(1));
          },
        }),
    );
  for (const b of books) await b.subscribe(bookSymbolsFor(feed, venueById(b.venue), ctx.log));
  let stopped: Promise<void> | null = null;
  const stop = () => (stopped ??= Promise.all(books.map((b) => b.stop())).then(() => undefined));
  ctx.lifecycle.onShutdown('intake', 'books', stop);
  ctx.log.info({ venues: books.map((b) => ({ venue: b.venue, url: b.url, ...(b.perpsUrl !== null ? { perpsUrl: b.perpsUrl } : {}), symbols: b.symbols.length })) }, 'book feeds started');
  return { books, stop };
}
