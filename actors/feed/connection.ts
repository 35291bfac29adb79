import { isUtf8 } from 'node:buffer';
import { IncarnationTimers, type ActorContext, type Behavior } from '../../runtime/actor/index.js';
import { TickworkError } from '../../runtime/errors.js';
import type { Logger } from '../../runtime/logger.js';
import { SlidingWindowLimit, type RateLimiter } from '../../runtime/rate-limit.js';
import { SocketLink, type SendBudget, type SocketEnd } from '../../runtime/transport/index.js';
import type { Trade } from '../../schemas/trade.js';
import {
  clearParseOutput,
  newParseOutput,
  type FeedChannel,
  type FrameReject,
  type ParseOutput,
  type TradeHistory,
  type Venue,
  type VenueAdapter,
} from '../../venues/kit/types.js';
import type { ConnectionBooks } from './book-driver.js';
import { GapFiller } from './gap-filler.js';
import { GapTracker } from './gap-tracker.js';
import { feedMetrics, type FeedStats, type ReconnectCause } from './metrics.js';
import type { MarketPublisher } from './publisher.js';
import { Rotation, type Link } from './rotation.js';

export type FeedMsg =
  | { t: 'frame'; data: Buffer; recvTs: number; gen: number }
  | { t: 'subscribe'; symbols: string[] }
  | { t: 'unsubscribe'; symbols: string[] }
  | { t: 'rotate' };

/** What one connection carries; owned by the venue feed so it outlives restarts of the actor. */
export interface ConnectionSlot {
  id: number;
  symbols: Set<string>;
  channels: readonly FeedChannel[];
  gaps: GapTracker;
  /** Epoch ms of the last frame handled (parsed and published), for health. */
  lastFrameAt: number | null;
  /** Epoch ms of the last frame off the socket, for the watchdog (a long backfill delays handling, not receipt). */
  lastRecvAt: number;
  connected: boolean;
  incarnations: number;
  /** Socket generation, increasing across incarnations; every frame carries the one it came from. */
  gen: number;
  /**
   * The adapter of each recent socket, by generation. Frames still queued when a socket died are
   * parsed by the next incarnation with the adapter that knew that socket's subscriptions.
   */
  parsers: Map<number, VenueAdapter>;
  /** Why the previous incarnation ended, for the reconnect metric. */
  endCause: ReconnectCause | null;
}

/** A slot before its first socket: nothing received, no generation, no adapter yet. */
export function newSlot(id: number, symbols: Iterable<string>, channels: readonly FeedChannel[]): ConnectionSlot {
  return { id, symbols: new Set(symbols), channels, gaps: new GapTracker(), lastFrameAt: null, lastRecvAt: 0, connected: false, incarnations: 0, gen: 0, parsers: new Map(), endCause: null };
}

export interface FeedTimings {
  /** No frame for this long → reconnect. */
  silenceMs: number;
  /** Open a replacement connection after this age (Binance cuts at 24 h); 0 = never. */
  rotateAfterMs: number;
  /** Keep the old connection this long after the new one delivers data. */
  rotateOverlapMs: number;
  connectTimeoutMs: number;
  /** Largest gap (trade ids) fetched from history; larger gaps are counted unfilled. */
  maxBackfill: number;
}

export interface FeedConnectionDeps {
  venue: Venue;
  /** The venue's WebSocket endpoint (or its `<VENUE>_WS_URL` override). */
  wsUrl: string;
  slot: ConnectionSlot;
  publisher: MarketPublisher;
  stats: FeedStats;
  /** Connection attempts per IP, shared by every connection of the venue. */
  connectLimit: RateLimiter;
  /** Client messages per IP (Coinbase), shared by every connection of the venue; null = none documented. */
  ipMessageLimit: RateLimiter | null;
  /** The venue's trade history for gap filling; null where it has none. */
  history: TradeHistory | null;
  /** Last trade of a symbol already stored in MD_TRADES (seeds gap detection after a crash). */
  lastStoredTrade: (symbol: string) => Promise<Trade | null>;
  timings: FeedTimings;
  log: Logger;
  /** Book connections (book-feed.ts): the L2 books this connection's `books` frames feed. */
  books?: ConnectionBooks;
}

