import { afterAll, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../../actors/symbol/config.js';
import type { Ownership, OwnershipHandler, OwnershipView } from '../../actors/symbol/ownership.js';
import { SymbolWorker, WORKER_HEADER } from '../../actors/symbol/symbol-worker.js';
import { TradeCheck, tradeCheckConfig } from '../../actors/symbol/trade-check.js';
import { groupBucket } from '../../app/nats-auth.js';
import { ensureMarketStreams, loadStreamsConfig } from '../../app/streams.js';
import { startWorker } from '../../app/worker.js';
import { registry } from '../../runtime/metrics.js';
import { startProcess, type ProcessContext } from '../../runtime/process.js';
import { stateKey, type LiveState } from '../../schemas/state.js';
import { candleSubject, STREAMS } from '../../schemas/subjects.js';
import { NatsGroupStore } from '../../store/group-kv.js';
import { SnapshotStore } from '../../store/snapshots.js';
import { publishTrades, syntheticTrades } from '../exactly-once/pipeline.js';
import { isolated } from '../harness.js';
import { until } from '../support/nats-server.js';

// Issue 11 item 1 (fencing), with the in-process lease check taken out: a worker that still
// believes it owns its symbols keeps applying trades and writing after another worker took them
// over. The fences alone must refuse it: the Lua script at Redis (fence:<venue>:<SYMBOL>) and
// Nats-Expected-Last-Subject-Sequence at JetStream. Real NATS JetStream and Redis, both workers in
// this process on their own connections.

const SYMBOLS = 4;
const N = Number(process.env.TICKWORK_FENCE_TRADES ?? 6_000);
const symbols = Array.from({ length: SYMBOLS }, (_, k) => `S${k}-USDT`);
const keys = symbols.map((s) => `binance.${s}`);

/**
 * The test port: an owner that took its leases in the real bucket and never learns it lost them
 * (no heartbeat, no watch, holds() always true), as a worker paused past its TTL whose own lease
 * check is disabled.
 */
class OblivionOwnership implements Ownership {
  readonly kind = 'group';
  private handler: OwnershipHandler | null = null;
  readonly tokens = new Map<string, number>();
  constructor(
    private readonly store: NatsGroupStore,
    readonly id: string,
  ) {}
  async start(handler: OwnershipHandler): Promise<void> {
    this.handler = handler;
    for (const key of keys) {
      const token = await this.store.create(`l.${key}`, JSON.stringify({ owner: this.id }));
      if (token === null) throw new Error(`lease ${key} taken`);
      this.tokens.set(key, token);
      expect(await handler.acquired(key, token)).toBe(true);
    }
  }
  observe(): void {}
  holds(): boolean {
    return true;
  }
  fenced(): void {}
  view(): OwnershipView {
    return { worker: this.id, kind: 'group', members: [this.id], owned: [...this.tokens].map(([key, token]) => ({ key, token, since: 0 })) };
  }
  async stop(): Promise<void> {
    for (const key of this.tokens.keys()) await this.handler?.release(key);
  }
}

const counterValue = async (name: string, labels: Record<string, string>): Promise<number> => {
  const m = await registry.getSingleMetric(name)?.get();
  return (m?.values ?? []).filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);
};

