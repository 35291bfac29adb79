import { isUtf8 } from 'node:buffer';
import WebSocket from 'ws';
import type { ActorContext, Behavior } from '../../runtime/actor/index.js';
import { backoffDelay, sleep } from '../../runtime/backoff.js';
import type { Logger } from '../../runtime/logger.js';
import { SlidingWindowLimit, type RateLimiter } from '../../runtime/rate-limit.js';
import type { Trade } from '../../schemas/trade.js';
import { feedMetrics, type FeedStats, type ReconnectCause } from './feed-metrics.js';
import type { GapTracker } from './gap-tracker.js';
import type { MarketPublisher } from './market-publisher.js';
import { clearParseOutput, newParseOutput, type FeedChannel, type FrameReject, type ParseOutput, type VenueAdapter } from './venues/types.js';

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

export interface FeedTimings {
  /** No frame for this long → reconnect. */
  silenceMs: number;
  /** Open a replacement connection after this age (Binance cuts at 24 h); 0 = never. */
  rotateAfterMs: number;
  /** Keep the old connection this long after the new one delivers data. */
  rotateOverlapMs: number;
  connectTimeoutMs: number;
  /** Largest gap (trade ids) fetched from REST; larger gaps are counted unfilled. */
  maxBackfill: number;
}

export interface FeedConnectionDeps {
  venue: string;
  createAdapter: () => VenueAdapter;
  wsUrl: string;
  restUrl: string | undefined;
  slot: ConnectionSlot;
  publisher: MarketPublisher;
  stats: FeedStats;
  /** Connection attempts per IP, shared by every connection of the venue. */
  connectLimit: RateLimiter;
  /** REST request weight (backfill), shared by every connection of the venue; null = unlimited. */
  restLimit: RateLimiter | null;
  /** Client messages per IP (Coinbase), shared by every connection of the venue; null = none documented. */
  ipMessageLimit: RateLimiter | null;
  /** Last trade of a symbol already stored in MD_TRADES (seeds gap detection after a crash). */
  lastStoredTrade: (symbol: string) => Promise<Trade | null>;
  timings: FeedTimings;
  log: Logger;
}

/** One open WebSocket with its own protocol state and outgoing message budget. */
interface Link {
  ws: WebSocket;
  gen: number;
  adapter: VenueAdapter;
  out: RateLimiter | null;
  /** Subscribe/unsubscribe requests on this connection (OKX: 480 per hour). */
  subs: RateLimiter | null;
  openedAt: number;
  /** Whether the catch-up after (re)connecting ran (or is not needed, as for a rotation's replacement). */
  caughtUp: boolean;
}

/** Sockets kept parseable after they closed (their frames may still be queued). */
const PARSERS_KEPT = 4;
const BACKFILL_TIMEOUT_MS = 10_000;
const BACKFILL_ATTEMPTS = 3;
const BACKFILL_BACKOFF = { initialMs: 200, maxMs: 2000, multiplier: 2 };
/** REST requests in flight at once while catching up after a reconnect. */
const CATCH_UP_CONCURRENCY = 4;

/**
 * One venue WebSocket connection as an actor: frames arrive as messages and are handled one at
 * a time (parse → classify → publish), so back-pressure from JetStream pauses the socket. A
 * failure (close, error, silence, lost publish) fails the incarnation and the venue's supervisor
 * reconnects with back-off; the slot keeps the subscriptions, the gap tracker and the parsers of
 * recent sockets, so frames received before the failure are still published.
 */
export class FeedConnection implements Behavior<FeedMsg> {
  private link: Link | null = null;
  /** The next connection during a rotation, receiving in parallel until promoted. */
  private replacement: Link | null = null;
  private readonly out: ParseOutput = newParseOutput();
  private readonly timers: NodeJS.Timeout[] = [];
  private promoteTimer: NodeJS.Timeout | null = null;
  private reqId = 1;
  private ctx!: ActorContext<FeedMsg>;
  private readonly onLost = (err: unknown): void => this.failWith('publish', err);

  constructor(private readonly deps: FeedConnectionDeps) {}

