import type { Command } from 'commander';
import { loadSpreadConfig, type SpreadConfig } from '../../actors/spread/config.js';
import { SpreadWorker } from '../../actors/spread/spread-worker.js';
import { ensureMarketStreams } from '../../actors/streams.js';
import { startProcess, type ProcessContext } from '../../runtime/process.js';
import { ArbitrageStore } from '../../store/arbitrage.js';
import { migrate } from '../../store/migrate.js';

const HOUR = 3_600_000;

/**
 * Starts the spread actors (MD_QUOTES → md.arb.<SYMBOL> + PostgreSQL) and the arbitrage table's
 * retention; registers their drain in the shutdown. Needs nats and pg in the context.
 */
export async function runSpread(ctx: ProcessContext, cfg: SpreadConfig = loadSpreadConfig()): Promise<{ stop(): Promise<void> }> {
  const { nats, sql } = ctx;
  if (!nats || !sql) throw new Error('runSpread needs nats and pg in startProcess({ needs })');
  await ensureMarketStreams(nats.jsm, ctx.ns);
  await migrate(sql, ctx.ns.pgSchema);
  const store = new ArbitrageStore(sql, { schema: ctx.ns.pgSchema });
  const log = ctx.log.child({ component: 'spread' });
  const worker = new SpreadWorker({
    nats,
    ns: ctx.ns,
    store,
    cfg,
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

/** Extension of the DESIGN.md CLI: the spread actors alone, for deployments that run them separately. */
export function register(program: Command): void {
  program
    .command('spread')
    .description('detect cross-venue spreads from MD_QUOTES: publish md.arb.<SYMBOL> and store them in PostgreSQL')
    .action(async () => {
      const cfg = loadSpreadConfig();
      const ctx = await startProcess({ role: 'spread', needs: ['nats', 'pg'] });
      await runSpread(ctx, cfg);
      await ctx.listen();
    });
}