/** Sockets kept parseable after they closed (their frames may still be queued). */
const PARSERS_KEPT = 4;

/**
 * One venue WebSocket connection as an actor: frames arrive as messages and are handled one at
 * a time (parse → classify → publish), so back-pressure from JetStream pauses the socket. A
 * failure (close, error, silence, lost publish) fails the incarnation and the venue's supervisor
 * reconnects with back-off; the slot keeps the subscriptions, the gap tracker and the parsers of
 * recent sockets, so frames received before the failure are still published. Gap filling is the
 * GapFiller's, rotation the Rotation's, the socket the runtime's SocketLink.
 */
export class FeedConnection implements Behavior<FeedMsg> {
  private readonly out: ParseOutput = newParseOutput();
  private reqId = 1;
  private ctx!: ActorContext<FeedMsg>;
  private timers!: IncarnationTimers;
  private gaps!: GapFiller;
  private rotation!: Rotation;

  constructor(private readonly deps: FeedConnectionDeps) {}

  async preStart(ctx: ActorContext<FeedMsg>): Promise<void> {
    this.ctx = ctx;
    this.timers = new IncarnationTimers(ctx.signal);
    const { slot, timings, stats, log } = this.deps;
    this.gaps = new GapFiller({
      venue: this.deps.venue.id,
      gaps: slot.gaps,
      history: this.deps.history,
      publisher: this.deps.publisher,
      stats,
      maxBackfill: timings.maxBackfill,
      lastStoredTrade: this.deps.lastStoredTrade,
      signal: ctx.signal,
      onLost: (err) => this.failWith('publish', err),
      log,
    });
    this.rotation = new Rotation({
      rotateAfterMs: timings.rotateAfterMs,
      rotateOverlapMs: timings.rotateOverlapMs,
      silenceMs: timings.silenceMs,
      stats,
      log,
      timers: this.timers,
      signal: ctx.signal,
      connect: () => this.connect(),
      subscribe: (link) => this.sendAll(link, link.adapter.subscribeFrames([...slot.symbols], slot.channels, this.nextReqId)),
      request: () => void ctx.self.trySend({ t: 'rotate' }),
    });
    ctx.signal.addEventListener('abort', () => this.cleanup(), { once: true });
    if (slot.incarnations++ > 0) stats.reconnect(slot.endCause ?? 'error');
    // Until this incarnation says otherwise, an end here means the connect itself failed.
    slot.endCause = 'connect-failed';

    const link = await this.connect();
    this.rotation.current = link;
    slot.connected = true;
    feedMetrics.connected.inc({ venue: this.deps.venue.id });
    slot.endCause = 'error';
    await this.gaps.seed(link.adapter, [...slot.symbols]);
    await this.sendAll(link, link.adapter.subscribeFrames([...slot.symbols], slot.channels, this.nextReqId));

    const ping = link.adapter.appPing;
    if (ping) {
      this.timers.every(ping.intervalMs, () => {
        for (const l of this.rotation.links()) void l.socket.send(ping.frame()).catch(() => undefined);
      });
    }
    this.timers.every(Math.max(100, Math.min(1000, Math.floor(timings.silenceMs / 4))), () => this.watchdog());
    this.rotation.schedule();
    ctx.log.info({ symbols: slot.symbols.size, gen: link.gen }, 'feed connected');
  }

  receive(msg: FeedMsg): void | Promise<void> {
    if (msg.t === 'frame') return this.onFrame(msg);
    return this.control(msg);
  }