describe('fences alone refuse a stale writer (in-process lease check off; real NATS, Redis)', () => {
  const iso = isolated();
  const env = { ...iso.env, TICKWORK_TIMEFRAMES: '1m,5m', TICKWORK_GRACE_MS: String(1e12), TICKWORK_STATE_FLUSH_MS: '1', TICKWORK_SNAPSHOT_EVERY_MS: '100', TICKWORK_LEASE_TTL_MS: '5000' };
  const contexts: ProcessContext[] = [];
  let stale: SymbolWorker | null = null;
  afterAll(async () => {
    await stale?.stop().catch(() => undefined);
    for (const c of contexts) await c.lifecycle.shutdown();
    await iso.cleanup();
  });

  it('Redis scripts and JetStream expected sequences refuse every write of the former owner after the takeover', async () => {
    const all = [...syntheticTrades(2 * N, SYMBOLS, 3)];
    expect((await publishTrades(iso, all.slice(0, N))).stored).toBe(N);
    const cfg = loadWorkerConfig(env);

    // A: takes the leases, applies the first half, then never hears of the group again.
    const ctxA = await startProcess({ role: 'stale-worker', needs: ['nats', 'redis'], env, httpPort: 0, installSignalHandlers: false });
    contexts.push(ctxA);
    await ensureMarketStreams(ctxA.nats!.jsm, ctxA.ns, loadStreamsConfig(env));
    const bucket = await NatsGroupStore.open(ctxA.nats!, groupBucket(ctxA.ns), 1);
    const oblivious = new OblivionOwnership(bucket, 'stale-a');
    stale = new SymbolWorker({
      nats: ctxA.nats!,
      ns: ctxA.ns,
      store: new SnapshotStore(ctxA.redis!, ctxA.ns),
      cfg,
      log: ctxA.log,
      worker: 'stale-a',
      shard: 'stale',
      ownership: oblivious,
      check: new TradeCheck(tradeCheckConfig()),
      inProcessFence: false,
    });
    await stale.start();
    const applied = async () => {
      const raws = await iso.redis().mget(...symbols.map((s) => iso.ns.key(stateKey('binance', s))));
      return raws.map((r) => (r ? (JSON.parse(r) as LiveState) : null));
    };
    await until('A applied the first half', async () => (await applied()).reduce((n, s) => n + (s?.tradesApplied ?? 0), 0) === N, 120_000);

    // B: a real group member; A's leases name no live member, so B takes them, raising the fences.
    const ctxB = await startProcess({ role: 'new-owner', needs: ['nats', 'redis'], env, httpPort: 0, installSignalHandlers: false });
    contexts.push(ctxB);
    const owner = await startWorker(ctxB, cfg, 'group', env);
    const b = await until('B owns every symbol, caught up', () => {
      const v = owner.ownershipView();
      return v.owned.length === SYMBOLS && v.owned.every((o) => o.ready) ? v : undefined;
    });
    for (const o of b.owned) expect(o.token).toBeGreaterThan(oblivious.tokens.get(`${o.venue}.${o.symbol}`)!);
    const candles = ctxB.ns.stream(STREAMS.candles);
    const nats = await iso.nats();
    const fenceSeq = new Map<string, number>();
    for (const s of symbols) for (const tf of ['1m', '5m']) {
      const subject = iso.ns.subject(candleSubject(tf, 'binance', s));
      fenceSeq.set(subject, (await nats.jsm.streams.getMessage(candles, { last_by_subj: subject }))?.seq ?? 0);
    }

    // Both read the second half; A applies it too and tries to write everything it computes.
    expect((await publishTrades(iso, all.slice(N))).stored).toBe(N);
    await until(
      'B applied everything',
      async () => {
        const st = await applied();
        return st.every((s) => s?.worker === b.worker) && st.reduce((n, s) => n + (s?.tradesApplied ?? 0), 0) === 2 * N;
      },
      120_000,
    );
    await until('A was refused at Redis and at JetStream', async () => {
      const redis = await counterValue('tickwork_worker_fenced_writes_total', { worker: 'stale-a', target: 'redis', stage: 'server' });
      const js = await counterValue('tickwork_worker_fenced_writes_total', { worker: 'stale-a', target: 'jetstream', stage: 'server' });
      return redis > 0 && js > 0;
    }, 60_000);
    await new Promise((r) => setTimeout(r, 1_000)); // whatever A still had in flight lands (or not) by now

    // Redis: live states and snapshots are B's, fences hold B's tokens.
    for (const st of await applied()) expect(st!.worker).toBe(b.worker);
    // (B may have lost and re-taken its leases meanwhile on a loaded machine: its tokens as of now.)
    const now = owner.ownershipView();
    for (const o of now.owned) {
      const fence = Number(await iso.redis().get(iso.ns.key(`fence:${o.venue}:${o.symbol}`)));
      expect(fence).toBe(o.token);
    }
    // JetStream: after B's fence, every message on those candle subjects is B's.
    for (const [subject, from] of fenceSeq) {
      const info = await nats.jsm.streams.info(candles, { subjects_filter: subject });
      for (let seq = from; seq <= info.state.last_seq; seq++) {
        const m = await nats.jsm.streams.getMessage(candles, { seq }).catch(() => null);
        if (m && m.subject === subject) expect(m.header.get(WORKER_HEADER), `${subject}@${seq}`).toBe(b.worker);
      }
    }
    // Neither refusal took the stale worker down: it still believes, and still runs.
    expect(stale.symbols.sort()).toEqual([...keys].sort());
  }, 300_000);
});
