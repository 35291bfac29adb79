import type { ActorContext, Behavior } from '../../runtime/actor/index.js';
import { TickworkError } from '../../runtime/errors.js';
import { counter, histogram } from '../../runtime/metrics.js';
import { tracing, type TraceParent, type TraceSpan } from '../../runtime/tracing.js';
import { candleMsgId, candleRevision, type Candle } from '../../schemas/candle.js';
import { TF_MS } from '../../schemas/common.js';
import type { Trade } from '../../schemas/trade.js';
import type { SymbolSnapshot } from '../../store/snapshots.js';
import { SessionCalendar, SymbolWindows, UTC_CALENDAR, WindowsError, type Bar, type BarCalendar, type WindowsConfig, type WindowsSnapshot } from '../windows/index.js';
import type { TradeCheck } from './trade-check.js';
import { TradeGuard, type LegacyTradeGuardSnapshot, type TradeGuardSnapshot } from './trade-guard.js';

/**
 * `step`: the actor's own message while it crosses a long gap in event time, one bounded step per turn.
 * A trade's `trace`: the context of a sampled trade (its NATS headers), present only while tracing is on.
 */
export type SymbolMsg = { t: 'trade'; seq: number; trade: Trade; trace?: TraceParent } | { t: 'tick'; now: number } | { t: 'step' };

/** A trade of the symbol's subject read back from MD_TRADES (catch-up). */
export interface StoredTrade {
  seq: number;
  trade: Trade;
}

const m = {
  applied: counter({ name: 'tickwork_symbol_trades_applied_total', help: 'Trades applied to windows', labelNames: ['shard'] as const }),
  dupSeq: counter({ name: 'tickwork_symbol_duplicates_skipped_total', help: 'Trades skipped as already applied', labelNames: ['shard', 'by'] as const }),
  late: counter({ name: 'tickwork_symbol_late_trades_total', help: 'Trades older than an open bar (applied as corrections or dropped)', labelNames: ['shard'] as const }),
  rejected: counter({ name: 'tickwork_symbol_rejected_total', help: 'Trades refused by the symbol actor and dead-lettered, by reason', labelNames: ['shard', 'reason'] as const }),
  failed: counter({ name: 'tickwork_symbol_apply_failures_total', help: 'Trades the window kernel refused (dead-lettered)', labelNames: ['shard'] as const }),
  rebuilds: counter({ name: 'tickwork_symbol_rebuilds_total', help: 'Symbols rebuilt from MD_TRADES because their snapshot was missing or invalid', labelNames: ['shard', 'reason'] as const }),
  caughtUp: counter({ name: 'tickwork_symbol_catchup_trades_total', help: 'Trades read back from MD_TRADES when an actor started (snapshot to the end of its subject)', labelNames: ['shard'] as const }),
  gapSteps: counter({ name: 'tickwork_symbol_gap_steps_total', help: 'Bounded steps of event time across long gaps (one per mailbox turn)', labelNames: ['shard'] as const }),
  snapshot: histogram({ name: 'tickwork_symbol_snapshot_seconds', help: 'Snapshot duration (candle acks + fenced Redis write)', labelNames: ['shard'] as const, buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] }),
};

