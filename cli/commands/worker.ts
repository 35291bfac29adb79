import { hostname } from 'node:os';
import type { Command } from 'commander';
import { loadWorkerConfig, type WorkerConfig } from '../../actors/symbol/config.js';
import { sessionsFromJson } from '../../actors/symbol/sessions.js';
import { ShardWorker } from '../../actors/symbol/shard-worker.js';
import { ensureMarketStreams } from '../../actors/streams.js';
import { ConfigError } from '../../runtime/errors.js';
import { startProcess, type ProcessContext } from '../../runtime/process.js';
import { SnapshotStore } from '../../store/snapshots.js';

/** Starts this process's symbol-actor shard and registers its drain in the shutdown. */
export async function runWorker(ctx: ProcessContext, cfg: WorkerConfig): Promise<ShardWorker> {
  await ensureMarketStreams(ctx.nats!.jsm, ctx.ns);
  let sessions;
  try {
    sessions = sessionsFromJson(cfg.TICKWORK_SESSIONS);
  } catch (err) {
    throw new ConfigError('TICKWORK_SESSIONS', (err as Error).message);
  }
  const worker = new ShardWorker({
    nats: ctx.nats!,
    ns: ctx.ns,
    store: new SnapshotStore(ctx.redis!, ctx.ns),
    cfg,
    log: ctx.log.child({ shard: cfg.TICKWORK_SHARD }),
    worker: `${hostname()}:${process.pid}#${cfg.TICKWORK_SHARD}`,
    sessions,
    onEscalate: (err) => {
      ctx.log.fatal({ err }, 'symbol actors gave up; exiting');
      ctx.lifecycle.shutdown().finally(() => process.exit(1));
    },
  });
  await worker.start();
  ctx.lifecycle.onShutdown('actors', 'symbol-actors', () => worker.stop());
  return worker;
}

export function register(program: Command): void {
  program
    .command('worker')
    .description('run symbol actors: candles, VWAPs and snapshots for one shard of venue+symbol pairs')
    .option('--shard <i/N>', 'this worker owns the symbols whose hash mod N is i', '0/1')
    .action(async (opts: { shard: string }) => {
      const env = { ...process.env, TICKWORK_SHARD: process.env.TICKWORK_SHARD && opts.shard === '0/1' ? process.env.TICKWORK_SHARD : opts.shard };
      const cfg = loadWorkerConfig(env);
      const ctx = await startProcess({ role: 'worker', needs: ['nats', 'redis'], env });
      await runWorker(ctx, cfg);
      await ctx.listen();
    });
}
