import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from '../runtime/logger.js';
import { BOOK_SNAP_DEPTH, BookParams, BookQuery, BookResponse, type BookSnap, type BookStreamSubscribe } from '../schemas/book.js';
import { ErrorBody } from '../schemas/api.js';
import { ApiError } from './errors.js';

/**
 * L2 books in the API: `GET /v1/book/:venue/:symbol?depth=N` (one Redis GET of the top-N the book
 * feed keeps, cut to `depth`) and the `book` channel of `/v1/stream` (throttled top-N pushes).
 * A book that is resyncing answers its state with empty sides: nothing of it is served.
 */

/** The book feed's Redis entries as text (store/books.ts BookStore). */
export interface BookReader {
  getRaw(venue: string, symbol: string): Promise<string | null>;
  getRawMany(pairs: readonly { venue: string; symbol: string }[]): Promise<(string | null)[]>;
}

const errors = {
  400: { ...ErrorBody, description: 'A bad parameter: `field` names it (depth 1 to 50)' },
  404: { ...ErrorBody, description: 'No book for this venue/symbol (not fed, or its feed stopped more than 10 s ago)' },
  429: { ...ErrorBody, description: 'Rate limit exceeded' },
  500: { ...ErrorBody, description: 'Internal error (no details)' },
};

/** `book` cut to `depth` levels per side (the stored depth at most). */
function cut(book: BookSnap, depth: number): BookSnap {
  if (book.bids.length <= depth && book.asks.length <= depth) return { ...book, depth };
  return { ...book, depth, bids: book.bids.slice(0, depth), asks: book.asks.slice(0, depth) };
}

/** The route, registered inside the `/v1` plugin (its validator, rate limit and error handler). */
export function bookRoutes(reader: BookReader) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.withTypeProvider<TypeBoxTypeProvider>().get(
      '/book/:venue/:symbol',
      {
        schema: {
          summary: 'Top-N L2 book from Redis (one GET): levels best first as [price, qty] decimal strings; empty sides while syncing',
          params: BookParams,
          querystring: BookQuery,
          response: { 200: BookResponse, ...errors },
        },
      },
      async (req) => {
        const raw = await reader.getRaw(req.params.venue, req.params.symbol);
        if (raw === null) throw ApiError.notFound('symbol', `no book for ${req.params.venue}:${req.params.symbol}`);
        return cut(JSON.parse(raw) as BookSnap, req.query.depth ?? BOOK_SNAP_DEPTH);
      },
    );
  };
}

/** What the channel needs of a `/v1/stream` session. */
export interface BookSubscriber {
  deliver(frame: Buffer): void;
}

interface Watched {
  venue: string;
  symbol: string;
  /** Subscriber → depth it asked for. */
  subscribers: Map<BookSubscriber, number>;
  /** `epoch.seq.state` last pushed. */
  last: string;
}

export interface BookChannelOptions {
  reader: BookReader;
  /** Pushes per book at most this often (API_WS_THROTTLE_MS); a state change waits at most this long. */
  throttleMs: number;
  /** Resolves for a known venue/symbol, rejects with the 404 ApiError otherwise. */
  requireKnown(venue: string, symbol: string): Promise<void>;
  log: Logger;
}

/**
 * The `book` channel of `/v1/stream`: `{"op":"subscribe","channel":"book","venue","symbol","depth"?}`
 * → `{"type":"subscribed","channel":"book",...}`, then `{"type":"book","data":BookSnap}` whenever the
 * book changed, at most once per throttle interval per book: one Redis MGET per interval for every
 * watched book, however many sockets watch it.
 */
export class BookChannel {
  private readonly watched = new Map<string, Watched>();
  private readonly timer: NodeJS.Timeout;
  private polling = false;

  /** The Redis reader the HTTP route shares. */
  readonly reader: BookReader;

  constructor(private readonly opts: BookChannelOptions) {
    this.reader = opts.reader;
    this.timer = setInterval(() => void this.poll(), Math.max(50, opts.throttleMs));
    this.timer.unref();
  }

  /** A subscribe or unsubscribe of `sub`; returns the acknowledgement to send. */
  async apply(sub: BookSubscriber, m: BookStreamSubscribe): Promise<object> {
    const key = `${m.venue}|${m.symbol}`;
    const depth = m.depth ?? BOOK_SNAP_DEPTH;
    const ack = { channel: 'book', venue: m.venue, symbol: m.symbol, depth };
    if (m.op === 'unsubscribe') {
      const w = this.watched.get(key);
      if (!w?.subscribers.delete(sub)) throw ApiError.notFound('symbol', `not subscribed to the book of ${m.venue}:${m.symbol}`);
      if (w.subscribers.size === 0) this.watched.delete(key);
      return { type: 'unsubscribed', ...ack };
    }
    await this.opts.requireKnown(m.venue, m.symbol);
    let w = this.watched.get(key);
    if (!w) this.watched.set(key, (w = { venue: m.venue, symbol: m.symbol, subscribers: new Map(), last: '' }));
    const fresh = !w.subscribers.has(sub);
    w.subscribers.set(sub, depth);
    // the current book at once (after the ack), then changes
    if (fresh) setImmediate(() => void this.pushNow(w!, sub));
    return { type: 'subscribed', ...ack };
  }

  /** Book subscriptions `sub` holds. */
  count(sub: BookSubscriber): number {
    let n = 0;
    for (const w of this.watched.values()) if (w.subscribers.has(sub)) n++;
    return n;
  }

  /** A socket went away: its book subscriptions end. */
  release(sub: BookSubscriber): void {
    for (const [key, w] of this.watched) if (w.subscribers.delete(sub) && w.subscribers.size === 0) this.watched.delete(key);
  }

  close(): void {
    clearInterval(this.timer);
    this.watched.clear();
  }

  private async pushNow(w: Watched, sub: BookSubscriber): Promise<void> {
    try {
      const raw = await this.opts.reader.getRaw(w.venue, w.symbol);
      const depth = w.subscribers.get(sub);
      if (raw !== null && depth !== undefined) sub.deliver(frameOf(JSON.parse(raw) as BookSnap, depth));
    } catch (err) {
      this.opts.log.debug({ err }, 'book push failed');
    }
  }

  private async poll(): Promise<void> {
    if (this.polling || this.watched.size === 0) return;
    this.polling = true;
    try {
      const list = [...this.watched.values()];
      const raws = await this.opts.reader.getRawMany(list);
      for (let i = 0; i < list.length; i++) {
        const raw = raws[i];
        const w = list[i]!;
        if (raw === null || raw === undefined) continue;
        const book = JSON.parse(raw) as BookSnap;
        const version = `${book.epoch}.${book.seq}.${book.state}`;
        if (version === w.last) continue;
        w.last = version;
        const frames = new Map<number, Buffer>();
        for (const [sub, depth] of w.subscribers) {
          let f = frames.get(depth);
          if (f === undefined) frames.set(depth, (f = frameOf(book, depth)));
          sub.deliver(f);
        }
      }
    } catch (err) {
      this.opts.log.warn({ err }, 'book channel poll failed');
    } finally {
      this.polling = false;
    }
  }
}

const frameOf = (book: BookSnap, depth: number): Buffer => Buffer.from(JSON.stringify({ type: 'book', data: cut(book, depth) }));