/** What the symbol actor needs of its worker: outputs, its read of MD_TRADES and its lease; no NATS or Redis details. */
export interface SymbolActorPorts {
  /** Metric label. */
  shard: string;
  /** This worker's name (live state, /v1/symbols). */
  worker: string;
  /** Snapshot storage; `save` is fenced by `token` and resolves false when a newer owner's fence refused it. */
  store: {
    load<W>(venue: string, symbol: string): Promise<SymbolSnapshot<W> | null>;
    save(venue: string, symbol: string, token: number | null, json: string): Promise<boolean>;
  };
  /** The lease's fencing token (null: static shards, unfenced). */
  token: number | null;
  windowsConfig: WindowsConfig;
  /** Semantic check of bus trades (the bus is not trusted). */
  check: TradeCheck;
  /**
   * A closed candle (or correction) with its Nats-Msg-Id and revision; resolves once stored or
   * refused by a fence. `trace`: the span of a sampled trade the candle holds, to continue.
   */
  publishCandle(c: Candle, msgId: string, revision: string, trace?: TraceParent): Promise<unknown>;
  /** Open-candle update for live views (fire and forget). */
  publishLive(c: Candle): void;
  /** A refused trade, to md.dlq.<venue> with its reason; resolves once stored. */
  deadLetter(seq: number, trade: Trade, reason: string, detail: string): Promise<unknown>;
  /** Tells the live-state writer this symbol has something new to write. */
  liveChanged(source: SymbolActor): void;
  /** The symbol's trades in MD_TRADES after `afterSeq`, up to the end of its subject as of the call. */
  history(afterSeq: number): AsyncIterable<readonly StoredTrade[]>;
  /** In-process lease check before any write: still this symbol's owner with `token`. */
  holds(): boolean;
  /** A write of ours was refused by a fence (a newer owner): the symbol is lost. */
  fenced(target: 'redis' | 'jetstream'): void;
  /** The actor has caught up (snapshot + MD_TRADES) and applies live trades. */
  ready(): void;
  /** Wall clock (ms). */
  now(): number;
  /** `historicalAfterMs`: see HISTORICAL_AFTER_MS (its default). */
  timing: { graceMs: number; snapshotEveryTrades: number; snapshotEveryMs: number; liveCandleMs: number; historicalAfterMs?: number };
}

/**
 * A symbol whose last trade was applied more than this after its own time (a replay, old data
 * caught up after a restart) is historical: the clock closes the smallest bar holding its last
 * trade and no more, so a finished replay does not write empty bars at wall-clock pace.
 */
export const HISTORICAL_AFTER_MS = 3_600_000;

/** Closed candles awaiting their PubAck shown in the live state at most (the oldest give way). */
const MAX_PENDING = 64;

/**
 * One venue+symbol: applies its trades exactly once in stream order, keeps candle and VWAP
 * windows, publishes closed candles, and snapshots state + stream sequence.
 *
 * - Starting (process start, takeover, restart, passivation) is one path: load the snapshot
 *   (sequence s, or none, or an invalid one = none) and read the symbol's subject of MD_TRADES
 *   from s+1 to its end before any live trade; live trades at or below what it has are skipped
 *   by sequence. Nothing is skipped because a checkpoint or memory said so.
 * - A trade is applied synchronously: sequence check, semantic check (rejects dead-lettered with
 *   their reason), exact trade-id guard, window kernel. Snapshots run in the background, at
 *   most one at a time, and only awaits in postStop.
 * - A long real gap in event time is crossed in bounded steps, one per mailbox turn, with the
 *   trades behind it held in order; nothing a single message does is unbounded.
 */
export class SymbolActor implements Behavior<SymbolMsg> {
  private windows!: SymbolWindows<Trade>;
  private guard!: TradeGuard;
  /** Last MD_TRADES sequence consumed (applied, rejected or a duplicate). */
  private seq = 0;
  private sinceSnapshot = 0;
  private lastSnapshotAt: number;
  /** Candle and dead-letter acknowledgements a snapshot must wait for. */
  private outputs: Promise<unknown>[] = [];
  /** Closed candles whose publish is not acknowledged yet, in emission order (live state `pending`). */
  private readonly unacked = new Set<Candle>();
  /** The last state collected listed unacknowledged candles: once all are acknowledged it is written again without them. */
  private pendingShown = false;
  private snapshotting: Promise<void> | null = null;
  private applied = 0;
  /** Wall clock when the last trade was applied (or the actor started): ticks move event time from it. */
  private lastAppliedAt: number;
  /** Per timeframe, the latest openTime closed so far: an emission at or before it is a correction. */
  private closedUpTo: Record<string, number> = {};
  /** A trade waiting for event time to reach it in bounded steps, and the trades behind it. */
  private stepping: StoredTrade | null = null;
  private readonly backlog: StoredTrade[] = [];
  private ctx: ActorContext<SymbolMsg> | null = null;
  /** Bars of the symbol's calendar (sessions or UTC), for where a historical symbol's data ends. */
  private calendar: BarCalendar | null = null;
  private readonly bar: Bar = { start: 0, end: 0 };
  // live state
  private dirty = false;
  /** recvTs of the first trade since the live state was last collected (end-to-end latency). */
  private dirtyRecvTs = 0;
  private lastLiveAt = 0;
  /** The apply span of a sampled trade since the last close: the next closed candles continue its trace. */
  private candleTrace: TraceSpan | null = null;

