import { ActorRegistry, KEYED_ACTOR_POLICY } from '../../runtime/actor/index.js';
import type { Logger } from '../../runtime/logger.js';
import { counter } from '../../runtime/metrics.js';
import type { Namespace } from '../../runtime/namespace.js';
import { ATTR, traceHeaders, traceParentOf, tracing, type TraceParent } from '../../runtime/tracing.js';
import { messageHeaders, PipelinedPublisher, PubAckError, StreamSource, type Delivered, type NatsHandles } from '../../runtime/nats/index.js';
import { CANDLE_REVISION_HEADER, type Candle } from '../../schemas/candle.js';
import type { WorkerOwnership } from '../../schemas/state.js';
import { candleSubject, dlqSubjectOf, liveCandleSubject, STREAMS } from '../../schemas/subjects.js';
import { TradeCheck as TradeSchemaCheck, type Trade } from '../../schemas/trade.js';
import type { SnapshotStore } from '../../store/snapshots.js';
import type { WindowsConfig } from '../windows/index.js';
import { CandleChain, WRONG_LAST_SEQUENCE } from './candle-chain.js';
import { CatchUpReader, type CatchUpRead } from './catch-up.js';
import { timeframes, vwapWindows, type WorkerConfig } from './config.js';
import { TradeDelivery } from './delivery.js';
import { LiveStateWriter } from './live-state.js';
import type { Ownership, OwnershipHandler } from './ownership.js';
import { SymbolActor, type StoredTrade, type SymbolActorPorts, type SymbolMsg } from './symbol-actor.js';
import type { TradeCheck } from './trade-check.js';

const fencedWrites = counter({
  name: 'tickwork_worker_fenced_writes_total',
  help: 'Writes refused because this worker no longer held the symbol: by its own lease check (stage process) or by the fence at Redis or JetStream (stage server)',
  labelNames: ['worker', 'target', 'stage'] as const,
});

/** Header naming the worker that published a candle (who wrote what, observable at JetStream). */
export const WORKER_HEADER = 'Tickwork-Worker';

export interface SymbolWorkerDeps {
  nats: NatsHandles;
  ns: Namespace;
  store: SnapshotStore;
  cfg: WorkerConfig;
  log: Logger;
  /** This worker's id: group member, metric label, shown in live state and /v1/symbols. */
  worker: string;
  /** Metric label of the symbol actors (`0-1`, or the worker id in a group). */
  shard: string;
  ownership: Ownership;
  /** Semantic check of bus trades, with the venues' id rules. */
  check: TradeCheck;
  sessions?: (venue: string, symbol: string) => WindowsConfig['session'];
  onEscalate?: (err: unknown) => void;
  /**
   * Test port: false skips the in-process lease check before writes, so that only the fences at
   * Redis and JetStream stand between a stale worker and the data (proved by a test).
   */
  inProcessFence?: boolean;
}

/** A symbol this worker runs. */
interface Owned {
  key: string;
  venue: string;
  symbol: string;
  token: number | null;
  /** Fenced candle publishing (group); null: pipelined and unfenced (static shards). */
  chain: CandleChain | null;
  /** Its trades go to its actor (false once it is being handed over or lost). */
  routed: boolean;
  /** Its actor has caught up. */
  ready: boolean;
}

/**
 * The symbol actors of one worker process: which symbols it runs comes from its Ownership
 * (static shard or worker group), their trades from one main read of MD_TRADES (TradeDelivery),
 * their past from each actor's own catch-up read. Routing takes what the consumer has buffered
 * and hands it to the actors without awaiting per trade (only a full mailbox waits).
 */
export class SymbolWorker implements OwnershipHandler {
  private readonly registry: ActorRegistry<string, SymbolMsg>;
  private readonly publisher: PipelinedPublisher;
  private readonly live: LiveStateWriter;
  private readonly owned = new Map<string, Owned>();
  private delivery: TradeDelivery | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly enc = new TextEncoder();
  private readonly newSymbols: { venue: string; symbol: string; worker: string }[] = [];
  private readonly catchUps = new Semaphore(8);
  private readonly catchUp: CatchUpReader<Trade>;
  private stopping = false;
  private readonly prefix: string;
  private readonly tradesStream: string;
  private readonly candlesStream: string;

