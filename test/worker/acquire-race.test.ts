import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWorkerConfig } from '../../actors/symbol/config.js';
import type { Ownership, OwnershipHandler, OwnershipView } from '../../actors/symbol/ownership.js';
import { SymbolWorker } from '../../actors/symbol/symbol-worker.js';
import { TradeCheck, tradeCheckConfig } from '../../actors/symbol/trade-check.js';
import { ensureMarketStreams, loadStreamsConfig } from '../../app/streams.js';
import { startProcess, type ProcessContext } from '../../runtime/process.js';
import { stateKey, type LiveState } from '../../schemas/state.js';
import { SnapshotStore } from '../../store/snapshots.js';
import { publishTrades, syntheticTrades } from '../exactly-once/pipeline.js';
import { isolated } from '../harness.js';
import { startNatsServer, until, type NatsServerProcess } from '../support/nats-server.js';

/**
 * A symbol lost while the worker is still setting it up (the lease gone during the join-point
 * read, a server call that takes seconds while a stream leader is elected) must not be set up:
 * `lost()` ran before there was anything to undo, so an actor, a route and a delivery filter set
 * up after it would live on for a key the worker no longer holds. NATS 2.10 (the join point is
 * read only for filtered delivery), Redis.
 */
const LOST = 'binance.S0-USDT';
const KEPT = 'binance.S1-USDT';

/** Holds KEPT throughout; holds LOST only until its first check (it is lost during the set-up). */
class LosingOwnership implements Ownership {
  readonly kind = 'group';
  handler: OwnershipHandler | null = null;
  private checks = 0;
  async start(handler: OwnershipHandler): Promise<void> {
    this.handler = handler;
  }
  observe(): void {}
  holds(key: string): boolean {
    if (key !== LOST) return true;
    return this.checks++ === 0;
  }
  fenced(): void {}
  view(): OwnershipView {
    return { worker: 'race', kind: 'group', members: ['race'], owned: [] };
  }
  async stop(): Promise<void> {}
}

describe('a symbol lost while its set-up awaits the join point is not set up (NATS 2.10, Redis)', () => {
  const iso = isolated();
  let server: NatsServerProcess;
  let ctx: ProcessContext | null = null;
  let worker: SymbolWorker | null = null;
  beforeAll(async () => {
    server = await startNatsServer({ version: '2.10' });
  }, 120_000);
  afterAll(async () => {
    await worker?.stop().catch(() => undefined);
    await ctx?.lifecycle.shutdown();
    await iso.cleanup();
    await server?.close();
  });

  it('acquired() answers false and nothing of the lost symbol runs; the kept one runs', async () => {
    const env = { ...iso.env, NATS_URL: server.url, TICKWORK_STATE_FLUSH_MS: '10' };
    ctx = await startProcess({ role: 'acquire-race', needs: ['nats', 'redis'], env, httpPort: 0, installSignalHandlers: false });
    await ensureMarketStreams(ctx.nats!.jsm, ctx.ns, loadStreamsConfig(env));
    const ownership = new LosingOwnership();
    worker = new SymbolWorker({
      nats: ctx.nats!,
      ns: ctx.ns,
      store: new SnapshotStore(ctx.redis!, ctx.ns),
      cfg: loadWorkerConfig(env),
      log: ctx.log,
      worker: 'race',
      shard: 'race',
      ownership,
      check: new TradeCheck(tradeCheckConfig()),
    });
    await worker.start();
    expect(worker.ownershipView().worker).toBe('race');
    expect(await ownership.handler!.acquired(KEPT, 1)).toBe(true);
    expect(await ownership.handler!.acquired(LOST, 1)).toBe(false);

    // A trade for each: the kept symbol's actor applies its own; nothing applies the lost one's.
    const trades = [...syntheticTrades(40, 2, 5)];
    const nats = ctx.nats!;
    await publishTrades({ ...iso, nats: async () => nats }, trades);
    const state = async (key: string): Promise<LiveState | null> => {
      const raw = await ctx!.redis!.get(ctx!.ns.key(stateKey('binance', key.slice('binance.'.length))));
      return raw ? (JSON.parse(raw) as LiveState) : null;
    };
    const kept = trades.filter((t) => `binance.${t.symbol}` === KEPT).length;
    await until('the kept symbol applied its trades', async () => ((await state(KEPT))?.tradesApplied === kept ? true : undefined), 30_000);
    expect(await state(LOST)).toBeNull();
  });
});