  async preStart(ctx: ActorContext<FeedMsg>): Promise<void> {
    this.ctx = ctx;
    ctx.signal.addEventListener('abort', () => this.cleanup(), { once: true });
    const { slot, timings, stats } = this.deps;
    if (slot.incarnations++ > 0) stats.reconnect(slot.endCause ?? 'error');
    // Until this incarnation says otherwise, an end here means the connect itself failed.
    slot.endCause = 'connect-failed';

    const link = await this.connect();
    this.link = link;
    slot.connected = true;
    feedMetrics.connected.inc({ venue: this.deps.venue });
    slot.endCause = 'error';
    await this.seedGaps([...slot.symbols]);
    await this.sendAll(link, link.adapter.subscribeFrames([...slot.symbols], slot.channels, this.nextReqId));

    const ping = link.adapter.appPing;
    if (ping) {
      this.every(ping.intervalMs, () => {
        for (const l of [this.link, this.replacement]) if (l) void this.sendLimited(l, ping.frame()).catch(() => undefined);
      });
    }
    this.every(Math.max(100, Math.min(1000, Math.floor(timings.silenceMs / 4))), () => this.watchdog());
    this.scheduleRotation();
    ctx.log.info({ symbols: slot.symbols.size, gen: link.gen }, 'feed connected');
  }

  async receive(msg: FeedMsg): Promise<void> {
    switch (msg.t) {
      case 'frame':
        return this.onFrame(msg);
      case 'subscribe': {
        const { slot } = this.deps;
        const fresh = msg.symbols.filter((s) => !slot.symbols.has(s));
        for (const s of fresh) slot.symbols.add(s);
        if (fresh.length === 0) return;
        await this.seedGaps(fresh);
        for (const l of [this.link, this.replacement]) if (l) await this.sendAll(l, l.adapter.subscribeFrames(fresh, slot.channels, this.nextReqId));
        return;
      }
      case 'unsubscribe': {
        const { slot } = this.deps;
        const gone = msg.symbols.filter((s) => slot.symbols.delete(s));
        if (gone.length === 0) return;
        for (const l of [this.link, this.replacement]) if (l) await this.sendAll(l, l.adapter.unsubscribeFrames(gone, slot.channels, this.nextReqId));
        return;
      }
      case 'rotate':
        return this.rotate();
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
    for (const t of this.timers) clearTimeout(t);
    this.timers.length = 0;
    for (const l of [this.link, this.replacement]) if (l) discard(l.ws, 'terminate');
    if (this.deps.slot.connected) feedMetrics.connected.dec({ venue: this.deps.venue });
    this.deps.slot.connected = false;
    this.link = null;
    this.replacement = null;
  }

  // ---- frames -----------------------------------------------------------------------------

  private async onFrame(msg: Extract<FeedMsg, { t: 'frame' }>): Promise<void> {
    const { slot, stats, publisher } = this.deps;
    const adapter = slot.parsers.get(msg.gen);
    if (adapter === undefined) {
      stats.frame('stale');
      return;
    }
    slot.lastFrameAt = msg.recvTs;
    if (this.replacement !== null && msg.gen === this.replacement.gen) this.promoteSoon();
    const link = this.link;
    if (link !== null && !link.caughtUp && msg.gen === link.gen) {
      link.caughtUp = true;
      await this.catchUp(link.adapter);
    }
    const out = this.out;
    // ws is told not to validate UTF-8 (a bad text frame would close the connection and lose
    // everything queued behind it); the check is here, so such a frame is one DLQ entry instead.
    const cls = isUtf8(msg.data) ? adapter.parse(msg.data.toString('utf8'), msg.recvTs, out) : encodingReject(out);
    stats.frame(cls);
    try {
      for (const r of out.rejects) {
        const { stored } = await publisher.reject(r, msg.data, this.deps.wsUrl);
        stored.catch(this.onLost);
      }
      for (const trade of out.trades) await this.publishTrade(adapter, trade);
      for (const q of out.quotes) await publisher.quote(q);
    } finally {
      clearParseOutput(out);
    }
  }

  private async publishTrade(adapter: VenueAdapter, trade: Trade): Promise<void> {
    const seq = adapter.tradeSeq?.(trade);
    if (!seq) {
      const { stored } = await this.deps.publisher.trade(trade);
      stored.catch(this.onLost);
      return;
    }
    const gaps = this.deps.slot.gaps;
    const stats = this.deps.stats;
    const verdict = gaps.observe(trade.symbol, seq.first, seq.last);
    if (verdict.kind === 'repeat') {
      stats.repeat(); // overlap after reconnect/rotation: already published
      return;
    }
    if (verdict.kind === 'gap') {
      try {
        await this.fillGap(adapter, trade, verdict.from, verdict.to);
      } catch (err) {
        // Ended mid-backfill (socket closed): this trade is not published either. Move back to
        // before the gap so the next incarnation, seeing the trades queued after it, refills both.
        gaps.rewind(trade.symbol, verdict.from - 1);
        throw err;
      }
    }
    const { stored } = await this.deps.publisher.trade(trade);
    stored.catch((err: unknown) => {
      // Not stored: move the position back so the next trade reveals the hole and backfills it.
      gaps.rewind(trade.symbol, seq.first - 1);
      this.failWith('publish', err);
    });
  }

  /**
   * Publishes trades [from, to] from the venue's REST API before the live trade that revealed the
   * gap. A gap counts as detected once it is settled (filled or not): one aborted by the end of
   * the incarnation is detected again, and counted then.
   */
  private async fillGap(adapter: VenueAdapter, live: Trade, from: number, to: number): Promise<void> {
    const { stats, log } = this.deps;
    const missing = to - from + 1;
    if (!adapter.backfill || !this.deps.restUrl || missing > this.deps.timings.maxBackfill) {
      stats.gap();
      stats.unfilled(missing);
      log.warn({ symbol: live.symbol, from, to, missing, reason: adapter.backfill ? 'too large' : 'no backfill source' }, 'trade id gap not filled');
      return;
    }
    const next = await this.backfillRange(adapter, live, from, to);
    stats.gap();
    if (next > to) stats.gapFilled();
    else {
      stats.unfilled(to - next + 1);
      log.warn({ symbol: live.symbol, from: next, to, missing: to - next + 1 }, 'trade id gap partly filled');
    }
  }

  /**
   * After a reconnect, once the new socket delivers (its subscriptions are live): fetches what
   * each symbol traded since the last id seen, so trades missed while disconnected are stored
   * even if the symbol does not trade again soon (a live trade would reveal the gap only then).
   */
  private async catchUp(adapter: VenueAdapter): Promise<void> {
    const { slot, stats, venue } = this.deps;
    if (!adapter.backfill || !this.deps.restUrl || !adapter.tradeSeq) return;
    const pending = [...slot.symbols].filter((s) => slot.gaps.lastId(s) !== undefined);
    const worker = async (): Promise<void> => {
      for (let symbol = pending.pop(); symbol !== undefined; symbol = pending.pop()) {
        const last = slot.gaps.lastId(symbol);
        if (last === undefined) continue;
        const like: Trade = { venue, symbol, venueSymbol: adapter.toVenueSymbol(symbol), id: '', price: '0', qty: '0', side: 'buy', ts: 0, recvTs: 0 };
        const next = await this.backfillRange(adapter, like, last + 1, last + this.deps.timings.maxBackfill);
        if (next > last + 1) {
          stats.gap();
          stats.gapFilled();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CATCH_UP_CONCURRENCY, pending.length) }, worker));
  }

