import { registerApi, type ApiHandle } from '../api/index.js';
import { loadApiConfig, type ApiConfig } from '../api/config.js';
import type { ProcessContext } from '../runtime/process.js';
import { runRole } from './role.js';
import { ArbitrageStore } from '../store/arbitrage.js';
import { FundingStore } from '../store/funding.js';
import { CandleStore, loadStoreSettings, type StoreSettings } from '../store/candles.js';
import { VENUE_IDS } from '../venues/index.js';
import { loadSessionLookup, type SessionLookup } from './sink.js';

export interface ApiSettings {
  api: ApiConfig;
  /** Which timeframes are stored (the rest are derived from 1m on read). */
  store: StoreSettings;
  /** Symbols trading in sessions (their candles have session lengths). */
  sessions: SessionLookup;
}

export const loadApiSettings = (env: NodeJS.ProcessEnv): ApiSettings => ({
  api: loadApiConfig(env),
  store: loadStoreSettings(env),
  sessions: loadSessionLookup(env),
});

/** The query service on the process's HTTP server (call before `ctx.listen()`), closed on shutdown. */
export async function startApi(ctx: ProcessContext, settings: ApiSettings): Promise<ApiHandle> {
  const sql = ctx.sql!;
  const api = await registerApi(ctx, {
    config: settings.api,
    venues: VENUE_IDS,
    history: new CandleStore(sql, { ...settings.store, schema: ctx.ns.pgSchema }),
    arbitrage: new ArbitrageStore(sql, { schema: ctx.ns.pgSchema }),
    funding: new FundingStore(sql, { schema: ctx.ns.pgSchema }),
    session: settings.sessions,
  });
  ctx.lifecycle.onShutdown('intake', 'api', () => api.close());
  return api;
}

/** `tickwork api`: the query service alone. */
export async function runApi(base: NodeJS.ProcessEnv = process.env): Promise<void> {
  const settings = loadApiSettings(base);
  let dashboard = false;
  const ctx = await runRole('api', ['nats', 'redis', 'pg'], base, async (c) => (dashboard = (await startApi(c, settings)).dashboard));
  ctx.log.info({ dashboard }, 'tickwork api');
}
