import { loadBookConfig, type BookConfig } from '../actors/feed/book-config.js';
import { loadDerivsConfig, type DerivsConfig } from '../actors/feed/derivs-config.js';
import { loadFeedConfig, symbolsFor, venuesOf, type FeedConfig } from '../actors/feed/config.js';
import { loadWorkerConfig, type WorkerConfig } from '../actors/symbol/config.js';
import { logFormat } from '../runtime/logger.js';
import { startProcess } from '../runtime/process.js';
import { startSimulator, type Simulator } from '../simulate/index.js';
import { demoVenues, venueById, type Venue } from '../venues/index.js';
import { loadApiSettings, startApi, type ApiSettings } from './api.js';
import { startDemoHistory, type DemoMarket } from './demo-history.js';
import { startBookFeeds } from './books.js';
import { startDerivsFeeds } from './derivs.js';
import { startFeeds } from './feed.js';
import { ownSchema } from './migrate.js';
import { loadSinkSettings, startSink, type SinkSettings } from './sink.js';
import { loadSpreadSettings, startSpread, type SpreadSettings } from './spread.js';
import { ensureMarketStreams, loadStreamsConfig, type StreamsConfig } from './streams.js';
import { startWorker } from './worker.js';

export interface UpArgs {
  /** In-process simulators instead of the live venues. */
  demo: boolean;
  /** Synthetic trades per second per demo venue. */
  demoRate: number;
}

/**
 * In-process simulators for the demo, one per venue; returns them and the variables that point
 * each venue's connector at its simulator (the venue's own path, so nothing else changes).
 */
async function startDemoMarkets(venues: readonly Venue[], tradesPerSec: number): Promise<{ sims: Simulator[]; env: Record<string, string>; history: DemoHistory }> {
  const sims: Simulator[] = [];
  const env: Record<string, string> = {};
  const history: DemoHistory = { markets: [], liveFrom: Date.now() };
  for (const [i, venue] of venues.entries()) {
    // Ids advance with the clock (100 aggTrade / 200 trade ids per second of offset), so a restarted
    // demo continues the id sequence instead of repeating ids the streams already hold.
    const synthetic = { symbols: [...venue.demo.symbols], tradesPerSec, seed: 1 + i, idOffset: Math.floor(Date.now() / 10) };
    const sim = await startSimulator({ venue: venue.id, synthetic });
    sims.push(sim);
    history.markets.push({ venue: venue.id, synthetic });
    Object.assign(env, sim.env);
  }
  return { sims, env, history };
}

/** What the demo's past day is computed from: the simulators' markets and the instant live began. */
interface DemoHistory {
  markets: DemoMarket[];
  liveFrom: number;
}

/** `tickwork up [--demo]`: every part in one process (feeds, workers, sink, spread, api). */
export async function runUp(args: UpArgs, base: NodeJS.ProcessEnv = process.env): Promise<void> {
  // Every setting is checked before anything starts: a bad one stops start-up with one line.
  const own = loadFeedConfig(base);
  const settings = {
    worker: loadWorkerConfig(base),
    sink: loadSinkSettings(base),
    spread: loadSpreadSettings(base),
    api: loadApiSettings(base),
    streams: loadStreamsConfig(base),
    // the demo shows books unless TICKWORK_BOOKS says otherwise
    books: loadBookConfig(args.demo ? { TICKWORK_BOOKS: '1', ...base } : base),
    derivs: loadDerivsConfig(base),
  };
  let env: NodeJS.ProcessEnv = base;
  let sims: Simulator[] = [];
  let history: DemoHistory | null = null;
  if (args.demo) {
    // TICKWORK_VENUES picks among the registry; default: the demo set.
    const venues = base.TICKWORK_VENUES ? venuesOf(own).map(venueById) : demoVenues();
    const demo = await startDemoMarkets(venues, args.demoRate);
    sims = demo.sims;
    history = demo.history;
    const symbols = venues.flatMap((v) => v.demo.symbols.map((s) => `${v.id}:${s}`)).join(',');
    env = { ...base, ...demo.env, TICKWORK_VENUES: venues.map((v) => v.id).join(','), TICKWORK_SYMBOLS: base.TICKWORK_SYMBOLS ?? symbols };
  }
  try {
    await runAll(args, env, loadFeedConfig(env), settings, sims, history);
  } catch (err) {
    await Promise.all(sims.map((s) => s.close()));
    throw err;
  }
}

interface UpSettings {
  worker: WorkerConfig;
  sink: SinkSettings;
  spread: SpreadSettings;
  api: ApiSettings;
  streams: StreamsConfig;
  books: BookConfig;
  derivs: DerivsConfig;
}

async function runAll(args: UpArgs, env: NodeJS.ProcessEnv, feedCfg: FeedConfig, settings: UpSettings, sims: Simulator[], history: DemoHistory | null): Promise<void> {
  const ctx = await startProcess({ role: 'up', needs: ['nats', 'redis', 'pg'], env });
  ctx.lifecycle.onShutdown('connections', 'simulators', async () => {
    await Promise.all(sims.map((s) => s.close()));
  });
  await ensureMarketStreams(ctx.nats!.jsm, ctx.ns, settings.streams);
  // On a laptop one process is also the schema owner: migrations and partition upkeep in-process.
  await ownSchema(ctx, settings.sink.store);
  await startSink(ctx, settings.sink.store, settings.sink.sessions);
  await startSpread(ctx, settings.spread);
  await startWorker(ctx, settings.worker);
  const api = await startApi(ctx, settings.api);
  await startFeeds(ctx, feedCfg);
  await startBookFeeds(ctx, feedCfg, settings.books);
  await startDerivsFeeds(ctx, feedCfg, settings.derivs);
  const port = await ctx.listen();
  if (history) void startDemoHistory(ctx, history.markets, history.liveFrom, { worker: settings.worker, store: settings.sink.store });
  const dashboard = `http://127.0.0.1:${port}/`;
  const venues = venuesOf(feedCfg);
  ctx.log.info({ port, demo: args.demo, venues, dashboard, api: `${dashboard}v1/symbols` }, 'tickwork up');
  if (logFormat(ctx.config.LOG_FORMAT) === 'pretty') process.stdout.write(banner({ dashboard, demo: args.demo, dashboardBuilt: api.dashboard, feedCfg, venues }));
}

/** The start banner of `up` on a terminal: where to look, and what is being fed. */
export function banner(o: { dashboard: string; demo: boolean; dashboardBuilt: boolean; feedCfg: FeedConfig; venues: readonly string[] }): string {
  const rows = [
    ['dashboard', o.dashboardBuilt ? o.dashboard : `${o.dashboard} (not built: npm run build:web)`],
    ['api', `${o.dashboard}v1/symbols  ·  ${o.dashboard}openapi.json  ·  ws ${o.dashboard.replace(/^http/, 'ws')}v1/stream`],
    ['metrics', `${o.dashboard}metrics`],
    ...o.venues.map((v) => [v, `${symbolsFor(o.feedCfg, v).join(' ')}${o.demo ? '  (simulated)' : ''}`]),
  ];
  const width = Math.max(...rows.map(([k]) => k!.length));
  const lines = rows.map(([k, v]) => `  ${k!.padEnd(width)}  ${v}`);
  return `\n  tickwork up${o.demo ? ' --demo' : ''}\n\n${lines.join('\n')}\n\n  Ctrl-C stops it.\n\n`;
}
