import { TickworkError } from '../../runtime/errors.js';
import { Supervisor, type ActorRef } from '../../runtime/actor/index.js';
import type { Logger } from '../../runtime/logger.js';
import type { Namespace } from '../../runtime/namespace.js';
import { PipelinedPublisher, type NatsHandles } from '../../runtime/nats/index.js';
import { SlidingWindowLimit } from '../../runtime/rate-limit.js';
import { BOOK_SNAP_DEPTH, type BookState } from '../../schemas/book.js';
import { getText } from '../../runtime/transport/index.js';
import type { DerivsContracts } from '../../venues/kit/derivs.js';
import type { Venue, VenueAdapter, VenueBooks } from '../../venues/kit/types.js';
import { BookDriver } from './book-driver.js';
import { bookMetrics } from './book-metrics.js';
import { BookPublisher, type BookCache, type BookSnapListener } from './book-publisher.js';
import { ResyncQueue } from './book-resync.js';
import type { BookConfig } from './book-config.js';
import { feedSupervision, urlsFor, type FeedConfig } from './config.js';
import { FeedConnection, newSlot, type ConnectionSlot, type FeedMsg, type FeedTimings } from './connection.js';
import { FeedStats } from './metrics.js';
import { MarketPublisher } from './publisher.js';

export interface BookFeedDeps {
  venue: Venue;
  feed: FeedConfig;
  cfg: BookConfig;
  nats: NatsHandles;
  ns: Namespace;
  /** Where the top-N books are kept (store/books.ts). */
  cache: BookCache;
  log: Logger;
  /** Levels per side in MD_BOOKS and Redis; default BOOK_SNAP_DEPTH (50). */
  depth?: number;
  /** Benchmarks: receipt times of the frames each Redis write made visible. */
  onCached?: BookSnapListener;
  parent?: Supervisor;
  onEscalate?: (err: unknown) => void;
}

/**
 * One kind of instrument a venue's books come in, with connections of its own: spot (the venue's
 * own adapter and endpoint) or the venue's perpetuals where they need another adapter or endpoint
 * (`VenueBooks.perps`: Bybit linear, OKX swaps).
 */
interface BookMarket {
  readonly name: 'spot' | 'perps';
  readonly books: Omit<VenueBooks, 'perps'>;
  /** The venue as this market's connections see it (their adapter). */
  readonly venue: Venue;
  readonly wsUrl: string;
  /** Names symbols for the routers (the connections' own adapters learn them when subscribing). */
  readonly scratch: VenueAdapter;
  readonly perConnection: number;
  /** Where sizes are in contracts: how to read their values, and those read so far by venue symbol. */
  readonly contracts?: { spec: DerivsContracts; values: Map<string, string> };
}

interface BookSlot {
  market: BookMarket;
  slot: ConnectionSlot;
  driver: BookDriver;
  ref: ActorRef<FeedMsg>;
}

/** Symbols per book connection where the venue states no bound of its own. */
const DEFAULT_PER_CONNECTION = 50;
const REST_TIMEOUT_MS = 10_000;
/** A failed read of contract values is tried again after this long, doubling up to the maximum. */
const CONTRACTS_RETRY_MS = 5_000;
const CONTRACTS_RETRY_MAX_MS = 120_000;

export interface BookHealth {
  venue: string;
  symbol: string;
  state: BookState;
  epoch: number;
  /** The last event's seq (contiguous across epochs). */
  seq: number;
  /** Resyncs since start, by reason (the first sync not counted). */
  resyncs: Record<string, number>;
}

/**
 * The L2 books of one venue: the `books` channel on connections of its own (the same supervised
 * FeedConnection actors as trades, with the book hook), a BookDriver per connection, one resync
 * queue per venue (its limits), one BookPublisher (md.book, MD_BOOKS, Redis, quotes). Symbols are
 * spread over connections by the venue's books-per-connection bound (Coinbase: one product each, as
 * its sequence numbers count the whole connection). A venue whose perpetuals have books of their
 * own (`VenueBooks.perps`) gets connections for its `BASE-QUOTE-PERP` symbols apart from spot's,
 * on the perpetuals' endpoint; the queue, publisher and per-IP limits stay the venue's.
 */
