import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { loadWorkerConfig, parseShard, type WorkerConfig } from '../actors/symbol/config.js';
import { StaticOwnership, type Ownership } from '../actors/symbol/ownership.js';
import { sessionsFromJson } from '../actors/symbol/sessions.js';
import { SymbolWorker } from '../actors/symbol/symbol-worker.js';
import { TradeCheck, tradeCheckConfig } from '../actors/symbol/trade-check.js';
import { WorkerGroup } from '../actors/symbol/worker-group.js';
import { connectNats } from '../runtime/nats/index.js';
import type { ProcessContext } from '../runtime/process.js';
import { WorkerOwnership } from '../schemas/state.js';
import { groupBucket, NatsGroupStore } from '../store/group-kv.js';
import { SnapshotStore } from '../store/snapshots.js';
import { TRADE_ID_RULES } from '../venues/trade-ids.js';
import { runRole } from './role.js';
import { loadStreamsConfig } from './streams.js';

/** `group`: join the worker group (leases on NATS KV); `static`: the shard of TICKWORK_SHARD. */
export type WorkerMode = 'group' | 'static';

/**
 * This process's symbol actors (streams ensured before): their ownership (static shard or worker
 * group), `GET /v1/ownership`, and their drain registered in the shutdown.
 */
export async function startWorker(ctx: ProcessContext, cfg: WorkerConfig, mode: WorkerMode = 'static', env: NodeJS.ProcessEnv = process.env): Promise<SymbolWorker> {
  const base = hostname().replace(/[^-_=a-zA-Z0-9]/g, '-').slice(0, 40);
  let ownership: Ownership;
  let id: string;
  let shard: string;
  if (mode === 'group') {
    id = `${base}-${process.pid}-${randomBytes(3).toString('hex')}`;
    shard = 'group';
    // The group's heartbeats, lease writes and watch go over a connection of their own. On the data
    // connection they queued behind catch-up reads (8 consumers × 4,000 trades in flight): with both
    // cores busy, heartbeat PubAcks came back after more than TTL − margin (3 s lease), the worker
    // dropped every lease every 10–20 s and re-read the symbols' past each time.
    const groupLog = ctx.log.child({ component: 'worker-group' });
    const control = await connectNats(ctx.config.NATS_URL, 'tickwork-worker-group', groupLog, { env });
    ctx.lifecycle.onShutdown('connections', 'nats-group', async () => {
      if (!control.nc.isClosed()) await control.nc.drain();
    });
    const store = await NatsGroupStore.open(control, groupBucket(ctx.ns), loadStreamsConfig(env).TICKWORK_STREAM_REPLICAS);
    ownership = new WorkerGroup({ id, store, ttlMs: cfg.TICKWORK_LEASE_TTL_MS, log: groupLog });
  } else {
    const s = parseShard(cfg.TICKWORK_SHARD);
    id = `${base}-${process.pid}-s${s.index}of${s.count}`;
    shard = `${s.index}-${s.count}`;
    ownership = new StaticOwnership(id, s);
  }
  const store = new SnapshotStore(ctx.redis!, ctx.ns);
  await store.nameConnection(`tickwork-worker-${id}`);
  const worker = new SymbolWorker({
    nats: ctx.nats!,
    ns: ctx.ns,
    store,
    cfg,
    log: ctx.log.child({ worker: id }),
    worker: id,
    shard,
    ownership,
    check: new TradeCheck(tradeCheckConfig({ idRules: TRADE_ID_RULES })),
    sessions: sessionsFromJson(cfg.TICKWORK_SESSIONS),
    onEscalate: (err) => {
      ctx.log.fatal({ err }, 'symbol actors gave up; exiting');
      ctx.lifecycle.shutdown().finally(() => process.exit(1));
    },
  });
  ctx.http.get('/v1/ownership', { schema: { response: { 200: WorkerOwnership } } }, async () => worker.ownershipView());
  await worker.start();
  ctx.lifecycle.onShutdown('actors', 'symbol-actors', () => worker.stop());
  return worker;
}

/** `tickwork worker [--shard i/N]`: the worker group, or one static shard when a shard is given (flag or TICKWORK_SHARD). */
export async function runWorker(opts: { shard?: string }, base: NodeJS.ProcessEnv = process.env): Promise<void> {
  const env = { ...base, ...(opts.shard ? { TICKWORK_SHARD: opts.shard } : {}) };
  const cfg = loadWorkerConfig(env);
  const mode: WorkerMode = env.TICKWORK_SHARD ? 'static' : 'group';
  await runRole('worker', ['nats', 'redis'], env, (ctx) => startWorker(ctx, cfg, mode, env));
}
