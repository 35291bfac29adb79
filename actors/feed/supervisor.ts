import { Supervisor, type ActorRef } from '../../runtime/actor/index.js';
import type { Logger } from '../../runtime/logger.js';
import type { Namespace } from '../../runtime/namespace.js';
import { lastMessageJson, PipelinedPublisher, type NatsHandles } from '../../runtime/nats/index.js';
import { SlidingWindowLimit, type RateLimiter } from '../../runtime/rate-limit.js';
import type { FeedHealth } from '../../schemas/state.js';
import { STREAMS, tradeSubject } from '../../schemas/subjects.js';
import type { Trade } from '../../schemas/trade.js';
import { restTradeHistory } from '../../venues/kit/history.js';
import type { FeedChannel, TradeHistory, Venue } from '../../venues/kit/types.js';
import { channelsOf, feedSupervision, urlsFor, type FeedConfig } from './config.js';
import { FeedConnection, newSlot, type ConnectionSlot, type FeedMsg, type FeedTimings } from './connection.js';
import { feedMetrics, FeedStats } from './metrics.js';
import { MarketPublisher } from './publisher.js';
import { rotationAge } from './rotation.js';

/** One venue connection: its slot (shared with the actor), its actor, and the symbols assigned to it. */
interface SlotEntry {
  slot: ConnectionSlot;
  ref: ActorRef<FeedMsg>;
  count: number;
}

export interface FeedSupervisorDeps {
  /** The venue, from the registry (venues/index.ts). */
  venue: Venue;
  cfg: FeedConfig;
  nats: NatsHandles;
  ns: Namespace;
  log: Logger;
  parent?: Supervisor;
  onEscalate?: (err: unknown) => void;
}

/**
 * All connections of one venue: spreads symbols over connections within the venue's stream
 * limit, keeps connects under the venue's per-IP limit, restarts failed connections with
 * back-off (policy is data), and adds or removes symbols at runtime without reconnecting others.
 */
export class FeedSupervisor {
  readonly venue: string;
  private readonly supervisor: Supervisor;
  private readonly slots: SlotEntry[] = [];
  /**
   * Which connection carries each symbol, decided here and at once: the connection actors apply
   * (un)subscribes later, in their mailbox order, so their own sets lag behind this one.
   */
  private readonly owner = new Map<string, SlotEntry>();
  private readonly def: Venue;
  private readonly connectLimit: RateLimiter;
  private readonly history: TradeHistory | null;
  private readonly ipMessageLimit: RateLimiter | null;
  private readonly publisher: MarketPublisher;
  private readonly channels: readonly FeedChannel[];
  private readonly perConnection: number;
  private readonly urls: { ws: string; rest: string | undefined };
  private readonly timings: FeedTimings;
  private readonly ageTimer: NodeJS.Timeout;
  /** Counters of this venue feed (also exported as process metrics). */
  readonly stats: FeedStats;

  constructor(private readonly deps: FeedSupervisorDeps) {
    const { cfg, log } = deps;
    const def = (this.def = deps.venue);
    const venue = (this.venue = def.id);
    this.urls = urlsFor(cfg, def);
    const policy = feedSupervision(cfg);
    this.supervisor = new Supervisor(`feed:${venue}`, policy, {
      log: log.child({ venue }),
      ...(deps.parent ? { parent: deps.parent } : {}),
      ...(deps.onEscalate ? { onEscalate: deps.onEscalate } : {}),
    });
    this.history = restTradeHistory(def, this.urls.rest);
    const ipm = def.limits.messagesPerIp;
    this.ipMessageLimit = ipm ? new SlidingWindowLimit({ limit: ipm.count, windowMs: ipm.perMs + 100 }) : null;
    const c = def.limits.connectsPerIp;
    this.connectLimit = c ? new SlidingWindowLimit({ limit: c.count, windowMs: c.perMs + 1000 }) : new SlidingWindowLimit({ limit: 1000, windowMs: 1000 });
    this.stats = new FeedStats(venue);
    this.publisher = new MarketPublisher(new PipelinedPublisher(deps.nats, { maxInFlight: cfg.TICKWORK_FEED_MAX_IN_FLIGHT, name: `feed:${venue}` }), deps.ns, this.stats);
    this.channels = channelsOf(cfg);
    const maxStreams = def.limits.maxStreamsPerConnection ?? Infinity;
    this.perConnection = Math.max(1, Math.floor(maxStreams / Math.max(1, this.channels.length)));
    this.timings = {
      silenceMs: cfg.TICKWORK_FEED_SILENCE_MS,
      rotateAfterMs: rotationAge(cfg.TICKWORK_FEED_ROTATE_AFTER_MS, cfg.TICKWORK_FEED_ROTATE_OVERLAP_MS, def.limits.maxConnectionAgeMs),
      rotateOverlapMs: cfg.TICKWORK_FEED_ROTATE_OVERLAP_MS,
      connectTimeoutMs: cfg.TICKWORK_FEED_CONNECT_TIMEOUT_MS,
      maxBackfill: cfg.TICKWORK_FEED_MAX_BACKFILL,
    };
    const age = feedMetrics.lastMessageAge.labels(venue);
    // One value per venue: the freshest of its connections (0 until the first frame).
    this.ageTimer = setInterval(() => {
      const last = this.lastFrameAt();
      age.set(last === null ? 0 : (Date.now() - last) / 1000);
    }, 1000);
    this.ageTimer.unref();
  }