export class BookFeed {
  readonly venue: string;
  private readonly spot: BookMarket;
  private readonly perps: BookMarket | null;
  private readonly restUrl: string | undefined;
  private contractsRetryMs = CONTRACTS_RETRY_MS;
  /** Perpetuals waiting for their contract values (a retry subscribes those still wanted). */
  private readonly waiting = new Set<string>();
  private readonly supervisor: Supervisor;
  private readonly slots: BookSlot[] = [];
  private readonly owner = new Map<string, BookSlot>();
  private readonly publisher: BookPublisher;
  private readonly resyncs: ResyncQueue;
  private readonly market: MarketPublisher;
  private readonly js: PipelinedPublisher;
  private readonly stats: FeedStats;
  private readonly timings: FeedTimings;
  private readonly connectLimit: SlidingWindowLimit;
  private readonly ipMessageLimit: SlidingWindowLimit | null;
  private readonly stop$ = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly log: Logger;

  constructor(private readonly deps: BookFeedDeps) {
    const { venue: def, feed, cfg } = deps;
    if (def.books === undefined) throw new TickworkError('VENUE_UNKNOWN', `venue ${def.id} has no books`);
    this.venue = def.id;
    this.log = deps.log.child({ venue: def.id, component: 'books' });
    const urls = urlsFor(feed, def);
    this.restUrl = urls.rest;
    const perConnection = (books: Omit<VenueBooks, 'perps'>) =>
      Math.max(1, books.symbolsPerConnection ?? Math.min(DEFAULT_PER_CONNECTION, def.limits.maxStreamsPerConnection ?? DEFAULT_PER_CONNECTION));
    const spotBooks = def.books;
    this.spot = {
      name: 'spot',
      books: spotBooks,
      venue: def,
      wsUrl: spotBooks.wsUrl ? spotBooks.wsUrl(urls.ws) : urls.ws,
      scratch: def.createAdapter(),
      perConnection: perConnection(spotBooks),
    };
    const p = spotBooks.perps;
    this.perps =
      p === undefined
        ? null
        : {
            name: 'perps',
            books: p,
            venue: { ...def, createAdapter: () => p.createAdapter() },
            wsUrl: p.wsUrl ? p.wsUrl(urls.ws) : urls.ws,
            scratch: p.createAdapter(),
            perConnection: perConnection(p),
            ...(p.contracts ? { contracts: { spec: p.contracts, values: new Map<string, string>() } } : {}),
          };
    const policy = feedSupervision(feed);
    this.supervisor = new Supervisor(`books:${def.id}`, policy, {
      log: this.log,
      ...(deps.parent ? { parent: deps.parent } : {}),
      ...(deps.onEscalate ? { onEscalate: deps.onEscalate } : {}),
    });
    // the venue's per-IP limits, counted apart from the trade connections' (connects are rare here)
    const c = def.limits.connectsPerIp;
    this.connectLimit = c ? new SlidingWindowLimit({ limit: c.count, windowMs: c.perMs + 1000 }) : new SlidingWindowLimit({ limit: 1000, windowMs: 1000 });
    const ipm = def.limits.messagesPerIp;
    this.ipMessageLimit = ipm ? new SlidingWindowLimit({ limit: ipm.count, windowMs: ipm.perMs + 100 }) : null;
    this.timings = {
      silenceMs: feed.TICKWORK_FEED_SILENCE_MS,
      // no rotation: a rotated socket would resync every book anyway; the venue's cut (Binance 24 h) is one reconnect
      rotateAfterMs: 0,
      rotateOverlapMs: feed.TICKWORK_FEED_ROTATE_OVERLAP_MS,
      connectTimeoutMs: feed.TICKWORK_FEED_CONNECT_TIMEOUT_MS,
      maxBackfill: 0,
    };
    this.stats = new FeedStats(def.id);
    this.js = new PipelinedPublisher(deps.nats, { maxInFlight: feed.TICKWORK_FEED_MAX_IN_FLIGHT });
    this.market = new MarketPublisher(this.js, deps.ns, this.stats);
    this.publisher = new BookPublisher({
      venue: def.id,
      nc: deps.nats.nc,
      js: this.js,
      ns: deps.ns,
      cache: deps.cache,
      depth: deps.depth ?? BOOK_SNAP_DEPTH,
      log: this.log,
      ...(deps.onCached ? { onCached: deps.onCached } : {}),
    });
    const rest = spotBooks.rest;
    const weightPerMin = def.limits.restWeightPerMin;
    this.resyncs = new ResyncQueue({
      venue: def.id,
      resyncsPerMin: cfg.TICKWORK_BOOK_RESYNCS_PER_MIN,
      ...(rest && urls.rest
        ? {
            rest: {
              depth: rest,
              baseUrl: urls.rest,
              variable: `${def.envPrefix}_REST_URL`,
              weightPerMin: weightPerMin ? Math.max(rest.weight, Math.floor(weightPerMin * cfg.TICKWORK_BOOK_REST_WEIGHT_SHARE)) : 0,
              venueWeightPerMin: weightPerMin ?? Infinity,
            },
          }
        : {}),
      log: this.log,
      signal: this.stop$.signal,
    });
    this.timer = setInterval(() => this.tick(), 100);
    this.timer.unref();
  }