  constructor(private readonly deps: SymbolWorkerDeps) {
    this.prefix = deps.ns.subject('md.trade.');
    this.tradesStream = deps.ns.stream(STREAMS.trades);
    this.candlesStream = deps.ns.stream(STREAMS.candles);
    this.catchUp = new CatchUpReader<Trade>({ open: (subject, afterSeq, wanted) => this.openCatchUp(subject, afterSeq, wanted), log: deps.log });
    this.publisher = new PipelinedPublisher(deps.nats, { maxInFlight: 4096, name: 'worker' });
    this.live = new LiveStateWriter(deps.store, { flushMs: deps.cfg.TICKWORK_STATE_FLUSH_MS, log: deps.log });
    this.registry = new ActorRegistry<string, SymbolMsg>(`symbols:${deps.shard}`, {
      behavior: (key) => this.actorFor(key),
      supervisor: KEYED_ACTOR_POLICY,
      idleMs: deps.cfg.TICKWORK_IDLE_MS,
      mailboxSize: 8192,
      kind: 'symbol',
      log: deps.log,
      ...(deps.onEscalate ? { onEscalate: deps.onEscalate } : {}),
    });
  }

  /** Keys (`venue.SYMBOL`) of the symbols this worker runs. */
  get symbols(): string[] {
    return [...this.owned.keys()];
  }

  /** Reads from the end of MD_TRADES (actors read their own past), joins the ownership, polls the universe. */
  async start(): Promise<void> {
    const { nats, ns, log, ownership, cfg } = this.deps;
    const version = nats.nc.info?.version ?? '0.0.0';
    this.delivery = new TradeDelivery({
      nats,
      stream: this.tradesStream,
      prefix: this.prefix,
      multiFilter: atLeast(version, 2, 10),
      deadLetter: { publisher: this.publisher, subjectFor: (subject) => ns.subject(dlqSubjectOf(ns.unsubject(subject))) },
      worker: this.deps.worker,
      shard: this.deps.shard,
      log,
      routed: (key) => this.owned.get(key)?.routed === true,
      seen: (key) => ownership.observe([key]),
      deliver: (items) => this.route(items),
    });
    await this.delivery.start(await this.streamLastSeq());
    await ownership.start(this);
    await this.pollUniverse();
    this.timers.push(setInterval(() => void this.pollUniverse(), Math.min(2_000, Math.max(250, Math.floor(cfg.TICKWORK_LEASE_TTL_MS / 3)))));
    this.timers.push(setInterval(() => this.tick(), cfg.TICKWORK_TICK_MS));
    this.timers.push(setInterval(() => void this.registerNewSymbols(), 1_000));
    log.info({ ownership: ownership.kind, delivery: this.delivery.filtered ? 'filtered (NATS >= 2.10)' : 'full read (NATS 2.9)', server: version }, 'symbol worker started');
  }

  /** Hands every symbol back (drained, snapshotted), stops reading, flushes outputs. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    await this.deps.ownership.stop();
    await this.delivery?.stop();
    await this.registry.stopAll();
    await this.live.stop();
    await this.publisher.flush();
    await this.registerNewSymbols();
  }

  /** What this worker owns, with each symbol's token and whether its actor has caught up. */
  ownershipView(): WorkerOwnership {
    const v = this.deps.ownership.view();
    return {
      worker: v.worker,
      kind: v.kind,
      members: v.members,
      owned: v.owned.map((o) => {
        const dot = o.key.indexOf('.');
        return { venue: o.key.slice(0, dot), symbol: o.key.slice(dot + 1), token: o.token, since: o.since, ready: this.owned.get(o.key)?.ready === true };
      }),
    };
  }

  // ---- ownership events ----------------------------------------------------------------------