  constructor(
    readonly venue: string,
    readonly symbol: string,
    private readonly ports: SymbolActorPorts,
  ) {
    const now = ports.now();
    // Staggered so actors started together do not all snapshot on the same tick.
    this.lastSnapshotAt = now - Math.random() * ports.timing.snapshotEveryMs;
    this.lastAppliedAt = now;
  }

  get token(): number | null {
    return this.ports.token;
  }

  async preStart(ctx: ActorContext<SymbolMsg>): Promise<void> {
    this.ctx = ctx;
    await this.restore(ctx);
    ctx.log.debug({ seq: this.seq, applied: this.applied, token: this.ports.token }, 'symbol actor starting from its snapshot');
    let caught = 0;
    for await (const batch of this.ports.history(this.seq)) {
      for (const t of batch) {
        this.applyTrade(t.seq, t.trade);
        // A gap inside the catch-up: crossed step by step, yielding between steps as the live path does between turns.
        while (this.stepping !== null) {
          this.step();
          await new Promise((r) => setImmediate(r));
        }
      }
      caught += batch.length;
      // Lost meanwhile (lease gone): the rest is the new owner's.
      if (!this.ports.holds()) return;
    }
    if (caught > 0) {
      m.caughtUp.inc({ shard: this.ports.shard }, caught);
      ctx.log.debug({ trades: caught, seq: this.seq }, 'caught up from MD_TRADES');
      this.snapshot();
    }
    this.lastAppliedAt = this.ports.now();
    // The live state in Redis may be older than the snapshot (written apart, or restored stale).
    this.markDirty(0);
    this.ports.ready();
  }

  receive(msg: SymbolMsg): void {
    if (msg.t === 'trade') {
      if (msg.trace !== undefined) {
        this.receiveTraced(msg);
        return;
      }
      if (this.stepping !== null) this.backlog.push({ seq: msg.seq, trade: msg.trade });
      else {
        this.applyTrade(msg.seq, msg.trade);
        if (this.stepping !== null) this.requestStep();
      }
      if (this.sinceSnapshot >= this.ports.timing.snapshotEveryTrades) this.snapshot();
    } else if (msg.t === 'step') {
      if (!this.step()) this.requestStep();
    } else this.tick(msg.now);
  }

  /** A sampled trade: applied inside a span that continues the feed's trace; the candle holding it continues this one. */
  private receiveTraced(msg: { t: 'trade'; seq: number; trade: Trade; trace?: TraceParent }): void {
    const span = tracing.tracer?.child('worker apply trade', msg.trace!, {
      role: 'consumer',
      attributes: { 'tickwork.venue': this.venue, 'tickwork.symbol': this.symbol, 'tickwork.trade_id': msg.trade.id, 'tickwork.seq': msg.seq },
    });
    const applied = this.applied;
    this.receive({ t: 'trade', seq: msg.seq, trade: msg.trade });
    if (span == null) return;
    span.end();
    // Applied (not a duplicate or a reject, not held behind a gap): its bar closes next.
    if (this.applied !== applied) this.candleTrace ??= span;
  }

  async postStop(): Promise<void> {
    if (this.windows === undefined) return;
    await this.snapshotting;
    // A gap not yet crossed: its trade is not in the windows, so no snapshot may claim its sequence;
    // the next start reads it again from MD_TRADES.
    if (this.stepping === null && this.sinceSnapshot > 0) await this.snapshot();
    else await Promise.allSettled(this.outputs);
  }