  get wsUrl(): string {
    return this.urls.ws;
  }

  /** Adds symbols: fills connections that have room, opens new ones for the rest; others are untouched. */
  async subscribe(symbols: readonly string[]): Promise<void> {
    const wanted = [...new Set(symbols)].filter((s) => !this.owner.has(s));
    let i = 0;
    for (const entry of this.slots) {
      const room = this.perConnection - entry.count;
      if (room <= 0 || i >= wanted.length) continue;
      const batch = wanted.slice(i, i + room);
      this.assign(entry, batch);
      i += batch.length;
      await entry.ref.send({ t: 'subscribe', symbols: batch });
    }
    while (i < wanted.length) {
      const batch = wanted.slice(i, i + this.perConnection);
      this.assign(this.openSlot(batch), batch);
      i += batch.length;
    }
  }

  /** Removes symbols from the connections carrying them, which stay open. */
  async unsubscribe(symbols: readonly string[]): Promise<void> {
    for (const entry of this.slots) {
      const mine = [...new Set(symbols)].filter((s) => this.owner.get(s) === entry);
      if (mine.length === 0) continue;
      for (const s of mine) this.owner.delete(s);
      entry.count -= mine.length;
      await entry.ref.send({ t: 'unsubscribe', symbols: mine });
    }
  }

  private assign(entry: SlotEntry, symbols: readonly string[]): void {
    for (const s of symbols) this.owner.set(s, entry);
    entry.count += symbols.length;
  }

  /** Canonical symbols subscribed (or being subscribed), over all connections. */
  get symbols(): string[] {
    return [...this.owner.keys()].sort();
  }

  /** Connection slots (one per venue connection); exposed for health and tests. */
  get connections(): readonly ConnectionSlot[] {
    return this.slots.map((s) => s.slot);
  }

  /** Waits until everything published so far is acknowledged by JetStream. */
  flush(): Promise<void> {
    return this.publisher.flush();
  }

  private lastFrameAt(): number | null {
    return this.slots.reduce<number | null>((m, { slot }) => (slot.lastFrameAt !== null && (m === null || slot.lastFrameAt > m) ? slot.lastFrameAt : m), null);
  }

  health(): FeedHealth {
    const last = this.lastFrameAt();
    return {
      venue: this.venue,
      connections: this.slots.length,
      connected: this.slots.filter((s) => s.slot.connected).length,
      symbols: this.symbols,
      lastMessageTs: last,
      reconnects: this.stats.reconnects,
      tradesPublished: this.stats.trades,
      dlq: this.stats.dlq,
      updatedAt: Date.now(),
    };
  }

  /** Stops connections, then waits until everything they published is acknowledged. */
  async stop(): Promise<void> {
    clearInterval(this.ageTimer);
    await this.supervisor.stop();
    await this.publisher.flush();
  }

  private openSlot(symbols: string[]): SlotEntry {
    const slot = newSlot(this.slots.length, symbols, this.channels);
    const { log, ns, nats } = this.deps;
    const venue = this.venue;
    const tradesStream = ns.stream(STREAMS.trades);
    // A missing subject answers null; any other error fails the connect (and is retried), since
    // guessing "nothing stored" after a crash would hide the gap the crash left.
    const lastStoredTrade = (symbol: string): Promise<Trade | null> => lastMessageJson<Trade>(nats.jsm, tradesStream, ns.subject(tradeSubject(venue, symbol)));
    const ref = this.supervisor.start<FeedMsg>({
      id: `${venue}#${slot.id}`,
      kind: 'feed',
      mailboxSize: 4096,
      behavior: () =>
        new FeedConnection({
          venue: this.def,
          wsUrl: this.urls.ws,
          slot,
          publisher: this.publisher,
          stats: this.stats,
          connectLimit: this.connectLimit,
          history: this.history,
          ipMessageLimit: this.ipMessageLimit,
          lastStoredTrade,
          timings: this.timings,
          log: log.child({ venue, conn: slot.id }),
        }),
    });
    const entry: SlotEntry = { slot, ref, count: 0 };
    this.slots.push(entry);
    return entry;
  }
}