  async acquired(key: string, token: number | null): Promise<boolean> {
    const [venue, symbol] = splitKey(key);
    const owned: Owned = { key, venue, symbol, token, chain: null, routed: false, ready: false };
    if (token !== null) {
      // Fences first: nothing a former owner still writes may land after we read the snapshot.
      if (!(await this.deps.store.raiseFence(venue, symbol, token))) {
        fencedWrites.inc({ worker: this.deps.worker, target: 'redis', stage: 'server' });
        return false;
      }
      const initial = await this.fenceCandles(venue, symbol, token);
      if (initial === null) return false;
      owned.chain = new CandleChain(this.chainPort, initial, {
        holds: () => this.holds(owned),
        fenced: (stage) => {
          fencedWrites.inc({ worker: this.deps.worker, target: 'jetstream', stage });
          if (stage === 'server') this.deps.ownership.fenced(key);
        },
        errCode: (err) => (err instanceof PubAckError ? err.errCode : undefined),
      });
    }
    if (!this.deps.ownership.holds(key, token) || this.stopping) return false;
    // The consumer's join point is read before the actor's catch-up starts (see TradeDelivery).
    const joinSeq = this.delivery?.filtered ? await this.streamLastSeq() : 0;
    // Lost during that read (a server call, seconds while a stream leader is elected): lost() found
    // nothing of it to undo, so nothing of it may be set up now.
    if (!this.deps.ownership.holds(key, token) || this.stopping) return false;
    owned.routed = true;
    this.owned.set(key, owned);
    this.delivery?.add(key, joinSeq);
    this.deps.log.debug({ key, joinSeq, token }, 'symbol acquired: live from the join point, its past by its catch-up');
    this.newSymbols.push({ venue, symbol, worker: this.deps.worker });
    // Spawns the actor: it loads its snapshot and reads its past before the first live trade.
    void this.registry.send(key, { t: 'tick', now: Date.now() }).catch(() => undefined);
    return true;
  }

  async release(key: string): Promise<void> {
    const o = this.owned.get(key);
    if (o === undefined) return;
    o.routed = false;
    this.delivery?.remove(key);
    await this.registry.get(key)?.stop();
    // The last live state goes out while the lease is still ours.
    await this.live.flush();
    if (this.owned.get(key) === o) this.owned.delete(key);
  }

  lost(key: string): void {
    const o = this.owned.get(key);
    if (o === undefined) return;
    this.owned.delete(key);
    o.routed = false;
    o.chain?.close();
    this.delivery?.remove(key);
    // No drain: what is queued belongs to the new owner; postStop writes nothing without the lease.
    void this.registry.get(key)?.stop({ drain: false });
  }

  // ---- trades --------------------------------------------------------------------------------

  private route(items: readonly Delivered<Trade>[]): Promise<void> | void {
    const prefixLen = this.prefix.length;
    const traced = tracing.tracer !== null;
    for (let i = 0; i < items.length; i++) {
      const { seq, subject, value } = items[i]!;
      const key = subject.slice(prefixLen);
      if (this.owned.get(key)?.routed !== true) continue;
      // A sampled trade's trace context goes with it to its actor (tracing on only).
      const trace = traced ? traceParentOf(items[i]!.headers) : null;
      const msg: SymbolMsg = trace === null ? { t: 'trade', seq, trade: value } : { t: 'trade', seq, trade: value, trace };
      const ref = this.registry.get(key);
      if (ref !== undefined && ref.trySend(msg)) continue;
      // A full mailbox (an actor catching up) or a passivated actor: wait for this send, then the rest in order.
      return this.registry
        .send(key, msg)
        .catch(() => undefined)
        .then(() => this.route(items.slice(i + 1)));
    }
    return undefined;
  }

  private tick(): void {
    const now = Date.now();
    for (const key of this.registry.keys()) this.registry.get(key)?.trySend({ t: 'tick', now });
  }

  // ---- actors --------------------------------------------------------------------------------

  private actorFor(key: string): SymbolActor {
    const o = this.owned.get(key);
    const [venue, symbol] = splitKey(key);
    const { cfg, ns, nats } = this.deps;
    const token = o?.token ?? null;
    const holds = (): boolean => o !== undefined && this.holds(o);
    const ports: SymbolActorPorts = {
      shard: this.deps.shard,
      worker: this.deps.worker,
      store: this.deps.store,
      token,
      windowsConfig: { venue, symbol, timeframes: timeframes(cfg), vwapWindows: vwapWindows(cfg), session: this.deps.sessions?.(venue, symbol) ?? null },
      check: this.deps.check,
      publishCandle: (c, msgId, revision, trace) => (trace === undefined ? this.publishCandle(o, c, msgId, revision) : this.publishTracedCandle(o, c, msgId, revision, trace)),
      publishLive: (c) => nats.nc.publish(ns.subject(liveCandleSubject(c.tf, c.venue, c.symbol)), this.enc.encode(JSON.stringify(c))),
      deadLetter: (seq, trade, reason, detail) => this.deadLetter(key, seq, trade, reason, detail),
      liveChanged: (source) => this.live.changed(source),
      history: (afterSeq) => this.history(key, afterSeq),
      holds,
      fenced: (target) => {
        fencedWrites.inc({ worker: this.deps.worker, target, stage: 'server' });
        this.deps.ownership.fenced(key);
      },
      ready: () => {
        if (o) o.ready = true;
      },
      now: Date.now,
      timing: {
        graceMs: cfg.TICKWORK_GRACE_MS,
        historicalAfterMs: cfg.TICKWORK_HISTORICAL_AFTER_MS,
        snapshotEveryTrades: cfg.TICKWORK_SNAPSHOT_EVERY_TRADES,
        snapshotEveryMs: cfg.TICKWORK_SNAPSHOT_EVERY_MS,
        liveCandleMs: cfg.TICKWORK_LIVE_CANDLE_MS,
      },
    };
    return new SymbolActor(venue, symbol, ports);
  }

