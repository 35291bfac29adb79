import { isUtf8 } from 'node:buffer';
import { IncarnationTimers, Supervisor, type ActorContext, type Behavior, type SupervisorPolicy } from '../../runtime/actor/index.js';
import { sleep } from '../../runtime/backoff.js';
import { TickworkError } from '../../runtime/errors.js';
import type { Logger } from '../../runtime/logger.js';
import { counter } from '../../runtime/metrics.js';
import type { Namespace } from '../../runtime/namespace.js';
import { PipelinedPublisher, type NatsHandles } from '../../runtime/nats/index.js';
import { SlidingWindowLimit, TokenBucket, type RateLimiter } from '../../runtime/rate-limit.js';
import { getText, SocketLink } from '../../runtime/transport/index.js';
import { derivMsgId, derivSubject, liqMsgId, liqSubject, type DerivTicker, type Liquidation } from '../../schemas/deriv.js';
import { dlqSubject } from '../../schemas/subjects.js';
import { clearDerivsOutput, newDerivsOutput, type DerivsAdapter, type VenueDerivs } from '../../venues/kit/derivs.js';
import type { FrameReject, Venue } from '../../venues/kit/types.js';
import type { DerivsConfig } from './derivs-config.js';
import { DerivsMerger } from './derivs-merge.js';

/**
 * The derivatives of one venue's perpetuals: connections of their own (the venue's derivatives
 * endpoint), frames → `DerivPatch`es merged per symbol (derivs-merge.ts) → `md.deriv.<venue>.<SYMBOL>`
 * in MD_DERIVS at most once per second per symbol, plus the latest ticker in Redis; liquidations →
 * `md.liq.*` in MD_LIQS; bad frames → the venue's DLQ. Binance open interest is polled by REST
 * within half the venue's weight budget. Connections fail on close, error or silence and their
 * supervisor reconnects with back-off; a lost second of tickers is superseded by the next one, so
 * there is no gap filling here.
 */

const REST_TIMEOUT_MS = 10_000;
/** How often due tickers are collected (the merge itself keeps each symbol to one per TICKWORK_DERIVS_EMIT_MS). */
const EMIT_TICK_MS = 100;

export const derivsMetrics = {
  frames: counter({ name: 'tickwork_derivs_frames_total', help: 'Derivatives frames received, by classification', labelNames: ['venue', 'class'] as const }),
  tickers: counter({ name: 'tickwork_derivs_tickers_total', help: 'Merged derivative tickers published to MD_DERIVS', labelNames: ['venue'] as const }),
  liquidations: counter({ name: 'tickwork_derivs_liquidations_total', help: 'Liquidations published to MD_LIQS', labelNames: ['venue'] as const }),
  dlq: counter({ name: 'tickwork_derivs_dlq_total', help: 'Derivatives frames sent to the DLQ, by reason', labelNames: ['venue', 'reason'] as const }),
  publishFailures: counter({ name: 'tickwork_derivs_publish_failures_total', help: 'Derivatives messages JetStream did not store', labelNames: ['venue', 'kind'] as const }),
  restFailures: counter({ name: 'tickwork_derivs_rest_failures_total', help: 'Failed derivatives REST reads (open interest, contract values)', labelNames: ['venue', 'what'] as const }),
};

/** Where the latest ticker of a venue/symbol is kept for one-GET reads (store/derivs.ts `DerivStore`). */
export interface LatestDerivs {
  put(t: DerivTicker): Promise<void>;
  /** The last ticker published for venue/symbol (a previous run's), to resume from. */
  get?(venue: string, symbol: string): Promise<DerivTicker | null>;
}

export interface DerivsFeedDeps {
  venue: Venue;
  derivs: VenueDerivs;
  /** The venue's configured WebSocket URL (`<VENUE>_WS_URL` or its default); the derivatives endpoint derives from it. */
  wsUrl: string;
  restUrl: string | undefined;
  cfg: DerivsConfig;
  /** Reconnect back-off and restart intensity (the feed's own settings). */
  policy: SupervisorPolicy;
  connectTimeoutMs: number;
  nats: NatsHandles;
  ns: Namespace;
  latest: LatestDerivs | null;
  log: Logger;
  /** Clock of the merge's rate limit (tests); default Date.now. */
  now?: () => number;
  onEscalate?: (err: unknown) => void;
}

/** What a connection incarnation shares with the feed across restarts. */
interface DerivsSlot {
  id: number;
  symbols: readonly string[];
  gen: number;
  lastRecvAt: number;
  connected: boolean;
}

type DerivsMsg = { t: 'frame'; data: Buffer; recvTs: number; gen: number };