  private async control(msg: Exclude<FeedMsg, { t: 'frame' }>): Promise<void> {
    const { slot } = this.deps;
    switch (msg.t) {
      case 'subscribe': {
        const fresh = msg.symbols.filter((s) => !slot.symbols.has(s));
        for (const s of fresh) slot.symbols.add(s);
        if (fresh.length === 0) return;
        const current = this.rotation.current;
        if (current) await this.gaps.seed(current.adapter, fresh);
        for (const l of this.rotation.links()) await this.sendAll(l, l.adapter.subscribeFrames(fresh, slot.channels, this.nextReqId));
        return;
      }
      case 'unsubscribe': {
        const gone = msg.symbols.filter((s) => slot.symbols.delete(s));
        if (gone.length === 0) return;
        for (const l of this.rotation.links()) await this.sendAll(l, l.adapter.unsubscribeFrames(gone, slot.channels, this.nextReqId));
        return;
      }
      case 'rotate':
        return this.rotation.rotate();
    }
  }

  postStop(): void {
    this.cleanup();
  }

  /**
   * Runs when the incarnation ends (its signal aborts), also when it failed during preStart and
   * postStop is therefore skipped: timers and sockets must never outlive their incarnation.
   */
  private cleanup(): void {
    this.deps.books?.unlinked(Date.now());
    this.timers.clear();
    this.rotation.close();
    if (this.deps.slot.connected) feedMetrics.connected.dec({ venue: this.deps.venue.id });
    this.deps.slot.connected = false;
  }

  // ---- frames -----------------------------------------------------------------------------

  /**
   * Parse, classify, publish: synchronous while the publisher has room and no gap needs filling,
   * so a frame's events go out as one batch and the mailbox keeps draining without an await per
   * frame. Back-pressure: when the PubAcks in flight reach the bound, the next frame waits.
   */
  private onFrame(msg: Extract<FeedMsg, { t: 'frame' }>): void | Promise<void> {
    const { slot, stats } = this.deps;
    const adapter = slot.parsers.get(msg.gen);
    if (adapter === undefined) {
      stats.frame('stale');
      return;
    }
    slot.lastFrameAt = msg.recvTs;
    this.rotation.delivered(msg.gen);
    const link = this.rotation.current;
    if (link !== null && !link.caughtUp && msg.gen === link.gen) {
      link.caughtUp = true;
      return this.gaps.catchUp(link.adapter, [...slot.symbols]).then(() => this.handleFrame(msg, adapter));
    }
    return this.handleFrame(msg, adapter);
  }

  private handleFrame(msg: Extract<FeedMsg, { t: 'frame' }>, adapter: VenueAdapter): void | Promise<void> {
    const { stats, publisher } = this.deps;
    const out = this.out;
    // The socket does not validate UTF-8 (a bad text frame would close the connection and lose
    // everything queued behind it); the check is here, so such a frame is one DLQ entry instead.
    const cls = isUtf8(msg.data) ? adapter.parse(msg.data.toString('utf8'), msg.recvTs, out) : encodingReject(out);
    stats.frame(cls);
    let rest: Promise<void> | undefined;
    try {
      for (const r of out.rejects) publisher.reject(r, msg.data, this.deps.wsUrl, this.lostIfFailed);
      for (let i = 0; i < out.trades.length; i++) {
        const filling = this.gaps.publish(adapter, out.trades[i]!);
        if (filling) return (rest = this.finishFrame(adapter, filling, i + 1));
      }
      for (const q of out.quotes) publisher.quote(q);
      if (out.books.length > 0) this.deps.books?.frames(msg.gen, out.books, msg.data, msg.recvTs);
    } finally {
      if (rest === undefined) clearParseOutput(out);
    }
    if (!publisher.hasRoom) return publisher.room();
  }

  /** The rest of a frame after a gap fill: its later trades, then its quotes (the output stays until then). */
  private async finishFrame(adapter: VenueAdapter, filling: Promise<void>, from: number): Promise<void> {
    const { publisher } = this.deps;
    const out = this.out;
    try {
      await filling;
      for (let i = from; i < out.trades.length; i++) await this.gaps.publish(adapter, out.trades[i]!);
      for (const q of out.quotes) publisher.quote(q);
    } finally {
      clearParseOutput(out);
    }
    if (!publisher.hasRoom) await publisher.room();
  }

  private readonly lostIfFailed = (err: unknown): void => {
    if (err !== null) this.failWith('publish', err);
  };