  /**
   * Publishes the venue's trades with ids in [from, to] (REST, pages in id order, within the
   * venue's REST weight) and advances the gap tracker over them. Returns the first id not
   * published: `to + 1` when complete. Stops early when the venue has no more (yet).
   */
  private async backfillRange(adapter: VenueAdapter, like: Trade, from: number, to: number): Promise<number> {
    const source = adapter.backfill!;
    const { slot, stats, log, publisher } = this.deps;
    let next = from;
    let failures = 0;
    while (next <= to) {
      const limit = Math.min(source.maxPerRequest, to - next + 1);
      let trades: Trade[];
      try {
        if (this.deps.restLimit !== null) await this.deps.restLimit.take(source.weight, this.ctx.signal);
        trades = await this.fetchTrades(source.path(like.venueSymbol, next, limit), (body) => source.parse(body, like, Date.now()));
      } catch (err) {
        if (this.ctx.signal.aborted) throw err;
        if (++failures >= BACKFILL_ATTEMPTS) {
          log.warn({ symbol: like.symbol, from: next, to, err: (err as Error).message }, 'backfill failed');
          break;
        }
        await sleep(backoffDelay(failures, BACKFILL_BACKOFF), this.ctx.signal);
        continue;
      }
      let published = 0;
      for (const t of trades) {
        const s = adapter.tradeSeq?.(t);
        if (!s || s.last < next || s.first > to) continue;
        const { stored } = await publisher.trade(t);
        stored.catch(this.onLost);
        slot.gaps.advance(t.symbol, s.last);
        published++;
        next = s.last + 1;
      }
      stats.backfill(published);
      if (published === 0 || trades.length < limit) break; // the venue has nothing more in the range (yet)
    }
    return next;
  }

