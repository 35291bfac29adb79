import type { Command } from 'commander';
import { loadFeedConfig, venueEnvPrefix } from '../../actors/feeds/config.js';
import { createAdapter } from '../../actors/feeds/venues/registry.js';
import { loadWorkerConfig } from '../../actors/symbol/config.js';
import { registerApi } from '../../api/index.js';
import { list } from '../../runtime/config.js';
import { startProcess } from '../../runtime/process.js';
import { startSimulator, type Simulator, type SimVenue } from '../../simulate/index.js';
import { runFeeds } from './feed.js';
import { runSink } from './sink.js';
import { runSpread } from './spread.js';
import { runWorker } from './worker.js';

/** Demo markets: the three largest pairs against each venue's usual quote currency. */
const DEMO: Record<string, string[]> = {
  binance: ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'],
  bybit: ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'],
  coinbase: ['BTC-USD', 'ETH-USD', 'SOL-USD'],
  kraken: ['BTC-USD', 'ETH-USD', 'SOL-USD'],
  okx: ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'],
};

/**
 * In-process simulators for the demo; returns the env overrides that point each venue's
 * connector at its simulator (same path as the venue's public endpoint).
 */
async function startDemoMarkets(venues: string[], tradesPerSec: number): Promise<{ sims: Simulator[]; env: Record<string, string> }> {
  const sims: Simulator[] = [];
  const env: Record<string, string> = {};
  for (const [i, venue] of venues.entries()) {
    const sim = await startSimulator({
      venue: venue as SimVenue,
      // Ids advance with the clock (100 aggTrade / 200 trade ids per second of offset), so a restarted
      // demo continues the id sequence instead of repeating ids the streams already hold.
      synthetic: { symbols: DEMO[venue] ?? ['BTC-USDT'], tradesPerSec, seed: 1 + i, idOffset: Math.floor(Date.now() / 10) },
    });
    sims.push(sim);
    const endpoint = new URL(createAdapter(venue).wsUrl);
    const ws = new URL(sim.wsUrl);
    ws.pathname = endpoint.pathname;
    ws.search = endpoint.search;
    env[`${venueEnvPrefix(venue)}_WS_URL`] = ws.toString();
    env[`${venueEnvPrefix(venue)}_REST_URL`] = sim.restUrl;
  }
  return { sims, env };
}

/** `tickwork up [--demo]`: every part in one process (feeds, workers, sink, api). */
export function register(program: Command): void {
  program
    .command('up')
    .description('run everything in one process: feeds, workers, sink and api (--demo: in-process simulators instead of live venues)')
    .option('--demo', 'feed from in-process exchange simulators (offline)', false)
    .option('--demo-rate <n>', 'synthetic trades per second per demo venue', '20')
    .action(async (opts: { demo: boolean; demoRate: string }) => {
      let env: NodeJS.ProcessEnv = process.env;
      let sims: Simulator[] = [];
      let venues = list(process.env.TICKWORK_VENUES ?? 'binance');
      if (opts.demo) {
        venues = process.env.TICKWORK_VENUES ? venues.filter((v) => v in DEMO) : Object.keys(DEMO);
        const demo = await startDemoMarkets(venues, Number(opts.demoRate) || 20);
        sims = demo.sims;
        const symbols = venues.flatMap((v) => (DEMO[v] ?? []).map((s) => `${v}:${s}`)).join(',');
        env = { ...process.env, ...demo.env, TICKWORK_SYMBOLS: process.env.TICKWORK_SYMBOLS ?? symbols };
      }
      const feedCfg = loadFeedConfig(env);
      const workerCfg = loadWorkerConfig(env);
      const ctx = await startProcess({ role: 'up', needs: ['nats', 'redis', 'pg'], env });
      ctx.lifecycle.onShutdown('connections', 'simulators', async () => {
        await Promise.all(sims.map((s) => s.close()));
      });
      await runSink(ctx);
      await runSpread(ctx);
      await runWorker(ctx, workerCfg);
      const api = await registerApi(ctx);
      ctx.lifecycle.onShutdown('intake', 'api', () => api.close());
      await runFeeds(ctx, venues, feedCfg);
      const port = await ctx.listen();
      ctx.log.info({ port, demo: opts.demo, venues, dashboard: `http://127.0.0.1:${port}/` }, 'tickwork up');
    });
}