  // ---- sockets ----------------------------------------------------------------------------

  /** Opens a socket (within the venue's connect limit) with a fresh adapter, registered for its frames. */
  private async connect(): Promise<Link> {
    const { slot, stats, venue } = this.deps;
    const { signal, self } = this.ctx;
    if (!this.deps.connectLimit.tryTake()) {
      feedMetrics.rateLimited.inc({ venue: stats.venue, what: 'connect' });
      await this.deps.connectLimit.take(1, signal);
    }
    const gen = ++slot.gen;
    const adapter = venue.createAdapter();
    slot.parsers.set(gen, adapter);
    slot.parsers.delete(gen - PARSERS_KEPT);
    const budgets: SendBudget[] = [];
    const lim = venue.limits.messagesPerConnection;
    // One message of the budget stays free for the pong answering the venue's ping (Binance
    // counts pings and pongs), and a small margin on the window: the venue counts on its clock.
    if (lim) budgets.push({ name: 'message', limiter: new SlidingWindowLimit({ limit: Math.max(1, lim.count - 1), windowMs: lim.perMs + 100 }) });
    if (this.deps.ipMessageLimit) budgets.push({ name: 'message', limiter: this.deps.ipMessageLimit });
    const sub = venue.limits.subscribesPerConnection;
    const subs: SendBudget[] = sub ? [{ name: 'subscribe', limiter: new SlidingWindowLimit({ limit: sub.count, windowMs: sub.perMs + 1000 }) }] : [];
    const socket = await SocketLink.open({
      url: this.deps.wsUrl,
      variable: `${venue.envPrefix}_WS_URL`,
      connectTimeoutMs: this.deps.timings.connectTimeoutMs,
      signal,
      budgets,
      onThrottled: (what) => feedMetrics.rateLimited.inc({ venue: venue.id, what }),
      onFrame: (data, recvTs) => {
        slot.lastRecvAt = recvTs;
        const msg: FeedMsg = { t: 'frame', data, recvTs, gen };
        // Mailbox full: stop reading the socket until there is room (TCP back-pressure to the venue).
        if (!self.trySend(msg)) return self.send(msg);
      },
      onEnd: (how, err) => this.socketEnded(gen, how, err),
    });
    const link: Link = { socket, gen, adapter, subs, caughtUp: false };
    this.deps.books?.linked(gen, adapter, (frames) => this.sendAll(link, frames));
    return link;
  }

  /** The current socket ending fails the incarnation; a replacement ending only aborts the rotation. */
  private socketEnded(gen: number, how: SocketEnd, err: Error): void {
    if (this.rotation.ended(gen, err)) return;
    // While connecting (no link yet) the rejected open() fails the start by itself.
    if (this.rotation.current?.gen === gen) this.failWith(how, err);
  }

  private failWith(cause: ReconnectCause, err: unknown): void {
    if (this.ctx.signal.aborted) return;
    this.deps.slot.endCause = cause;
    this.ctx.fail(err);
  }

  private watchdog(): void {
    const link = this.rotation.current;
    if (link === null) return;
    const last = Math.max(this.deps.slot.lastRecvAt, link.socket.openedAt);
    const silent = Date.now() - last;
    if (silent > this.deps.timings.silenceMs) this.failWith('silence', new TickworkError('SERVICE_UNAVAILABLE', `${this.deps.wsUrl}: no frame for ${silent} ms`));
  }

  private readonly nextReqId = (): number => this.reqId++;

  /** Subscribe/unsubscribe requests: each also spends the socket's subscription budget. */
  private async sendAll(link: Link, frames: string[]): Promise<void> {
    for (const f of frames) await link.socket.send(f, link.subs);
  }
}

const ENCODING_REJECT: FrameReject = { reason: 'encoding', schemaPath: '', detail: 'frame is not valid UTF-8 text', raw: '' };

function encodingReject(out: ParseOutput): 'reject' {
  out.rejects.push(ENCODING_REJECT);
  return 'reject';
}