  // ---- live state (read by the worker's writer between turns) ---------------------------------

  /** The live state as JSON for the writer (publishing open candles at most every liveCandleMs); null before the state exists. */
  collectLive(now: number): { json: string; recvTs: number } | null {
    if (this.windows === undefined) return null;
    this.dirty = false;
    this.pendingShown = this.unacked.size > 0;
    if (now - this.lastLiveAt >= this.ports.timing.liveCandleMs && this.ports.holds()) {
      this.lastLiveAt = now;
      for (const c of this.windows.openCandles()) this.ports.publishLive(c);
    }
    return { json: this.liveStateJson(now), recvTs: this.dirtyRecvTs };
  }

  holds(): boolean {
    return this.ports.holds();
  }

  skipped(): void {
    this.dirty = false;
  }

  fenced(target: 'redis' | 'jetstream'): void {
    this.ports.fenced(target);
  }

  // ---- trades ------------------------------------------------------------------------------

  /** One trade in stream order, synchronously. */
  private applyTrade(seq: number, trade: Trade): void {
    const { shard } = this.ports;
    if (seq <= this.seq) {
      m.dupSeq.inc({ shard, by: 'seq' });
      return;
    }
    this.seq = seq;
    this.sinceSnapshot++;
    const last = this.windows.lastTrade;
    const bad = this.ports.check.check(this.venue, this.symbol, trade, { lastTs: last === null ? null : last.ts, highestId: this.guard.highest }, this.ports.now());
    if (bad !== null) {
      this.reject(seq, trade, bad.code, bad.message);
      return;
    }
    const verdict = this.guard.admit(trade.id);
    if (verdict !== 'new') {
      // expired: older than the guard keeps exactly, treated as seen
      m.dupSeq.inc({ shard, by: verdict === 'duplicate' ? 'trade-id' : 'trade-id-expired' });
      return;
    }
    this.applyWindows(seq, trade);
  }

  /** The kernel; a gap too long for one step starts stepping (the trade waits), any other refusal is a reject. */
  private applyWindows(seq: number, trade: Trade): void {
    const lateBefore = this.windows.stats.late;
    try {
      this.windows.apply(trade);
    } catch (err) {
      if (err instanceof WindowsError && err.code === 'WINDOW_GAP_TOO_LONG' && trade.ts > this.windows.watermark) {
        this.stepping = { seq, trade };
        return;
      }
      m.failed.inc({ shard: this.ports.shard });
      const code = err instanceof TickworkError ? err.code : 'APPLY_FAILED';
      this.reject(seq, trade, code, (err as Error).message);
      return;
    }
    this.applied++;
    this.lastAppliedAt = this.ports.now();
    m.applied.inc({ shard: this.ports.shard });
    if (this.windows.stats.late !== lateBefore) m.late.inc({ shard: this.ports.shard });
    this.emitClosed();
    this.markDirty(trade.recvTs);
  }

  /**
   * One bounded step toward the waiting trade; once there, applies it and the trades held behind
   * it. False while more steps are needed (the caller takes the next one on a later turn).
   */
  private step(): boolean {
    const waiting = this.stepping;
    if (waiting === null) return true;
    m.gapSteps.inc({ shard: this.ports.shard });
    const there = this.windows.advanceToward(waiting.trade.ts);
    this.emitClosed();
    if (!there) return false;
    this.stepping = null;
    this.applyWindows(waiting.seq, waiting.trade);
    while (this.stepping === null && this.backlog.length > 0) {
      const t = this.backlog.shift()!;
      this.applyTrade(t.seq, t.trade);
    }
    return this.stepping === null;
  }

  /** The next step goes behind what is queued: other work keeps moving while a gap is crossed. */
  private requestStep(): void {
    this.ctx?.self.send({ t: 'step' }).catch(() => undefined);
  }