export class DerivsFeed {
  readonly venue: string;
  private readonly supervisor: Supervisor;
  private readonly merger: DerivsMerger;
  private readonly publisher: PipelinedPublisher;
  private readonly connectLimit: RateLimiter;
  private readonly restBudget: TokenBucket | null;
  private readonly slots: DerivsSlot[] = [];
  private readonly wsUrl: string;
  private readonly now: () => number;
  private readonly abort = new AbortController();
  private emitTimer: NodeJS.Timeout | undefined;
  private oiLoop: Promise<void> | null = null;
  private readonly due: DerivTicker[] = [];
  private readonly puts = new Set<Promise<void>>();
  /** Counters for health and tests. */
  readonly stats = { frames: 0, tickers: 0, liquidations: 0, dlq: 0, restFailures: 0 };

  constructor(private readonly deps: DerivsFeedDeps) {
    const { venue, derivs, log } = deps;
    this.venue = venue.id;
    this.now = deps.now ?? Date.now;
    this.wsUrl = derivs.wsUrl ? derivs.wsUrl(deps.wsUrl) : deps.wsUrl;
    this.merger = new DerivsMerger({
      venue: venue.id,
      minIntervalMs: deps.cfg.TICKWORK_DERIVS_EMIT_MS,
      ...(derivs.defaultFundingIntervalMs !== undefined ? { defaultFundingIntervalMs: derivs.defaultFundingIntervalMs } : {}),
    });
    this.publisher = new PipelinedPublisher(deps.nats, { maxInFlight: 1024 });
    const c = derivs.connectsPerIp ?? venue.limits.connectsPerIp;
    this.connectLimit = c ? new SlidingWindowLimit({ limit: c.count, windowMs: c.perMs + 1000 }) : new SlidingWindowLimit({ limit: 10, windowMs: 1000 });
    const w = venue.limits.restWeightPerMin;
    // half the venue's per-IP budget: the trade feed's REST history and a second replica fit beside it
    this.restBudget = w ? new TokenBucket({ capacity: w / 2, refillPerSec: w / 2 / 60 }) : null;
    this.supervisor = new Supervisor(`derivs:${venue.id}`, deps.policy, {
      log: log.child({ venue: venue.id, component: 'derivs' }),
      ...(deps.onEscalate ? { onEscalate: deps.onEscalate } : {}),
    });
  }

  /**
   * Resumes each symbol from the last ticker of a previous run (see DerivsMerger.resume; its values
   * only when it is younger than TICKWORK_DERIVS_RESUME_MS), then opens the connections for
   * `symbols` (BASE-QUOTE-PERP) and starts emitting; other symbols are ignored.
   */
  async start(symbols: readonly string[]): Promise<void> {
    const perps = [...new Set(symbols)].filter((s) => s.endsWith('-PERP'));
    await this.resume(perps);
    const per = this.deps.derivs.symbolsPerConnection ?? 100;
    for (let i = 0; i < perps.length; i += per) this.open(perps.slice(i, i + per));
    this.emitTimer = setInterval(() => void this.emitDue(), EMIT_TICK_MS);
    this.emitTimer.unref();
    if (this.deps.derivs.openInterest && this.deps.restUrl && perps.length > 0) this.oiLoop = this.pollOpenInterest(perps);
    this.deps.log.info({ venue: this.venue, url: this.wsUrl, symbols: perps.length }, 'derivatives feed started');
  }

  private async resume(symbols: readonly string[]): Promise<void> {
    const latest = this.deps.latest;
    if (!latest?.get) return;
    const maxAge = this.deps.cfg.TICKWORK_DERIVS_RESUME_MS;
    let resumed = 0;
    await Promise.all(
      symbols.map(async (symbol) => {
        try {
          const t = await latest.get!(this.venue, symbol);
          if (t === null) return;
          const fresh = maxAge > 0 && this.now() - t.recvTs <= maxAge;
          this.merger.resume(t, fresh);
          if (fresh) resumed++;
        } catch (err) {
          // a fresh start: only a settlement passed while no feed ran goes unrecorded
          this.deps.log.warn({ venue: this.venue, symbol, err: (err as Error).message }, 'last derivative ticker not read; starting afresh');
        }
      }),
    );
    if (resumed > 0) this.deps.log.info({ venue: this.venue, resumed }, 'derivatives resumed from the last published tickers');
  }

  get symbols(): string[] {
    return this.slots.flatMap((s) => [...s.symbols]).sort();
  }

  get connected(): number {
    return this.slots.filter((s) => s.connected).length;
  }

  /** Stops the connections and the poll, emits what is due, waits for JetStream's acknowledgements. */
  async stop(): Promise<void> {
    this.abort.abort();
    clearInterval(this.emitTimer);
    await this.supervisor.stop();
    await this.oiLoop;
    await this.emitDue(true);
    await this.publisher.flush();
    await Promise.all([...this.puts]);
  }

  // ---- publishing ---------------------------------------------------------------------------

