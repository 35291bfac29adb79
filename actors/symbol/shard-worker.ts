import { DeliverPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { ActorRegistry, type SupervisorPolicy } from '../../runtime/actor/index.js';
import type { Logger } from '../../runtime/logger.js';
import { gauge } from '../../runtime/metrics.js';
import type { Namespace } from '../../runtime/namespace.js';
import type { NatsHandles } from '../../runtime/nats.js';
import { PipelinedPublisher } from '../../runtime/publisher.js';
import type { Candle } from '../../schemas/candle.js';
import { candleSubject, DLQ_HEADERS, dlqSubject, liveCandleSubject, STREAMS, STREAM_SUBJECTS } from '../../schemas/subjects.js';
import { TradeCheck, type Trade } from '../../schemas/trade.js';
import type { SnapshotStore } from '../../store/snapshots.js';
import type { WindowsConfig } from '../windows/index.js';
import { parseShard, shardOf, timeframes, type WorkerConfig } from './config.js';
import { SymbolActor, type SymbolActorPorts, type SymbolMsg } from './symbol-actor.js';

const lagGauge = gauge({ name: 'tickwork_worker_consumer_lag', help: 'MD_TRADES messages not yet delivered to this shard', labelNames: ['shard'] as const });
const checkpointGauge = gauge({ name: 'tickwork_worker_checkpoint_seq', help: 'Stream sequence this shard would resume after', labelNames: ['shard'] as const });

export interface ShardWorkerDeps {
  nats: NatsHandles;
  ns: Namespace;
  store: SnapshotStore;
  cfg: WorkerConfig;
  log: Logger;
  /** Name of this worker process (shown by /v1/symbols). */
  worker: string;
  sessions?: (venue: string, symbol: string) => WindowsConfig['session'];
  onEscalate?: (err: unknown) => void;
}

/**
 * One worker shard: reads MD_TRADES with an ordered consumer from its checkpoint, routes each
 * trade it owns (FNV hash of venue:symbol) to that symbol's actor, and keeps the checkpoint:
 * the highest sequence below which every trade of its symbols is in a Redis snapshot. After a
 * crash it resumes there; each actor skips what its own snapshot already holds.
 */
export class ShardWorker {
  readonly shardName: string;
  private readonly shard: { index: number; count: number };
  private readonly registry: ActorRegistry<string, SymbolMsg>;
  private readonly candles: PipelinedPublisher;
  private messages: ConsumerMessages | null = null;
  private loop: Promise<void> | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private lastDispatched = 0;
  /** Per symbol: first sequence dispatched since its last snapshot. Absent = fully snapshotted. */
  private readonly pendingFrom = new Map<string, number>();
  private readonly lastSeqOf = new Map<string, number>();
  private readonly newSymbols: { venue: string; symbol: string; worker: string }[] = [];
  private readonly enc = new TextEncoder();
  private stopping = false;
  /** Checkpoint this shard resumed after; 0 = from the start of the stream. */
  private resumedAfter = 0;
  /** Keys that had an actor before (a respawned one may have trades it no longer holds). */
  private readonly spawned = new Set<string>();

  constructor(private readonly deps: ShardWorkerDeps) {
    this.shard = parseShard(deps.cfg.TICKWORK_SHARD);
    this.shardName = `${this.shard.index}-${this.shard.count}`;
    this.candles = new PipelinedPublisher(deps.nats, { maxInFlight: 4096 });
    const policy: SupervisorPolicy = {
      strategy: 'one-for-one',
      backoff: { initialMs: 50, maxMs: 5_000, multiplier: 2 },
      intensity: { maxRestarts: 100, withinMs: 60_000 },
    };
    this.registry = new ActorRegistry<string, SymbolMsg>(`symbols:${this.shardName}`, {
      behavior: (key) => this.actorFor(key),
      supervisor: policy,
      idleMs: deps.cfg.TICKWORK_IDLE_MS,
      mailboxSize: 8192,
      kind: 'symbol',
      log: deps.log,
      ...(deps.onEscalate ? { onEscalate: deps.onEscalate } : {}),
    });
  }

  get symbols(): string[] {
    return this.registry.keys();
  }

  async start(): Promise<void> {
    const { nats, ns, store, log } = this.deps;
    const stream = ns.stream(STREAMS.trades);
    const checkpoint = (await store.loadCheckpoint(this.shardName)) ?? 0;
    this.lastDispatched = checkpoint;
    this.resumedAfter = checkpoint;
    const consumer = await nats.js.consumers.get(stream, {
      filter_subjects: ns.subject(STREAM_SUBJECTS.trades),
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: checkpoint + 1,
    });
    this.messages = await consumer.consume({ max_messages: 20_000 });
    log.info({ shard: this.shardName, resumeAfter: checkpoint }, 'shard consuming MD_TRADES');
    this.loop = this.consume(this.messages);
    this.timers.push(setInterval(() => this.tick(), this.deps.cfg.TICKWORK_TICK_MS));
    this.timers.push(setInterval(() => void this.persistCheckpoint(), 1_000));
  }

  /** Stops intake, drains every actor (final snapshots), then persists the checkpoint. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    await this.messages?.close();
    await this.loop;
    await this.registry.stopAll();
    await this.candles.flush();
    await this.persistCheckpoint();
  }

  private async consume(messages: ConsumerMessages): Promise<void> {
    const prefixLen = this.deps.ns.subject('md.trade.').length;
    const { index, count } = this.shard;
    for await (const msg of messages) {
      if (this.stopping) break;
      const seq = msg.seq;
      // Subject tokens say whose trade it is: other shards' trades are skipped without parsing.
      const rest = msg.subject.slice(prefixLen);
      const dot = rest.indexOf('.');
      const venue = rest.slice(0, dot);
      const symbol = rest.slice(dot + 1);
      if (count > 1 && shardOf(venue, symbol, count) !== index) {
        this.lastDispatched = seq;
        continue;
      }
      const key = rest;
      const trade = this.decode(msg);
      if (!this.pendingFrom.has(key)) this.pendingFrom.set(key, seq);
      this.lastSeqOf.set(key, seq);
      this.lastDispatched = seq;
      if (trade === null) continue;
      if (this.registry.get(key) === undefined) this.newSymbols.push({ venue, symbol, worker: this.deps.worker });
      await this.registry.send(key, { t: 'trade', seq, trade });
      // msg.info parses the reply subject: only every 1024th message.
      if ((seq & 1023) === 0) lagGauge.set({ shard: this.shardName }, msg.info.pending);
    }
  }

  /** The symbol's trades before `beforeSeq` (that message is in the stream, so the read ends). */
  private async *history(key: string, beforeSeq: number): AsyncGenerator<{ seq: number; trade: Trade }> {
    const { nats, ns } = this.deps;
    const consumer = await nats.js.consumers.get(ns.stream(STREAMS.trades), {
      filter_subjects: ns.subject(`md.trade.${key}`),
      deliver_policy: DeliverPolicy.All,
    });
    const messages = await consumer.consume({ max_messages: 5_000 });
    try {
      for await (const msg of messages) {
        if (msg.seq >= beforeSeq) break;
        let trade: unknown;
        try {
          trade = msg.json<unknown>();
        } catch {
          continue; // went to the DLQ when first delivered
        }
        if (TradeCheck.Check(trade)) yield { seq: msg.seq, trade };
      }
    } finally {
      await messages.close();
    }
  }

  private decode(msg: JsMsg): Trade | null {
    let trade: unknown;
    try {
      trade = msg.json<unknown>();
    } catch {
      trade = undefined;
    }
    if (TradeCheck.Check(trade)) return trade;
    const first = TradeCheck.Errors(trade).First();
    void this.deadLetterRaw(msg.subject, msg.seq, msg.data, first ? `invalid trade at ${first.path}: ${first.message}` : 'invalid JSON');
    return null;
  }

  private actorFor(key: string): SymbolActor {
    const dot = key.indexOf('.');
    const venue = key.slice(0, dot);
    const symbol = key.slice(dot + 1);
    const { cfg, ns, nats } = this.deps;
    const mayHaveHistory = this.resumedAfter > 0 || this.spawned.has(key);
    this.spawned.add(key);
    const ports: SymbolActorPorts = {
      ...(mayHaveHistory ? { history: (beforeSeq: number) => this.history(key, beforeSeq) } : {}),
      shard: this.shardName,
      worker: this.deps.worker,
      store: this.deps.store,
      windowsConfig: {
        venue,
        symbol,
        timeframes: timeframes(cfg),
        vwapWindows: cfg.TICKWORK_VWAP_WINDOWS.split(',').filter(Boolean),
        session: this.deps.sessions?.(venue, symbol) ?? null,
      },
      publishCandle: async (c: Candle, msgId: string) => {
        const { stored } = await this.candles.publish(ns.subject(candleSubject(c.tf, c.venue, c.symbol)), JSON.stringify(c), msgId);
        return stored;
      },
      publishLive: (c: Candle) => nats.nc.publish(ns.subject(liveCandleSubject(c.tf, c.venue, c.symbol)), this.enc.encode(JSON.stringify(c))),
      deadLetter: (seq, trade, reason) => this.deadLetterRaw(`trade:${key}`, seq, this.enc.encode(JSON.stringify(trade)), reason),
      snapshotted: (seq) => {
        const last = this.lastSeqOf.get(key) ?? 0;
        if (last <= seq) this.pendingFrom.delete(key);
        else this.pendingFrom.set(key, seq + 1);
      },
      timing: {
        graceMs: cfg.TICKWORK_GRACE_MS,
        snapshotEveryTrades: cfg.TICKWORK_SNAPSHOT_EVERY_TRADES,
        snapshotEveryMs: cfg.TICKWORK_SNAPSHOT_EVERY_MS,
        stateFlushMs: cfg.TICKWORK_STATE_FLUSH_MS,
        liveCandleMs: cfg.TICKWORK_LIVE_CANDLE_MS,
        applyAttempts: cfg.TICKWORK_APPLY_ATTEMPTS,
      },
    };
    return new SymbolActor(venue, symbol, ports);
  }

  private async deadLetterRaw(source: string, seq: number, data: Uint8Array, reason: string): Promise<void> {
    const h = headers();
    h.set(DLQ_HEADERS.reason, 'symbol-actor');
    h.set(DLQ_HEADERS.detail, reason.replace(/[\r\n]+/g, ' ').slice(0, 200));
    h.set(DLQ_HEADERS.source, `${source}@${seq}`);
    const venue = source.split(/[.:]/)[1] ?? 'unknown';
    const { stored } = await this.candles.publish(this.deps.ns.subject(dlqSubject(venue)), data, `dlq:seq:${seq}`, h);
    await stored.catch((err: unknown) => this.deps.log.error({ err, seq }, 'DLQ publish failed'));
  }

  private tick(): void {
    const now = Date.now();
    for (const key of this.registry.keys()) this.registry.get(key)?.trySend({ t: 'tick', now });
  }

  /** Highest sequence such that every trade of this shard at or below it is in a snapshot. */
  private checkpoint(): number {
    let cp = this.lastDispatched;
    for (const from of this.pendingFrom.values()) if (from - 1 < cp) cp = from - 1;
    return cp;
  }

  private async persistCheckpoint(): Promise<void> {
    const cp = this.checkpoint();
    checkpointGauge.set({ shard: this.shardName }, cp);
    try {
      await this.deps.store.saveCheckpoint(this.shardName, cp);
      if (this.newSymbols.length) await this.deps.store.registerSymbols(this.newSymbols.splice(0));
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'checkpoint not saved');
    }
  }
}