  private tick(now: number): void {
    if (this.stepping !== null || this.windows === undefined) return;
    // Event time moves on with processing time since the last trade: a quiet live symbol closes
    // its bar after the interval + grace, and a replay of old data does not jump to today.
    const last = this.windows.lastTrade;
    if (last) {
      const { graceMs, historicalAfterMs = HISTORICAL_AFTER_MS } = this.ports.timing;
      let wm = last.ts + (now - this.lastAppliedAt) - graceMs;
      // Historical: only up to the end of its data (larger bars stay open until more trades come).
      if (this.lastAppliedAt - last.ts > historicalAfterMs) wm = Math.min(wm, this.dataEnd(last.ts));
      // One bounded step per tick: a symbol quiet for days catches up over a few ticks.
      if (wm > this.windows.watermark) this.windows.advanceToward(wm);
    }
    if (this.emitClosed()) this.markDirty(0);
    if (this.sinceSnapshot > 0 && now - this.lastSnapshotAt >= this.ports.timing.snapshotEveryMs) this.snapshot();
  }

  /** End of the smallest timeframe's bar holding `ts`: advancing to it closes that bar and no later one. */
  private dataEnd(ts: number): number {
    const tf = this.windows.timeframes[0];
    if (tf === undefined) return ts;
    const { session } = this.windows.config;
    this.calendar ??= session ? new SessionCalendar(session) : UTC_CALENDAR;
    this.calendar.barOf(ts, TF_MS[tf], this.bar);
    return this.bar.end;
  }

  private reject(seq: number, trade: Trade, reason: string, detail: string): void {
    m.rejected.inc({ shard: this.ports.shard, reason });
    this.ctx?.log.debug({ seq, reason, detail }, 'trade refused; dead-lettered');
    this.outputs.push(this.ports.deadLetter(seq, trade, reason, detail));
  }

  /** Publishes what the windows closed; true if anything closed. */
  private emitClosed(): boolean {
    const closed = this.windows.drainClosed();
    if (closed.length === 0) return false;
    const revision = candleRevision(Math.max(1, this.seq));
    const trace = this.candleTrace ?? undefined;
    this.candleTrace = null;
    for (const c of closed) {
      const upTo = this.closedUpTo[c.tf];
      let id = candleMsgId(c);
      // A correction is a new revision of a stored candle: a content-derived suffix lets JetStream
      // store it (the plain id would be dropped as a duplicate) and a replay re-derives the same id.
      if (upTo !== undefined && c.openTime <= upTo) id += `:r${revisionHash(c)}`;
      else this.closedUpTo[c.tf] = c.openTime;
      const p = trace === undefined ? this.ports.publishCandle(c, id, revision) : this.ports.publishCandle(c, id, revision, trace);
      this.trackUnacked(c, p);
      this.outputs.push(p);
    }
    return true;
  }

  /** Keeps `c` in the live state's `pending` until its publish settles (acknowledged, refused or failed). */
  private trackUnacked(c: Candle, p: Promise<unknown>): void {
    if (this.unacked.size >= MAX_PENDING) this.unacked.delete(this.unacked.values().next().value!);
    this.unacked.add(c);
    const done = (): void => {
      this.unacked.delete(c);
      if (this.unacked.size === 0 && this.pendingShown) {
        this.pendingShown = false;
        this.markDirty(0);
      }
    };
    p.then(done, done);
  }

  private markDirty(recvTs: number): void {
    if (this.dirty) return;
    this.dirty = true;
    this.dirtyRecvTs = recvTs;
    this.ports.liveChanged(this);
  }

  /**
   * The LiveState as JSON, in this key order: `venue`, `symbol`, `lastTrade`, `candles`, `pending`
   * (only when a closed candle awaits its ack), `vwap`, `lastSeq`, `tradesApplied`, `updatedAt`,
   * `worker`. Written per flush for every changed symbol, so the candles are written directly
   * (SymbolWindows.openCandlesJson) rather than built as objects and stringified.
   */
  private liveStateJson(now: number): string {
    const w = this.windows;
    const pending = this.unacked.size > 0 ? `,"pending":${JSON.stringify([...this.unacked])}` : '';
    return (
      `{"venue":${JSON.stringify(this.venue)},"symbol":${JSON.stringify(this.symbol)},"lastTrade":${JSON.stringify(w.lastTrade)},` +
      `"candles":${w.openCandlesJson()}${pending},"vwap":${JSON.stringify(w.vwaps())},` +
      `"lastSeq":${this.seq},"tradesApplied":${this.applied},"updatedAt":${now},"worker":${JSON.stringify(this.ports.worker)}}`
    );
  }