  private async emitDue(final = false): Promise<void> {
    // At shutdown the changes not yet due are emitted too (the rate limit is for steady state).
    this.merger.due(final ? Infinity : this.now(), this.due);
    const tickers = this.due.splice(0);
    for (const t of tickers) {
      const { stored } = await this.publisher.publish(this.deps.ns.subject(derivSubject(t.venue, t.symbol)), JSON.stringify(t), derivMsgId(t));
      stored.then(
        () => {
          this.stats.tickers++;
          derivsMetrics.tickers.inc({ venue: this.venue });
        },
        (err: unknown) => this.publishFailed('ticker', err),
      );
      const put = this.deps.latest?.put(t).catch((err: unknown) => this.deps.log.warn({ err: (err as Error).message, symbol: t.symbol }, 'latest derivative ticker not written to Redis'));
      if (put) {
        // awaited by stop(): the next run resumes from the last one
        this.puts.add(put);
        void put.finally(() => this.puts.delete(put));
      }
    }
  }

  /** @internal A connection's liquidation. */
  async liquidation(l: Liquidation): Promise<void> {
    const { stored } = await this.publisher.publish(this.deps.ns.subject(liqSubject(l.venue, l.symbol)), JSON.stringify(l), liqMsgId(l));
    stored.then(
      () => {
        this.stats.liquidations++;
        derivsMetrics.liquidations.inc({ venue: this.venue });
      },
      (err: unknown) => this.publishFailed('liquidation', err),
    );
  }

  /** @internal A connection's bad frame: the raw bytes to md.dlq.<venue> with the reason. */
  async reject(r: FrameReject, raw: Uint8Array, source: string): Promise<void> {
    this.stats.dlq++;
    derivsMetrics.dlq.inc({ venue: this.venue, reason: r.reason });
    const id = `dlq:${this.venue}:d:${Date.now()}:${Math.random().toString(36).slice(2)}`;
    const { stored } = await this.publisher.deadLetter(this.deps.ns.subject(dlqSubject(this.venue)), raw, { reason: r.reason, schemaPath: r.schemaPath, detail: r.detail, source }, id);
    stored.catch((err: unknown) => this.publishFailed('dlq', err));
  }

  /** @internal */
  get mergerRef(): DerivsMerger {
    return this.merger;
  }

  private publishFailed(kind: string, err: unknown): void {
    derivsMetrics.publishFailures.inc({ venue: this.venue, kind });
    this.deps.log.warn({ venue: this.venue, kind, err: (err as Error).message }, 'derivatives message not stored');
  }

  // ---- REST ----------------------------------------------------------------------------------

  /** @internal One GET of the venue's REST API within half its weight budget. */
  async restGet(path: string, weight: number, signal: AbortSignal): Promise<{ body: string; recvTs: number }> {
    const base = this.deps.restUrl;
    if (!base) throw new TickworkError('CONFIG_INVALID', `${this.deps.venue.envPrefix}_REST_URL is empty`);
    if (this.restBudget !== null) await this.restBudget.take(Math.min(weight, this.restBudget.capacity), signal);
    const body = await getText(base + path, { signal, timeoutMs: REST_TIMEOUT_MS, variable: `${this.deps.venue.envPrefix}_REST_URL` });
    return { body, recvTs: Date.now() };
  }

  private async pollOpenInterest(symbols: readonly string[]): Promise<void> {
    const poll = this.deps.derivs.openInterest!;
    const signal = this.abort.signal;
    const adapter = this.deps.derivs.createAdapter();
    while (!signal.aborted) {
      const started = Date.now();
      for (const symbol of symbols) {
        if (signal.aborted) return;
        const vs = adapter.toVenueSymbol(symbol);
        try {
          const { body, recvTs } = await this.restGet(poll.path(vs), poll.weight, signal);
          this.merger.apply(poll.parse(body, symbol, vs, recvTs));
        } catch (err) {
          if (signal.aborted) return;
          this.restFailed('open-interest', err, symbol);
        }
      }
      await sleep(Math.max(0, this.deps.cfg.TICKWORK_DERIVS_OI_POLL_MS - (Date.now() - started)), signal).catch(() => undefined);
    }
  }

  /** @internal */
  restFailed(what: string, err: unknown, symbol?: string): void {
    this.stats.restFailures++;
    derivsMetrics.restFailures.inc({ venue: this.venue, what });
    this.deps.log.warn({ venue: this.venue, what, symbol, err: (err as Error).message }, 'derivatives REST read failed');
  }

  // ---- connections -----------------------------------------------------------------------