  /** The in-process lease check (skipped only through the test port). */
  private holds(o: Owned): boolean {
    if (this.deps.inProcessFence === false) return true;
    return this.owned.get(o.key) === o && this.deps.ownership.holds(o.key, o.token);
  }

  /** A candle holding a sampled trade: published inside a span continuing the trade's trace, carried on in its headers for the sink. */
  private publishTracedCandle(o: Owned | undefined, c: Candle, msgId: string, revision: string, trace: TraceParent): Promise<unknown> {
    const subject = this.deps.ns.subject(candleSubject(c.tf, c.venue, c.symbol));
    const span = tracing.tracer?.child('worker publish candle', trace, {
      role: 'producer',
      attributes: { [ATTR.messagingSystem]: 'nats', [ATTR.messagingDestination]: subject, 'tickwork.tf': c.tf, 'tickwork.open_time': c.openTime },
    });
    if (span == null) return this.publishCandle(o, c, msgId, revision);
    const p = this.publishCandle(o, c, msgId, revision, traceHeaders(span));
    p.then(
      () => span.end(),
      (err: unknown) => span.end(err),
    );
    return p;
  }

  private publishCandle(o: Owned | undefined, c: Candle, msgId: string, revision: string, trace?: Record<string, string>): Promise<unknown> {
    const subject = this.deps.ns.subject(candleSubject(c.tf, c.venue, c.symbol));
    const data = JSON.stringify(c);
    const headers = { [CANDLE_REVISION_HEADER]: revision, [WORKER_HEADER]: this.deps.worker, ...trace };
    if (o?.chain) return o.chain.publish(subject, data, msgId, headers);
    if (o === undefined || !this.holds(o)) {
      fencedWrites.inc({ worker: this.deps.worker, target: 'jetstream', stage: 'process' });
      return Promise.resolve(false);
    }
    return new Promise((resolve, reject) => this.publisher.send(subject, data, msgId, messageHeaders(headers), (err, r) => (r ? resolve(true) : reject(err))));
  }

  private readonly chainPort = {
    send: (subject: string, data: string, msgId: string, headers: Record<string, string>, done: (err: unknown, r: { seq: number; duplicate: boolean } | null) => void): void =>
      this.publisher.send(subject, data, msgId, messageHeaders(headers), (err, r) => done(err, r ? { seq: r.seq, duplicate: r.duplicate } : null)),
  };

  /**
   * The JetStream fence of a symbol taken over: on every candle subject that has messages, the
   * last one is published again (same candle, same revision) expecting that subject's last
   * sequence, so whatever a former owner sends next, expecting an older one, is refused. Returns
   * each subject's sequence after the fence (0: empty), or null when the fence keeps losing races.
   */
  private async fenceCandles(venue: string, symbol: string, token: number): Promise<Map<string, number> | null> {
    const { ns, nats, cfg } = this.deps;
    const out = new Map<string, number>();
    const fenceOne = async (tf: string): Promise<boolean> => {
      const subject = ns.subject(candleSubject(tf, venue, symbol));
      for (let attempt = 0; attempt < 5; attempt++) {
        const last = await nats.jsm.streams.getMessage(this.candlesStream, { last_by_subj: subject });
        if (last === null) {
          out.set(subject, 0);
          return true;
        }
        const headers: Record<string, string> = { [WORKER_HEADER]: this.deps.worker, 'Nats-Expected-Last-Subject-Sequence': String(last.seq) };
        const revision = last.header?.get(CANDLE_REVISION_HEADER);
        if (revision) headers[CANDLE_REVISION_HEADER] = revision;
        const r = await new Promise<{ seq: number } | 'raced'>((resolve, reject) =>
          this.publisher.send(subject, last.data, `fence:${token}:${tf}:${venue}:${symbol}`, messageHeaders(headers), (err, res) => {
            if (res) resolve(res);
            else if (err instanceof PubAckError && err.errCode === WRONG_LAST_SEQUENCE) resolve('raced');
            else reject(err);
          }),
        );
        if (r !== 'raced') {
          out.set(subject, r.seq);
          return true;
        }
      }
      return false;
    };
    const ok = await Promise.all(timeframes(cfg).map(fenceOne));
    return ok.every(Boolean) ? out : null;
  }