  // ---- snapshots ---------------------------------------------------------------------------

  /**
   * The snapshot, or a fresh start when there is none or it cannot be read (then everything is
   * rebuilt from MD_TRADES). Redis being unreachable is not "none": that fails the actor.
   */
  private async restore(ctx: ActorContext<SymbolMsg>): Promise<void> {
    let why: 'missing' | 'invalid' = 'missing';
    try {
      const snap = await this.ports.store.load<WindowsSnapshot<Trade>>(this.venue, this.symbol);
      if (snap) {
        const windows = SymbolWindows.fromSnapshot<Trade>(snap.windows);
        const guard = TradeGuard.fromSnapshot(snap.guard as TradeGuardSnapshot | LegacyTradeGuardSnapshot);
        this.windows = windows;
        this.guard = guard;
        this.seq = snap.seq;
        this.applied = snap.windows.stats.applied;
        this.closedUpTo = snap.closedUpTo ?? {};
        return;
      }
    } catch (err) {
      if (!unreadableSnapshot(err)) throw err;
      why = 'invalid';
      ctx.log.warn({ err: (err as Error).message }, 'snapshot unreadable: rebuilding from MD_TRADES');
    }
    this.windows = new SymbolWindows<Trade>({ ...this.ports.windowsConfig, venue: this.venue, symbol: this.symbol });
    this.guard = new TradeGuard();
    this.seq = 0;
    this.applied = 0;
    this.closedUpTo = {};
    m.rebuilds.inc({ shard: this.ports.shard, reason: why });
  }

  /**
   * Starts a snapshot in the background (at most one at a time): state captured now, written once
   * every candle and dead letter emitted before it is stored, so the snapshot never moves past an
   * output that could still be lost. A failure fails the actor (its supervisor restarts it from
   * the last good snapshot).
   */
  private snapshot(): Promise<void> {
    if (this.snapshotting !== null || this.stepping !== null) return this.snapshotting ?? Promise.resolve();
    const { shard, token } = this.ports;
    const end = m.snapshot.startTimer({ shard });
    const snap: SymbolSnapshot<WindowsSnapshot<Trade>> = {
      v: 1,
      seq: this.seq,
      windows: this.windows.toSnapshot(),
      guard: this.guard.toSnapshot(),
      closedUpTo: this.closedUpTo,
      savedAt: this.ports.now(),
    };
    // Serialized now: the windows keep changing while the outputs are acknowledged.
    const json = JSON.stringify(snap);
    const outputs = this.outputs;
    this.outputs = [];
    this.sinceSnapshot = 0;
    this.lastSnapshotAt = this.ports.now();
    const run = async (): Promise<void> => {
      await Promise.all(outputs);
      if (!this.ports.holds()) return;
      if (!(await this.ports.store.save(this.venue, this.symbol, token, json))) this.ports.fenced('redis');
      end();
    };
    const p = run().then(
      () => {
        this.snapshotting = null;
      },
      (err: unknown) => {
        this.snapshotting = null;
        this.ctx?.fail(err);
      },
    );
    this.snapshotting = p;
    return p;
  }
}

/** A stored snapshot that does not restore (bad JSON or shape, guard or windows refusing it), as opposed to Redis failing. */
function unreadableSnapshot(err: unknown): boolean {
  if (err instanceof TickworkError) return err.code === 'SNAPSHOT_INVALID' || err.code === 'WINDOW_SNAPSHOT_INVALID' || err.code === 'WINDOW_CONFIG_INVALID';
  // fromSnapshot on a structurally foreign object
  return err instanceof TypeError || err instanceof RangeError;
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
