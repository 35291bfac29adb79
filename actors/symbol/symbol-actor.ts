import type { ActorContext, Behavior } from '../../runtime/actor/index.js';
import { counter, histogram } from '../../runtime/metrics.js';
import { candleMsgId, type Candle } from '../../schemas/candle.js';
import type { LiveState } from '../../schemas/state.js';
import type { Trade } from '../../schemas/trade.js';
import type { SnapshotStore, SymbolSnapshot } from '../../store/snapshots.js';
import { SymbolWindows, type WindowsConfig, type WindowsSnapshot } from '../windows/index.js';
import { TradeGuard, type TradeGuardSnapshot } from './trade-guard.js';

export type SymbolMsg = { t: 'trade'; seq: number; trade: Trade } | { t: 'tick'; now: number } | { t: 'flush' };

const m = {
  applied: counter({ name: 'tickwork_symbol_trades_applied_total', help: 'Trades applied to windows', labelNames: ['shard'] as const }),
  dupSeq: counter({ name: 'tickwork_symbol_duplicates_skipped_total', help: 'Trades skipped as already applied', labelNames: ['shard', 'by'] as const }),
  late: counter({ name: 'tickwork_symbol_late_trades_total', help: 'Trades older than an open bar (applied as corrections or dropped)', labelNames: ['shard'] as const }),
  failed: counter({ name: 'tickwork_symbol_apply_failures_total', help: 'Trades sent to the DLQ after failing to apply', labelNames: ['shard'] as const }),
  rebuilds: counter({ name: 'tickwork_symbol_rebuilds_total', help: 'Symbols rebuilt from MD_TRADES because their snapshot was missing', labelNames: ['shard'] as const }),
  snapshot: histogram({ name: 'tickwork_symbol_snapshot_seconds', help: 'Snapshot duration (candle acks + Redis MULTI)', labelNames: ['shard'] as const, buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] }),
};

/** What a symbol actor needs from its shard: outputs and bookkeeping, no NATS or Redis details. */
export interface SymbolActorPorts {
  shard: string;
  worker: string;
  store: SnapshotStore;
  windowsConfig: WindowsConfig;
  /** Publishes a closed candle (or correction) with its Nats-Msg-Id; resolves when stored in MD_CANDLES. */
  publishCandle(c: Candle, msgId: string): Promise<unknown>;
  /** Open-candle update for live views (fire and forget). */
  publishLive(c: Candle): void;
  /** A trade that cannot be applied. */
  deadLetter(seq: number, trade: unknown, reason: string): Promise<void>;
  /** Everything up to `seq` of this symbol is in its snapshot. */
  snapshotted(seq: number): void;
  /**
   * Present when trades of this symbol may precede the first one delivered to this actor (the
   * shard resumed from a checkpoint, or the actor was passivated): the symbol's trades in
   * MD_TRADES before `beforeSeq`, in order.
   */
  history?: (beforeSeq: number) => AsyncIterable<{ seq: number; trade: Trade }>;
  timing: { graceMs: number; snapshotEveryTrades: number; snapshotEveryMs: number; stateFlushMs: number; liveCandleMs: number; applyAttempts: number };
}

/**
 * One venue+symbol: applies its trades in stream order exactly once (skips sequences at or below
 * its snapshot and trade ids already seen), keeps candle and VWAP windows, publishes closed
 * candles, writes live state, and snapshots state + sequence atomically.
 */
export class SymbolActor implements Behavior<SymbolMsg> {
  private windows!: SymbolWindows<Trade>;
  private guard!: TradeGuard;
  private seq = 0;
  private sinceSnapshot = 0;
  /** Staggered so actors started together do not all snapshot on the same tick. */
  private lastSnapshotAt = Date.now() - Math.random() * 1000;
  private stateDirty = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private lastLiveAt = 0;
  private candleAcks: Promise<unknown>[] = [];
  private applied = 0;
  /** Wall clock when the last trade was applied (or the actor started). */
  private lastAppliedAt = Date.now();
  /** Per timeframe, the latest openTime closed so far: an emission at or before it is a correction. */
  private closedUpTo: Record<string, number> = {};
  /** No snapshot was found: rebuild from the stream before the first trade (Redis lost it). */
  private rebuild = false;

  constructor(
    private readonly venue: string,
    private readonly symbol: string,
    private readonly ports: SymbolActorPorts,
  ) {}

  async preStart(): Promise<void> {
    const snap = await this.ports.store.load<WindowsSnapshot<Trade>>(this.venue, this.symbol);
    if (snap) {
      this.windows = SymbolWindows.fromSnapshot<Trade>(snap.windows);
      this.guard = TradeGuard.fromSnapshot(snap.guard as TradeGuardSnapshot);
      this.seq = snap.seq;
      this.applied = snap.windows.stats.applied;
      this.closedUpTo = snap.closedUpTo ?? {};
    } else {
      this.windows = new SymbolWindows<Trade>({ ...this.ports.windowsConfig, venue: this.venue, symbol: this.symbol });
      this.guard = new TradeGuard();
      this.rebuild = this.ports.history !== undefined;
    }
  }

  async receive(msg: SymbolMsg, ctx: ActorContext<SymbolMsg>): Promise<void> {
    if (msg.t === 'trade') return this.onTrade(msg.seq, msg.trade, ctx);
    if (msg.t === 'tick') {
      // Event time moves on with processing time since the last trade: a quiet live symbol closes
      // its bar after the interval + grace, and a replay of old data does not jump to today.
      const last = this.windows.lastTrade;
      if (last) this.windows.advance(last.ts + (msg.now - this.lastAppliedAt) - this.ports.timing.graceMs);
      this.emitClosed();
      if (this.sinceSnapshot > 0 && Date.now() - this.lastSnapshotAt >= this.ports.timing.snapshotEveryMs) await this.snapshot();
      return;
    }
    this.flushTimer = null;
    await this.flushState();
  }