  /** The symbol's trades after `afterSeq` up to its subject's last message now (catch-up; read together with other symbols' starting at the same time). */
  private async *history(key: string, afterSeq: number): AsyncGenerator<StoredTrade[]> {
    const subject = this.prefix + key;
    const last = await this.deps.nats.jsm.streams.getMessage(this.tradesStream, { last_by_subj: subject });
    this.deps.log.debug({ key, afterSeq, until: last?.seq ?? null }, 'catch-up asked');
    if (last === null || last.seq <= afterSeq) return;
    for await (const batch of this.catchUp.read(subject, afterSeq, last.seq)) yield batch.map(({ seq, value }) => ({ seq, trade: value }));
  }

  /** A catch-up read of MD_TRADES: one subject, or the whole stream (unfiltered) passing over the subjects not wanted. */
  private async openCatchUp(subject: string | null, afterSeq: number, wanted: (subject: string) => boolean): Promise<CatchUpRead<Trade>> {
    const { nats, ns, log } = this.deps;
    const release = await this.catchUps.acquire();
    try {
      const source = await StreamSource.open({
        nats,
        stream: this.tradesStream,
        // The whole stream, unfiltered (MD_TRADES holds only md.trade.>): no stream info asked first.
        filter: subject ?? [],
        start: { afterSeq },
        check: TradeSchemaCheck,
        deadLetter: { publisher: this.publisher, subjectFor: (s) => ns.subject(dlqSubjectOf(ns.unsubject(s))) },
        ...(subject === null ? { skip: (s: string) => !wanted(s) } : {}),
        maxBatch: 1000,
        name: 'catch-up',
        log,
      });
      return {
        [Symbol.asyncIterator]: () => source[Symbol.asyncIterator](),
        close: async () => {
          try {
            await source.close();
          } finally {
            release();
          }
        },
      };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** A refused trade: to md.dlq.<venue> with its reason, once (the Nats-Msg-Id follows the stream sequence). */
  private deadLetter(key: string, seq: number, trade: Trade, reason: string, detail: string): Promise<unknown> {
    const { ns, log } = this.deps;
    const subject = ns.subject(dlqSubjectOf(`md.trade.${key}`));
    const info = { reason, detail, source: `md.trade.${key}@${seq}` };
    return this.publisher
      .deadLetter(subject, this.enc.encode(JSON.stringify(trade)), info, `dlq:seq:${seq}`)
      .then(({ stored }) => stored)
      .catch((err: unknown) => log.error({ err, seq }, 'DLQ publish failed'));
  }

  private async streamLastSeq(): Promise<number> {
    return (await this.deps.nats.jsm.streams.info(this.tradesStream)).state.last_seq;
  }

  /** Symbols that exist: the trade stream's subjects. */
  private async pollUniverse(): Promise<void> {
    try {
      const info = await this.deps.nats.jsm.streams.info(this.tradesStream, { subjects_filter: this.prefix + '>' });
      const subjects = Object.keys(info.state.subjects ?? {});
      this.deps.ownership.observe(subjects.map((s) => s.slice(this.prefix.length)));
    } catch (err) {
      this.deps.log.debug({ err: (err as Error).message }, 'stream subjects not read');
    }
  }

  private async registerNewSymbols(): Promise<void> {
    if (this.newSymbols.length === 0) return;
    const batch = this.newSymbols.splice(0);
    try {
      await this.deps.store.registerSymbols(batch);
    } catch (err) {
      this.newSymbols.push(...batch);
      this.deps.log.warn({ err: (err as Error).message }, 'symbol registry not written');
    }
  }
}

/** `venue.SYMBOL` → [venue, SYMBOL]. */
function splitKey(key: string): [string, string] {
  const dot = key.indexOf('.');
  return [key.slice(0, dot), key.slice(dot + 1)];
}

function atLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map((x) => parseInt(x, 10));
  return a > major || (a === major && b >= minor);
}

/** At most `n` holders at a time (catch-up reads: each is a consumer on the server). */
class Semaphore {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(n: number) {
    this.free = n;
  }
  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiting.push(r));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}