  /** The book connections' endpoint (spot's). */
  get url(): string {
    return this.spot.wsUrl;
  }

  /** The endpoint of the perpetuals' book connections, where the venue has them apart. */
  get perpsUrl(): string | null {
    return this.perps?.wsUrl ?? null;
  }

  /**
   * Adds books: fills connections that have room, opens new ones for the rest. `BASE-QUOTE-PERP`
   * symbols go to the perpetuals' connections where the venue has them; where their sizes are in
   * contracts, a symbol waits for its contract value (read by REST, again later if that fails).
   */
  async subscribe(symbols: readonly string[]): Promise<void> {
    const wanted = [...new Set(symbols)].filter((s) => !this.owner.has(s));
    const perps = this.perps;
    const forPerps = perps === null ? [] : wanted.filter((s) => s.endsWith('-PERP'));
    await this.place(this.spot, perps === null ? wanted : wanted.filter((s) => !s.endsWith('-PERP')));
    if (perps !== null && forPerps.length > 0) await this.place(perps, await this.withContractValues(perps, forPerps));
  }

  /** `symbols` of `market` whose contract values are known (all where sizes are not contracts); the others are retried later. */
  private async withContractValues(market: BookMarket, symbols: string[]): Promise<string[]> {
    const c = market.contracts;
    if (c === undefined) return symbols;
    const known = () => symbols.filter((s) => c.values.has(market.scratch.toVenueSymbol(s)));
    if (known().length === symbols.length) return symbols;
    let read = false;
    try {
      if (this.restUrl === undefined) throw new TickworkError('CONFIG_INVALID', `${this.deps.venue.envPrefix}_REST_URL is empty`);
      const body = await getText(this.restUrl + c.spec.path(), { signal: this.stop$.signal, timeoutMs: REST_TIMEOUT_MS, variable: `${this.deps.venue.envPrefix}_REST_URL` });
      for (const [k, v] of c.spec.parse(body)) c.values.set(k, v);
      read = true;
      this.contractsRetryMs = CONTRACTS_RETRY_MS;
    } catch (err) {
      if (this.stop$.signal.aborted) return [];
      this.log.warn({ err: (err as Error).message, retryInMs: this.contractsRetryMs }, 'contract values not read; those books wait');
    }
    const ok = known();
    const missing = symbols.filter((s) => !ok.includes(s));
    if (missing.length === 0) return ok;
    if (read) {
      // the venue lists no linear contract under that name: its sizes could never be base units
      this.log.error({ symbols: missing }, 'no contract value for these perpetuals; their books are not synced');
    } else {
      for (const s of missing) this.waiting.add(s);
      const again = () => {
        const still = missing.filter((s) => this.waiting.delete(s));
        if (still.length > 0) void this.subscribe(still).catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'book subscribe failed'));
      };
      const retry = setTimeout(again, this.contractsRetryMs);
      retry.unref();
      this.stop$.signal.addEventListener('abort', () => clearTimeout(retry), { once: true });
      this.contractsRetryMs = Math.min(CONTRACTS_RETRY_MAX_MS, this.contractsRetryMs * 2);
    }
    return ok;
  }

  private async place(market: BookMarket, wanted: readonly string[]): Promise<void> {
    const scratch = market.scratch;
    let i = 0;
    const place = async (entry: BookSlot, batch: string[], fresh: boolean) => {
      for (const s of batch) {
        entry.driver.add(s, scratch.toVenueSymbol(s));
        this.owner.set(s, entry);
        // a connection not started yet subscribes its slot's symbols itself; a running one on `subscribe`
        if (fresh) entry.slot.symbols.add(s);
      }
      if (!fresh) await entry.ref.send({ t: 'subscribe', symbols: batch });
    };
    for (const entry of this.slots) {
      const room = market.perConnection - entry.driver.size;
      if (entry.market !== market || room <= 0 || i >= wanted.length) continue;
      const batch = wanted.slice(i, i + room);
      i += batch.length;
      await place(entry, batch, false);
    }
    while (i < wanted.length) {
      const batch = wanted.slice(i, i + market.perConnection);
      i += batch.length;
      const entry = this.openSlot(market);
      await place(entry, batch, true);
      entry.ref = this.startConnection(entry);
    }
  }

  /** Removes books; their connections stay open. */
  async unsubscribe(symbols: readonly string[]): Promise<void> {
    for (const s of new Set(symbols)) {
      this.waiting.delete(s);
      const entry = this.owner.get(s);
      if (entry === undefined) continue;
      this.owner.delete(s);
      entry.driver.remove(s);
      await entry.ref.send({ t: 'unsubscribe', symbols: [s] });
    }
  }

  get symbols(): string[] {
    return [...this.owner.keys()].sort();
  }

  /** Every book's state, epoch and resyncs. */
  health(): BookHealth[] {
    const out: BookHealth[] = [];
    for (const { driver } of this.slots) {
      for (const s of driver.router.syncs()) {
        const resyncs: Record<string, number> = {};
        for (const [reason, n] of Object.entries(s.resyncs)) if (n > 0 && reason !== 'initial') resyncs[reason] = n;
        out.push({ venue: this.venue, symbol: s.symbol, state: s.state, epoch: s.epoch, seq: s.seq, resyncs });
      }
    }
    return out.sort((a, b) => a.symbol.localeCompare(b.symbol));
  }

  /** Stops the connections; what they published is then acknowledged. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stop$.abort();
    await this.supervisor.stop();
    await this.js.flush();
  }

  private tick(): void {
    const now = Date.now();
    const states: Record<BookState, number> = { syncing: 0, live: 0, stale: 0 };
    for (const { driver } of this.slots) {
      driver.tick(now);
      for (const s of driver.router.syncs()) states[s.state]++;
    }
    this.publisher.tick(now);
    for (const [state, n] of Object.entries(states)) bookMetrics.states.set({ venue: this.venue, state }, n);
  }

  private openSlot(market: BookMarket): BookSlot {
    const slot = newSlot(this.slots.length, [], ['books']);
    const driver = new BookDriver({
      venue: this.venue,
      router: market.books.createRouter({
        venue: this.venue,
        resyncTimeoutMs: this.deps.cfg.TICKWORK_BOOK_RESYNC_TIMEOUT_MS,
        ...(market.contracts ? { contractValues: market.contracts.values } : {}),
      }),
      publisher: this.publisher,
      resyncs: this.resyncs,
      source: market.wsUrl,
      log: this.log.child({ conn: slot.id, market: market.name }),
    });
    const entry: BookSlot = { market, slot, driver, ref: null as unknown as ActorRef<FeedMsg> };
    this.slots.push(entry);
    return entry;
  }

  private startConnection(entry: BookSlot): ActorRef<FeedMsg> {
    const { slot, driver, market } = entry;
    return this.supervisor.start<FeedMsg>({
      id: `${this.venue}#book${slot.id}`,
      kind: 'feed',
      mailboxSize: 4096,
      behavior: () =>
        new FeedConnection({
          venue: market.venue,
          wsUrl: market.wsUrl,
          slot,
          publisher: this.market,
          stats: this.stats,
          connectLimit: this.connectLimit,
          history: null,
          ipMessageLimit: this.ipMessageLimit,
          lastStoredTrade: async () => null,
          timings: this.timings,
          log: this.log.child({ conn: slot.id }),
          books: driver,
        }),
    });
  }
}
