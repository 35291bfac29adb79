import { loadBookConfig } from '../actors/feed/book-config.js';
import { loadDerivsConfig } from '../actors/feed/derivs-config.js';
import { loadFeedConfig, venuesOf, type FeedConfig } from '../actors/feed/config.js';
import { FeedSupervisor } from '../actors/feed/supervisor.js';
import type { ProcessContext } from '../runtime/process.js';
import { LiveStateStore } from '../store/live-state.js';
import { venueById } from '../venues/index.js';
import { startBookFeeds } from './books.js';
import { startDerivsFeeds, tradeSymbolsFor } from './derivs.js';
import { runRole } from './role.js';

export interface FeedsHandle {
  feeds: FeedSupervisor[];
  stop(): Promise<void>;
}

/**
 * One FeedSupervisor per configured venue in this process (streams ensured before), each venue's
 * health written to Redis every second, their shutdown registered (stop intake, then wait for acks).
 */
export async function startFeeds(ctx: ProcessContext, cfg: FeedConfig): Promise<FeedsHandle> {
  const nats = ctx.nats!;
  const feeds = venuesOf(cfg).map(
    (id) =>
      new FeedSupervisor({
        venue: venueById(id),
        cfg,
        nats,
        ns: ctx.ns,
        log: ctx.log,
        onEscalate: (err) => {
          ctx.log.fatal({ venue: id, err }, 'feed supervisor gave up; exiting');
          ctx.lifecycle.shutdown().finally(() => process.exit(1));
        },
      }),
  );
  for (const f of feeds) await f.subscribe(tradeSymbolsFor(cfg, venueById(f.venue), ctx.log));
  const health = ctx.redis ? new LiveStateStore(ctx.redis, ctx.ns) : null;
  const timer = setInterval(() => void health?.writeFeedHealth(feeds.map((f) => f.health())).catch(() => undefined), 1000);
  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      clearInterval(timer);
      await Promise.all(feeds.map((f) => f.stop()));
    })());
  ctx.lifecycle.onShutdown('intake', 'feeds', stop);
  ctx.log.info({ venues: feeds.map((f) => ({ venue: f.venue, url: f.wsUrl })) }, 'feeds started');
  return { feeds, stop };
}

/** `tickwork feed`: the feeds of `venues` (and `symbols`, else TICKWORK_SYMBOLS) as a process. */
export async function runFeed(opts: { venues: string[]; symbols?: string }, base: NodeJS.ProcessEnv = process.env): Promise<void> {
  const env = { ...base, ...(opts.symbols ? { TICKWORK_SYMBOLS: opts.symbols } : {}), TICKWORK_VENUES: opts.venues.join(',') };
  const cfg = loadFeedConfig(env);
  const books = loadBookConfig(env);
  const derivs = loadDerivsConfig(env);
  await runRole('feed', ['nats', 'redis'], env, async (ctx) => {
    await startFeeds(ctx, cfg);
    await startBookFeeds(ctx, cfg, books);
    await startDerivsFeeds(ctx, cfg, derivs);
  });
}