  async postStop(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.windows && (this.sinceSnapshot > 0 || this.stateDirty)) await this.snapshot();
  }

  private async onTrade(seq: number, trade: Trade, ctx: ActorContext<SymbolMsg>): Promise<void> {
    if (this.rebuild && this.ports.history) {
      this.rebuild = false;
      m.rebuilds.inc({ shard: this.ports.shard });
      let n = 0;
      for await (const h of this.ports.history(seq)) {
        await this.applyTrade(h.seq, h.trade, ctx);
        n++;
      }
      if (n > 0) ctx.log.warn({ trades: n, beforeSeq: seq }, 'snapshot missing: rebuilt from MD_TRADES');
    }
    return this.applyTrade(seq, trade, ctx);
  }

  private async applyTrade(seq: number, trade: Trade, ctx: ActorContext<SymbolMsg>): Promise<void> {
    const { shard } = this.ports;
    if (seq <= this.seq) {
      m.dupSeq.inc({ shard, by: 'seq' });
      // Re-read after a restart and already in the snapshot: say so, or the shard checkpoint would
      // wait for a snapshot this symbol has no reason to write. (Unsnapshotted state reports later.)
      if (this.sinceSnapshot === 0) this.ports.snapshotted(this.seq);
      return;
    }
    this.seq = seq;
    this.sinceSnapshot++;
    if (this.guard.seen(trade.id)) {
      m.dupSeq.inc({ shard, by: 'trade-id' });
      return;
    }
    const lateBefore = this.windows.stats.late;
    let attempt = 0;
    for (;;) {
      try {
        this.windows.apply(trade);
        break;
      } catch (err) {
        if (++attempt >= this.ports.timing.applyAttempts) {
          m.failed.inc({ shard });
          ctx.log.error({ seq, tradeId: trade.id, err }, 'trade failed to apply; sent to DLQ');
          await this.ports.deadLetter(seq, trade, `apply failed: ${(err as Error).message}`);
          return;
        }
      }
    }
    this.applied++;
    this.lastAppliedAt = Date.now();
    m.applied.inc({ shard });
    if (this.windows.stats.late !== lateBefore) m.late.inc({ shard });
    this.emitClosed();
    this.stateDirty = true;
    if (this.sinceSnapshot >= this.ports.timing.snapshotEveryTrades) await this.snapshot();
    else if (!this.flushTimer) {
      const self = ctx.self;
      this.flushTimer = setTimeout(() => self.trySend({ t: 'flush' }), this.ports.timing.stateFlushMs);
    }
  }

  private emitClosed(): void {
    const closed = this.windows.drainClosed();
    for (const c of closed) {
      const upTo = this.closedUpTo[c.tf];
      let id = candleMsgId(c);
      // A correction is a new revision of a stored candle: a content-derived suffix lets JetStream
      // store it (the plain id would be dropped as a duplicate) and a replay re-derives the same id.
      if (upTo !== undefined && c.openTime <= upTo) id += `:r${revisionHash(c)}`;
      else this.closedUpTo[c.tf] = c.openTime;
      this.candleAcks.push(this.ports.publishCandle(c, id));
    }
    if (closed.length) this.stateDirty = true;
  }

  private liveState(): LiveState {
    const candles: Record<string, ReturnType<SymbolWindows['openCandles']>[number]> = {};
    for (const c of this.windows.openCandles()) candles[c.tf] = c;
    return {
      venue: this.venue,
      symbol: this.symbol,
      lastTrade: this.windows.lastTrade,
      candles,
      vwap: this.windows.vwaps(),
      lastSeq: this.seq,
      tradesApplied: this.applied,
      updatedAt: Date.now(),
      worker: this.ports.worker,
    };
  }

  private async flushState(): Promise<void> {
    if (!this.stateDirty) return;
    this.stateDirty = false;
    const state = this.liveState();
    const now = Date.now();
    if (now - this.lastLiveAt >= this.ports.timing.liveCandleMs) {
      this.lastLiveAt = now;
      for (const c of Object.values(state.candles)) this.ports.publishLive(c);
    }
    await this.ports.store.saveState(this.venue, this.symbol, state);
  }

  /** Closed candles must be stored before the snapshot that moved past them. */
  private async snapshot(): Promise<void> {
    const end = m.snapshot.startTimer({ shard: this.ports.shard });
    const acks = this.candleAcks;
    this.candleAcks = [];
    await Promise.all(acks);
    const snap: SymbolSnapshot<WindowsSnapshot<Trade>> = {
      v: 1,
      seq: this.seq,
      windows: this.windows.toSnapshot(),
      guard: this.guard.toSnapshot(),
      closedUpTo: this.closedUpTo,
      savedAt: Date.now(),
    };
    await this.ports.store.save(this.venue, this.symbol, snap, this.liveState());
    this.stateDirty = false;
    this.sinceSnapshot = 0;
    this.lastSnapshotAt = Date.now();
    this.ports.snapshotted(this.seq);
    end();
  }
}

/** FNV-1a over the candle's values: equal content, equal revision id. */
function revisionHash(c: Candle): string {
  const s = `${c.open}|${c.high}|${c.low}|${c.close}|${c.volume}|${c.quoteVolume}|${c.buyVolume}|${c.trades}|${c.lastTradeId}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}