  private async fetchTrades(path: string, parse: (body: string) => Trade[]): Promise<Trade[]> {
    const url = this.deps.restUrl + path;
    const res = await fetch(url, { signal: AbortSignal.any([this.ctx.signal, AbortSignal.timeout(BACKFILL_TIMEOUT_MS)]) });
    const body = await res.text();
    if (!res.ok) throw new Error(`backfill ${url} answered ${res.status}: ${body.slice(0, 200)}`);
    return parse(body);
  }

  /** After a crash nothing is in memory: the last trade stored in MD_TRADES says where we were. */
  private async seedGaps(symbols: string[]): Promise<void> {
    const adapter = this.link?.adapter;
    if (!adapter?.tradeSeq) return;
    const { gaps } = this.deps.slot;
    await Promise.all(
      symbols
        .filter((s) => gaps.lastId(s) === undefined)
        .map(async (s) => {
          const t = await this.deps.lastStoredTrade(s);
          const seq = t ? adapter.tradeSeq?.(t) : null;
          if (seq) gaps.seed(s, seq.last);
        }),
    );
  }

  // ---- sockets ----------------------------------------------------------------------------

  /** Opens a socket (within the venue's connect limit) with a fresh adapter, registered for its frames. */
  private async connect(): Promise<Link> {
    const { slot, stats } = this.deps;
    if (!this.deps.connectLimit.tryTake()) {
      feedMetrics.rateLimited.inc({ venue: stats.venue, what: 'connect' });
      await this.deps.connectLimit.take(1, this.ctx.signal);
    }
    const gen = ++slot.gen;
    const adapter = this.deps.createAdapter();
    slot.parsers.set(gen, adapter);
    slot.parsers.delete(gen - PARSERS_KEPT);
    const lim = adapter.limits.messagesPerConnection;
    // One message of the budget stays free for the pong answering the venue's ping (Binance
    // counts pings and pongs), and a small margin on the window: the venue counts on its clock.
    const out = lim ? new SlidingWindowLimit({ limit: Math.max(1, lim.count - 1), windowMs: lim.perMs + 100 }) : null;
    const sub = adapter.limits.subscribesPerConnection;
    const subs = sub ? new SlidingWindowLimit({ limit: sub.count, windowMs: sub.perMs + 1000 }) : null;
    const ws = await this.open(gen);
    return { ws, gen, adapter, out, subs, openedAt: Date.now(), caughtUp: false };
  }

