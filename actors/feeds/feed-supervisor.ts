import { Supervisor, type ActorRef, type SupervisorPolicy } from '../../runtime/actor/index.js';
import type { Logger } from '../../runtime/logger.js';
import type { Namespace } from '../../runtime/namespace.js';
import type { NatsHandles } from '../../runtime/nats.js';
import { PipelinedPublisher } from '../../runtime/publisher.js';
import { SlidingWindowLimit, TokenBucket, type RateLimiter } from '../../runtime/rate-limit.js';
import type { FeedHealth } from '../../schemas/state.js';
import { STREAMS, tradeSubject } from '../../schemas/subjects.js';
import type { Trade } from '../../schemas/trade.js';
import { list } from '../../runtime/config.js';
import { urlsFor, type FeedConfig } from './config.js';
import { FeedConnection, type ConnectionSlot, type FeedMsg, type FeedTimings } from './feed-connection.js';
import { feedMetrics, FeedStats } from './feed-metrics.js';
import { GapTracker } from './gap-tracker.js';
import { MarketPublisher } from './market-publisher.js';
import { createAdapter } from './venues/registry.js';
import type { FeedChannel, VenueAdapter } from './venues/types.js';

/** One venue connection: its slot (shared with the actor), its actor, and the symbols assigned to it. */
interface SlotEntry {
  slot: ConnectionSlot;
  ref: ActorRef<FeedMsg>;
  count: number;
}

export interface FeedSupervisorDeps {
  venue: string;
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
  private readonly probe: VenueAdapter;
  private readonly connectLimit: RateLimiter;
  private readonly restLimit: RateLimiter | null;
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
    const { venue, cfg, log } = deps;
    this.venue = venue;
    this.probe = createAdapter(venue);
    const override = urlsFor(cfg, venue);
    this.urls = { ws: override.ws ?? this.probe.wsUrl, rest: override.rest ?? this.probe.restUrl };
    const policy: SupervisorPolicy = {
      strategy: 'one-for-one',
      backoff: { initialMs: cfg.TICKWORK_FEED_BACKOFF_INITIAL_MS, maxMs: cfg.TICKWORK_FEED_BACKOFF_MAX_MS, multiplier: 2, resetAfterMs: cfg.TICKWORK_FEED_BACKOFF_RESET_MS },
      intensity: { maxRestarts: cfg.TICKWORK_FEED_MAX_RESTARTS_PER_MIN, withinMs: 60_000 },
    };
    this.supervisor = new Supervisor(`feed:${venue}`, policy, {
      log: log.child({ venue }),
      ...(deps.parent ? { parent: deps.parent } : {}),
      ...(deps.onEscalate ? { onEscalate: deps.onEscalate } : {}),
    });
    const w = this.probe.limits.restWeightPerMin;
    // Half the venue's per-IP budget: a second feed replica on the same IP must fit beside us.
    this.restLimit = w ? new TokenBucket({ capacity: w / 2, refillPerSec: w / 2 / 60 }) : null;
    const ipm = this.probe.limits.messagesPerIp;
    this.ipMessageLimit = ipm ? new SlidingWindowLimit({ limit: ipm.count, windowMs: ipm.perMs + 100 }) : null;
    const c = this.probe.limits.connectsPerIp;
    this.connectLimit = c ? new SlidingWindowLimit({ limit: c.count, windowMs: c.perMs + 1000 }) : new SlidingWindowLimit({ limit: 1000, windowMs: 1000 });
    this.stats = new FeedStats(venue);
    this.publisher = new MarketPublisher(new PipelinedPublisher(deps.nats, { maxInFlight: cfg.TICKWORK_FEED_MAX_IN_FLIGHT }), deps.ns, this.stats);
    this.channels = list(cfg.TICKWORK_FEED_CHANNELS) as FeedChannel[];
    const maxStreams = this.probe.limits.maxStreamsPerConnection ?? Infinity;
    this.perConnection = Math.max(1, Math.floor(maxStreams / Math.max(1, this.channels.length)));
    this.timings = {
      silenceMs: cfg.TICKWORK_FEED_SILENCE_MS,
      rotateAfterMs: rotationAge(cfg.TICKWORK_FEED_ROTATE_AFTER_MS, cfg.TICKWORK_FEED_ROTATE_OVERLAP_MS, this.probe.limits.maxConnectionAgeMs),
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
    const slot: ConnectionSlot = {
      id: this.slots.length,
      symbols: new Set(symbols),
      channels: this.channels,
      gaps: new GapTracker(),
      lastFrameAt: null,
      lastRecvAt: 0,
      connected: false,
      incarnations: 0,
      gen: 0,
      parsers: new Map(),
      endCause: null,
    };
    const { venue, log, ns, nats } = this.deps;
    const tradesStream = ns.stream(STREAMS.trades);
    // A missing subject answers null; any other error fails the connect (and is retried), since
    // guessing "nothing stored" after a crash would hide the gap the crash left.
    const lastStoredTrade = async (symbol: string): Promise<Trade | null> => {
      const m = await nats.jsm.streams.getMessage(tradesStream, { last_by_subj: ns.subject(tradeSubject(venue, symbol)) });
      return m ? m.json<Trade>() : null;
    };
    const ref = this.supervisor.start<FeedMsg>({
      id: `${venue}#${slot.id}`,
      kind: 'feed',
      mailboxSize: 4096,
      behavior: () =>
        new FeedConnection({
          venue,
          createAdapter: () => createAdapter(venue),
          wsUrl: this.urls.ws,
          restUrl: this.urls.rest,
          slot,
          publisher: this.publisher,
          stats: this.stats,
          connectLimit: this.connectLimit,
          restLimit: this.restLimit,
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

/**
 * When to rotate: only venues that cut connections at a fixed age (Binance, 24 h) need it, and
 * never later than that cut-off minus the overlap and a minute, so the replacement is delivering
 * before the venue drops the old connection. `configuredMs` 0 turns rotation off.
 */
export function rotationAge(configuredMs: number, overlapMs: number, venueMaxAgeMs: number | undefined): number {
  if (venueMaxAgeMs === undefined || configuredMs <= 0) return 0;
  return Math.min(configuredMs, Math.max(1000, venueMaxAgeMs - overlapMs - 60_000));
}
