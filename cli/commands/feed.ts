import type { Command } from 'commander';
import { ensureMarketStreams } from '../../actors/streams.js';
import { loadFeedConfig, symbolsFor, type FeedConfig } from '../../actors/feeds/config.js';
import { FeedSupervisor } from '../../actors/feeds/feed-supervisor.js';
import { list } from '../../runtime/config.js';
import { startProcess, type ProcessContext } from '../../runtime/process.js';
import { feedHealthKey } from '../../schemas/state.js';

export interface FeedsHandle {
  feeds: FeedSupervisor[];
  stop(): Promise<void>;
}

/**
 * Starts one FeedSupervisor per venue in this process, publishes each venue's health to Redis
 * every second, and registers their shutdown (stop intake, then wait for acks).
 */
export async function runFeeds(ctx: ProcessContext, venues: string[], cfg: FeedConfig, symbols?: (venue: string) => string[]): Promise<FeedsHandle> {
  const nats = ctx.nats!;
  await ensureMarketStreams(nats.jsm, ctx.ns);
  const feeds = venues.map(
    (venue) =>
      new FeedSupervisor({
        venue,
        cfg,
        nats,
        ns: ctx.ns,
        log: ctx.log,
        onEscalate: (err) => {
          ctx.log.fatal({ venue, err }, 'feed supervisor gave up; exiting');
          ctx.lifecycle.shutdown().finally(() => process.exit(1));
        },
      }),
  );
  for (const f of feeds) await f.subscribe(symbols ? symbols(f.venue) : symbolsFor(cfg, f.venue));
  const writeHealth = async () => {
    if (!ctx.redis) return;
    const pipe = ctx.redis.pipeline();
    for (const f of feeds) pipe.set(ctx.ns.key(feedHealthKey(f.venue)), JSON.stringify(f.health()), 'EX', 60);
    await pipe.exec().catch(() => undefined);
  };
  const timer = setInterval(() => void writeHealth(), 1000);
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

export function register(program: Command): void {
  program
    .command('feed')
    .description('run the supervised venue feeds only: normalize trades/quotes into JetStream')
    .requiredOption('--venue <venue>', 'venue id, e.g. binance (comma-separated for several)')
    .option('--symbols <list>', 'comma-separated BASE-QUOTE symbols (default: TICKWORK_SYMBOLS)')
    .action(async (opts: { venue: string; symbols?: string }) => {
      const env = { ...process.env, ...(opts.symbols ? { TICKWORK_SYMBOLS: opts.symbols } : {}), TICKWORK_VENUES: opts.venue };
      const cfg = loadFeedConfig(env);
      const ctx = await startProcess({ role: 'feed', needs: ['nats', 'redis'], env });
      await runFeeds(ctx, list(opts.venue), cfg);
      await ctx.listen();
    });
}