  private open(symbols: readonly string[]): void {
    const slot: DerivsSlot = { id: this.slots.length, symbols, gen: 0, lastRecvAt: 0, connected: false };
    this.slots.push(slot);
    this.supervisor.start<DerivsMsg>({
      id: `${this.venue}#d${slot.id}`,
      kind: 'derivs',
      mailboxSize: 4096,
      behavior: () => new DerivsConnection(this, slot, this.deps.derivs.createAdapter()),
    });
  }

  /** @internal What a connection needs of the feed. */
  get connectionDeps() {
    const lim = this.deps.venue.limits.messagesPerConnection;
    return {
      venue: this.deps.venue,
      derivs: this.deps.derivs,
      wsUrl: this.wsUrl,
      restUrl: this.deps.restUrl,
      connectLimit: this.connectLimit,
      connectTimeoutMs: this.deps.connectTimeoutMs,
      silenceMs: this.deps.cfg.TICKWORK_DERIVS_SILENCE_MS,
      // one message of the venue's per-connection budget stays free for pongs, as on the trade feed
      messageBudget: lim ? { limit: Math.max(1, lim.count - 1), windowMs: lim.perMs + 100 } : null,
    };
  }
}

/** One derivatives socket as an actor: frames handled one at a time, failure = reconnect by the supervisor. */
class DerivsConnection implements Behavior<DerivsMsg> {
  private readonly out = newDerivsOutput();
  private link: SocketLink | null = null;
  private reqId = 1;

  constructor(
    private readonly feed: DerivsFeed,
    private readonly slot: DerivsSlot,
    private readonly adapter: DerivsAdapter,
  ) {}

  async preStart(ctx: ActorContext<DerivsMsg>): Promise<void> {
    const d = this.feed.connectionDeps;
    const timers = new IncarnationTimers(ctx.signal);
    ctx.signal.addEventListener('abort', () => this.cleanup(), { once: true });
    if (d.derivs.contracts && d.restUrl && this.adapter.setContractValues) {
      try {
        const { body } = await this.feed.restGet(d.derivs.contracts.path(), d.derivs.contracts.weight, ctx.signal);
        this.adapter.setContractValues(d.derivs.contracts.parse(body));
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        // liquidations in contracts are then reported as `ignored:contract-value-unknown` until the next connect
        this.feed.restFailed('contracts', err);
      }
    }
    await d.connectLimit.take(1, ctx.signal);
    const gen = ++this.slot.gen;
    this.link = await SocketLink.open({
      url: d.wsUrl,
      variable: `${d.venue.envPrefix}_WS_URL`,
      connectTimeoutMs: d.connectTimeoutMs,
      signal: ctx.signal,
      budgets: d.messageBudget ? [{ name: 'message', limiter: new SlidingWindowLimit(d.messageBudget) }] : [],
      onFrame: (data, recvTs) => {
        this.slot.lastRecvAt = recvTs;
        const msg: DerivsMsg = { t: 'frame', data, recvTs, gen };
        if (!ctx.self.trySend(msg)) return ctx.self.send(msg);
      },
      onEnd: (_how, err) => ctx.fail(err),
    });
    this.slot.connected = true;
    this.slot.lastRecvAt = Date.now();
    for (const f of this.adapter.subscribeFrames(this.slot.symbols, () => this.reqId++)) await this.link.send(f);
    const ping = this.adapter.appPing;
    if (ping) timers.every(ping.intervalMs, () => void this.link?.send(ping.frame()).catch(() => undefined));
    timers.every(Math.max(100, Math.min(1000, Math.floor(d.silenceMs / 4))), () => {
      const silent = Date.now() - this.slot.lastRecvAt;
      if (silent > d.silenceMs) ctx.fail(new TickworkError('SERVICE_UNAVAILABLE', `${d.wsUrl}: no frame for ${silent} ms`));
    });
    ctx.log.info({ symbols: this.slot.symbols.length, gen }, 'derivatives connected');
  }

  async receive(msg: DerivsMsg): Promise<void> {
    if (msg.gen !== this.slot.gen) return;
    const out = this.out;
    const venue = this.feed.venue;
    const cls = isUtf8(msg.data)
      ? this.adapter.parse(msg.data.toString('utf8'), msg.recvTs, out)
      : (out.rejects.push({ reason: 'encoding', schemaPath: '', detail: 'frame is not valid UTF-8 text', raw: '' }), 'reject' as const);
    this.feed.stats.frames++;
    derivsMetrics.frames.inc({ venue, class: cls });
    try {
      for (const p of out.patches) this.feed.mergerRef.apply(p);
      for (const l of out.liquidations) await this.feed.liquidation(l);
      for (const r of out.rejects) await this.feed.reject(r, msg.data, this.feed.connectionDeps.wsUrl);
    } finally {
      clearDerivsOutput(out);
    }
  }

  postStop(): void {
    this.cleanup();
  }

  private cleanup(): void {
    this.slot.connected = false;
    this.link?.discard('close');
    this.link = null;
  }
}
