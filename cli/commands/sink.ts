import type { Command } from 'commander';
import { CandleSink } from '../../actors/sink/candle-sink.js';
import { ensureMarketStreams } from '../../actors/streams.js';
import { startProcess, type ProcessContext } from '../../runtime/process.js';
import { CandleStore, migrate, storeOptionsFromEnv } from '../../store/index.js';

/** MD_CANDLES → PostgreSQL, plus partition upkeep; registered to drain on shutdown. */
export async function runSink(ctx: ProcessContext): Promise<CandleSink> {
  await ensureMarketStreams(ctx.nats!.jsm, ctx.ns);
  await migrate(ctx.sql!, ctx.ns.pgSchema);
  const store = new CandleStore(ctx.sql!, { ...storeOptionsFromEnv(), schema: ctx.ns.pgSchema });
  await store.maintain();
  const upkeep = setInterval(() => void store.maintain().catch((err: unknown) => ctx.log.warn({ err }, 'partition upkeep failed')), 3_600_000);
  const sink = new CandleSink({ nats: ctx.nats!, ns: ctx.ns, store, log: ctx.log.child({ component: 'sink' }) });
  await sink.start();
  ctx.lifecycle.onShutdown('actors', 'pg-sink', async () => {
    clearInterval(upkeep);
    await sink.stop();
  });
  return sink;
}

/** Extension of the DESIGN.md CLI: the sink alone, for deployments that scale it separately. */
export function register(program: Command): void {
  program
    .command('sink')
    .description('write closed candles from MD_CANDLES to PostgreSQL (idempotent upsert)')
    .action(async () => {
      const ctx = await startProcess({ role: 'sink', needs: ['nats', 'pg'] });
      await runSink(ctx);
      await ctx.listen();
    });
}
