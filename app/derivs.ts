import { TickworkError } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import type { Namespace } from '../runtime/namespace.js';
import type { NatsHandles } from '../runtime/nats/index.js';
import type { ProcessContext } from '../runtime/process.js';
import { feedSupervision, symbolsFor, urlsFor, venuesOf, type FeedConfig } from '../actors/feed/config.js';
import type { DerivsConfig } from '../actors/feed/derivs-config.js';
import { DerivsFeed, type LatestDerivs } from '../actors/feed/derivs-feed.js';
import { DerivStore } from '../store/derivs.js';
import { venueById, type Venue } from '../venues/index.js';

export interface DerivsFeedsHandle {
  feeds: DerivsFeed[];
  stop(): Promise<void>;
}

/** The perpetual symbols (`BASE-QUOTE-PERP`) of `venue` among the configured ones. */
export const perpSymbolsFor = (feed: FeedConfig, venue: string): string[] => symbolsFor(feed, venue).filter((s) => s.endsWith('-PERP'));

/**
 * The configured symbols of `venue` its trade feed subscribes: a `BASE-QUOTE-PERP` symbol of a venue
 * whose perpetuals live on another endpoint than its trades (Bybit linear, OKX swaps: their trade
 * adapters cannot name one) gets no trades, only the derivatives feed and its book connections
 * (VenueBooks.perps). Subscribed on the trade connection it failed that connection at every
 * (re)connect, so the venue's spot trades stopped too.
 */
export function tradeSymbolsFor(feed: FeedConfig, venue: Venue, log: Logger): string[] {
  const symbols = symbolsFor(feed, venue.id);
  if (venue.derivs === undefined) return symbols;
  const { kept, unnamed } = namedByAdapter(venue, symbols, (s) => !s.endsWith('-PERP'));
  if (unnamed.length > 0) log.info({ venue: venue.id, symbols: unnamed }, 'perpetual symbols without trades: derivatives and order books only (the venue trades them on another endpoint)');
  return kept;
}

/** `symbols` split by whether `venue`'s trade adapter can name them; those `exempt` says are kept without asking. */
export function namedByAdapter(venue: Venue, symbols: readonly string[], exempt: (symbol: string) => boolean): { kept: string[]; unnamed: string[] } {
  const adapter = venue.createAdapter();
  const unnamed: string[] = [];
  const kept = symbols.filter((s) => {
    if (exempt(s)) return true;
    try {
      adapter.toVenueSymbol(s);
      return true;
    } catch {
      unnamed.push(s);
      return false;
    }
  });
  return { kept, unnamed };
}

/**
 * One venue's derivatives feed with the trade feed's reconnect policy and endpoints (`<VENUE>_WS_URL`
 * and `<VENUE>_REST_URL`; the venue's derivatives endpoint derives from the first).
 */
export function derivsFeedFor(
  venue: Venue,
  feed: FeedConfig,
  cfg: DerivsConfig,
  deps: { nats: NatsHandles; ns: Namespace; latest: LatestDerivs | null; log: Logger; onEscalate?: (err: unknown) => void; now?: () => number },
): DerivsFeed {
  if (venue.derivs === undefined) throw new TickworkError('VENUE_UNKNOWN', `venue ${venue.id} has no derivatives`);
  const urls = urlsFor(feed, venue);
  const policy = feedSupervision(feed);
  return new DerivsFeed({
    venue,
    derivs: venue.derivs,
    wsUrl: urls.ws,
    restUrl: urls.rest,
    cfg,
    policy,
    connectTimeoutMs: feed.TICKWORK_FEED_CONNECT_TIMEOUT_MS,
    nats: deps.nats,
    ns: deps.ns,
    latest: deps.latest,
    log: deps.log,
    ...(deps.now ? { now: deps.now } : {}),
    ...(deps.onEscalate ? { onEscalate: deps.onEscalate } : {}),
  });
}

/**
 * The derivatives feeds (TICKWORK_DERIVS=on, the default): for each configured venue whose registry
 * entry has `derivs` and that has `BASE-QUOTE-PERP` symbols, connections of its own to the venue's
 * derivatives endpoint publishing merged tickers on `md.deriv.*` (MD_DERIVS, latest in Redis
 * `deriv:<venue>:<SYMBOL>`) and liquidations on `md.liq.*` (MD_LIQS). Settled funding rates ride on
 * the tickers (`settled`) and are written to PostgreSQL by the spread role's funding recorder: the
 * feed role has no PostgreSQL (app/pg-roles.ts). Shutdown is registered with the feeds' intake.
 */
export async function startDerivsFeeds(ctx: ProcessContext, feed: FeedConfig, cfg: DerivsConfig): Promise<DerivsFeedsHandle> {
  if (cfg.TICKWORK_DERIVS === 'off') return { feeds: [], stop: async () => undefined };
  const latest = ctx.redis ? new DerivStore(ctx.redis, ctx.ns) : null;
  const feeds: DerivsFeed[] = [];
  for (const venue of venuesOf(feed).map(venueById)) {
    const symbols = perpSymbolsFor(feed, venue.id);
    if (venue.derivs === undefined || symbols.length === 0) continue;
    const f = derivsFeedFor(venue, feed, cfg, {
      nats: ctx.nats!,
      ns: ctx.ns,
      latest,
      log: ctx.log,
      onEscalate: (err) => {
        ctx.log.fatal({ venue: venue.id, err }, 'derivatives feed supervisor gave up; exiting');
        ctx.lifecycle.shutdown().finally(() => process.exit(1));
      },
    });
    await f.start(symbols);
    feeds.push(f);
  }
  let stopped: Promise<void> | null = null;
  const stop = () => (stopped ??= Promise.all(feeds.map((f) => f.stop())).then(() => undefined));
  ctx.lifecycle.onShutdown('intake', 'derivs', stop);
  if (feeds.length > 0) ctx.log.info({ venues: feeds.map((f) => ({ venue: f.venue, symbols: f.symbols.length })) }, 'derivatives feeds started');
  return { feeds, stop };
}