  private open(gen: number): Promise<WebSocket> {
    const { ctx } = this;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.deps.wsUrl, {
        handshakeTimeout: this.deps.timings.connectTimeoutMs,
        perMessageDeflate: false,
        skipUTF8Validation: true,
      });
      const onAbort = (): void => ws.terminate();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      ws.once('open', () => resolve(ws));
      ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
        const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
        const recvTs = Date.now();
        this.deps.slot.lastRecvAt = recvTs;
        const msg: FeedMsg = { t: 'frame', data: buf, recvTs, gen };
        if (!ctx.self.trySend(msg)) {
          // Mailbox full: stop reading the socket until there is room (TCP back-pressure to the venue).
          ws.pause();
          ctx.self.send(msg).then(
            () => ws.resume(),
            () => undefined,
          );
        }
      });
      ws.on('error', (err) => {
        reject(err);
        this.socketEnded(gen, 'error', err);
      });
      ws.once('close', (code, reason) => {
        ctx.signal.removeEventListener('abort', onAbort);
        const err = new Error(`venue closed the connection: ${code} ${reason.toString().slice(0, 100)}`);
        reject(err);
        this.socketEnded(gen, 'closed', err);
      });
    });
  }

  /** The current socket ending fails the incarnation; a replacement ending only aborts the rotation. */
  private socketEnded(gen: number, cause: ReconnectCause, err: Error): void {
    if (this.replacement?.gen === gen) {
      this.deps.log.warn({ err: err.message }, 'replacement connection failed; retrying the rotation later');
      discard(this.replacement.ws, 'terminate');
      this.replacement = null;
      this.later(Math.max(1000, this.deps.timings.rotateOverlapMs), () => this.ctx.self.trySend({ t: 'rotate' }));
      return;
    }
    // While connecting (no link yet) the rejected open() fails the start by itself.
    if (this.link !== null && this.link.gen === gen) this.failWith(cause, err);
  }

  private failWith(cause: ReconnectCause, err: unknown): void {
    if (this.ctx.signal.aborted) return;
    this.deps.slot.endCause = cause;
    this.ctx.fail(err);
  }

  // ---- rotation ---------------------------------------------------------------------------

  private scheduleRotation(): void {
    const after = this.deps.timings.rotateAfterMs;
    if (after > 0) this.later(after, () => this.ctx.self.trySend({ t: 'rotate' }));
  }

  /** Opens the next connection beside the current one; both deliver until the new one is promoted. */
  private async rotate(): Promise<void> {
    if (this.replacement !== null || this.link === null) return;
    this.deps.log.info({ gen: this.link.gen }, 'rotating connection before the venue cut-off');
    let link: Link;
    try {
      link = await this.connect();
    } catch (err) {
      if (this.ctx.signal.aborted) throw err;
      this.deps.log.warn({ err: (err as Error).message }, 'rotation connect failed; retrying later');
      this.later(Math.max(1000, this.deps.timings.rotateOverlapMs), () => this.ctx.self.trySend({ t: 'rotate' }));
      return;
    }
    link.caughtUp = true; // the current connection is still delivering: nothing to catch up
    this.replacement = link;
    await this.sendAll(link, link.adapter.subscribeFrames([...this.deps.slot.symbols], this.deps.slot.channels, this.nextReqId));
    // A quiet market may send nothing on the new socket for a while: promote anyway after a bound.
    this.later(this.deps.timings.rotateOverlapMs + this.deps.timings.silenceMs, () => this.promote(link));
  }

  private promoteSoon(): void {
    if (this.promoteTimer !== null) return;
    const rep = this.replacement!;
    this.promoteTimer = this.later(this.deps.timings.rotateOverlapMs, () => this.promote(rep));
  }

  private promote(rep: Link): void {
    if (this.replacement !== rep || this.link === null) return;
    const old = this.link;
    this.link = rep;
    this.replacement = null;
    this.promoteTimer = null;
    // Close politely; its frames still queued are parsed with its adapter (kept in slot.parsers).
    discard(old.ws, 'close');
    this.deps.stats.reconnect('rotation');
    this.scheduleRotation();
  }

  // ---- liveness and sending ---------------------------------------------------------------

  private watchdog(): void {
    const link = this.link;
    if (link === null) return;
    const last = Math.max(this.deps.slot.lastRecvAt, link.openedAt);
    const silent = Date.now() - last;
    if (silent > this.deps.timings.silenceMs) this.failWith('silence', new Error(`no frame for ${silent} ms`));
  }

  private every(ms: number, fn: () => void): void {
    if (!this.ctx.signal.aborted) this.timers.push(setInterval(fn, ms));
  }

  /** A timer owned by this incarnation: never armed once it ended, cleared when it ends. */
  private later(ms: number, fn: () => void): NodeJS.Timeout | null {
    if (this.ctx.signal.aborted) return null;
    const t = setTimeout(fn, ms);
    this.timers.push(t);
    return t;
  }

  private readonly nextReqId = (): number => this.reqId++;

  /** Subscribe/unsubscribe requests: each also spends the connection's subscription budget. */
  private async sendAll(link: Link, frames: string[]): Promise<void> {
    for (const f of frames) {
      await this.within(link.subs, 'subscribe');
      await this.sendLimited(link, f);
    }
  }

  private async sendLimited(link: Link, frame: string): Promise<void> {
    if (link.ws.readyState !== WebSocket.OPEN) return;
    await this.within(link.out, 'message');
    await this.within(this.deps.ipMessageLimit, 'message');
    if (link.ws.readyState === WebSocket.OPEN) link.ws.send(frame);
  }

  private async within(limit: RateLimiter | null, what: string): Promise<void> {
    if (limit === null || limit.tryTake()) return;
    feedMetrics.rateLimited.inc({ venue: this.deps.venue, what });
    await limit.take(1, this.ctx.signal);
  }
}

const ENCODING_REJECT: FrameReject = { reason: 'encoding', schemaPath: '', detail: 'frame is not valid UTF-8 text', raw: '' };

function encodingReject(out: ParseOutput): 'reject' {
  out.rejects.push(ENCODING_REJECT);
  return 'reject';
}

/** Detaches a socket we no longer read; late errors from it are swallowed. */
function discard(ws: WebSocket, how: 'close' | 'terminate'): void {
  ws.removeAllListeners();
  ws.on('error', () => undefined);
  if (how === 'close') ws.close(1000);
  else ws.terminate();
}
