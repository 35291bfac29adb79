import { loadSpreadConfig, type SpreadConfig } from '../actors/spread/config.js';
import { SpreadWorker } from '../actors/spread/spread-worker.js';
import type { ProcessContext } from '../runtime/process.js';
import { ArbitrageStore, loadArbitrageRetention } from '../store/arbitrage.js';
import { FundingStore } from '../store/funding.js';
import { migrate } from '../store/migrate.js';
import { runRole } from './role.js';

const HOUR = 3_600_000;

export interface SpreadSettings {
  spread: SpreadConfig;
  /** TICKWORK_RETENTION_ARBITRAGE in ms; null = forever. */
  retentionMs: number | null;
}

export const loadSpreadSettings = (env: NodeJS.ProcessEnv): SpreadSettings => ({ spread: loadSpreadConfig(env), retentionMs: loadArbitrageRetention(env) });

/**
 * The spread actors (md.book, MD_BOOKS, MD_QUOTES, MD_DERIVS → md.arb.<SYMBOL> episodes +
 * PostgreSQL), the settled funding rates (MD_DERIVS → funding_rates) and the arbitrage tables'
 * retention (streams ensured before); their drain registered in the shutdown.
 */
export async function startSpread(ctx: ProcessContext, settings: SpreadSettings): Promise<{ stop(): Promise<void> }> {
  const nats = ctx.nats!;
  const sql = ctx.sql!;
  await migrate(sql, ctx.ns.pgSchema);
  const store = new ArbitrageStore(sql, { schema: ctx.ns.pgSchema, retentionMs: settings.retentionMs });
  const log = ctx.log.child({ component: 'spread' });
  const worker = new SpreadWorker({
    nats,
    ns: ctx.ns,
    store,
    funding: new FundingStore(sql, { schema: ctx.ns.pgSchema }),
    cfg: settings.spread,
    log,
    onEscalate: (err) => {
      ctx.log.fatal({ err }, 'spread actors gave up; exiting');
      ctx.lifecycle.shutdown().finally(() => process.exit(1));
    },
  });
  await worker.start();
  // The spread actor is the table's only writer, so it also trims it.
  const trim = () => void store.applyRetention(Date.now()).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'arbitrage retention failed'));
  trim();
  const retention = setInterval(trim, HOUR);
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      clearInterval(retention);
      await worker.stop();
    })());
  ctx.lifecycle.onShutdown('actors', 'spread', stop);
  return { stop };
}

/** `tickwork spread`: the spread actors alone, for deployments that run them separately. */
export async function runSpread(base: NodeJS.ProcessEnv = process.env): Promise<void> {
  const settings = loadSpreadSettings(base);
  await runRole('spread', ['nats', 'pg'], base, (ctx) => startSpread(ctx, settings));
}
