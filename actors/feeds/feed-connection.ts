import WebSocket from 'ws';
import type { ActorContext, Behavior } from '../../runtime/actor/index.js';
import type { Logger } from '../../runtime/logger.js';
import { SlidingWindowLimit, type RateLimiter } from '../../runtime/rate-limit.js';
import type { Trade } from '../../schemas/trade.js';
import { feedMetrics } from './feed-metrics.js';
import type { GapTracker } from './gap-tracker.js';
import type { MarketPublisher } from './market-publisher.js';
import { clearParseOutput, newParseOutput, type FeedChannel, type ParseOutput, type VenueAdapter } from './venues/types.js';

export type FeedMsg =
  | { t: 'frame'; data: Buffer; recvTs: number; socket: number }
  | { t: 'subscribe'; symbols: string[] }
  | { t: 'unsubscribe'; symbols: string[] }
  | { t: 'rotate' };

/** What one connection carries; owned by the venue feed so it outlives restarts of the actor. */
export interface ConnectionSlot {
  id: number;
  symbols: Set<string>;
  channels: readonly FeedChannel[];
  gaps: GapTracker;
  /** Epoch ms of the last frame received, for health and the watchdog. */
  lastFrameAt: number | null;
  connected: boolean;
  incarnations: number;
}

export interface FeedTimings {
  /** No frame for this long → reconnect. */
  silenceMs: number;
  /** Open a replacement connection after this age (Binance cuts at 24 h). */
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
  /** Connection attempts per IP, shared by every connection of the venue. */
  connectLimit: RateLimiter;
  /** Last trade of a symbol already stored in MD_TRADES (seeds gap detection after a crash). */
  lastStoredTrade: (symbol: string) => Promise<Trade | null>;
  timings: FeedTimings;
  log: Logger;
}

/**
 * One venue WebSocket connection as an actor: frames arrive as messages and are handled one at
 * a time (parse → classify → publish), so back-pressure from JetStream pauses the socket. A
 * failure (close, error, silence, lost publish) fails the incarnation and the venue's supervisor
 * reconnects with back-off; the slot keeps the subscriptions and the gap tracker.
 */
export class FeedConnection implements Behavior<FeedMsg> {
  private adapter!: VenueAdapter;
  private socket: WebSocket | null = null;
  private socketGen = 0;
  private replacement: { ws: WebSocket; gen: number } | null = null;
  private outLimit: RateLimiter | null = null;
  private readonly out: ParseOutput = newParseOutput();
  private readonly timers: NodeJS.Timeout[] = [];
  private reqId = 1;
  private ctx!: ActorContext<FeedMsg>;

  constructor(private readonly deps: FeedConnectionDeps) {}

  async preStart(ctx: ActorContext<FeedMsg>): Promise<void> {
    this.ctx = ctx;
    const { slot, timings, venue } = this.deps;
    this.adapter = this.deps.createAdapter();
    const lim = this.adapter.limits.messagesPerConnection;
    // A small margin on the window: the venue counts on its clock, we send on ours.
    if (lim) this.outLimit = new SlidingWindowLimit({ limit: lim.count, windowMs: lim.perMs + 100 });
    if (slot.incarnations++ > 0) feedMetrics.reconnects.inc({ venue, cause: 'restart' });

    if (!this.deps.connectLimit.tryTake()) {
      feedMetrics.rateLimited.inc({ venue, what: 'connect' });
      await this.deps.connectLimit.take(1, ctx.signal);
    }
    this.socket = await this.open(++this.socketGen);
    slot.connected = true;
    feedMetrics.connected.inc({ venue });
    await this.seedGaps([...slot.symbols]);
    await this.sendAll(this.socket, this.adapter.subscribeFrames([...slot.symbols], slot.channels, () => this.reqId++));

    const ping = this.adapter.appPing;
    if (ping) this.every(ping.intervalMs, () => this.sendLimited(this.socket, ping.frame()));
    this.every(Math.max(250, Math.floor(timings.silenceMs / 4)), () => this.watchdog());
    if (timings.rotateAfterMs > 0) this.timers.push(setTimeout(() => ctx.self.trySend({ t: 'rotate' }), timings.rotateAfterMs));
    ctx.log.info({ symbols: slot.symbols.size, url: this.deps.wsUrl }, 'feed connected');
  }

  async receive(msg: FeedMsg): Promise<void> {
    switch (msg.t) {
      case 'frame':
        return this.onFrame(msg);
      case 'subscribe': {
        const fresh = msg.symbols.filter((s) => !this.deps.slot.symbols.has(s));
        for (const s of fresh) this.deps.slot.symbols.add(s);
        await this.seedGaps(fresh);
        if (this.socket && fresh.length) await this.sendAll(this.socket, this.adapter.subscribeFrames(fresh, this.deps.slot.channels, () => this.reqId++));
        return;
      }
      case 'unsubscribe': {
        const gone = msg.symbols.filter((s) => this.deps.slot.symbols.delete(s));
        if (this.socket && gone.length) await this.sendAll(this.socket, this.adapter.unsubscribeFrames(gone, this.deps.slot.channels, () => this.reqId++));
        return;
      }
      case 'rotate':
        return this.rotate();
    }
  }

  postStop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.length = 0;
    for (const ws of [this.socket, this.replacement?.ws]) {
      if (!ws) continue;
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
    }
    if (this.deps.slot.connected) feedMetrics.connected.dec({ venue: this.deps.venue });
    this.deps.slot.connected = false;
    this.socket = null;
    this.replacement = null;
  }

  private async onFrame(msg: Extract<FeedMsg, { t: 'frame' }>): Promise<void> {
    const { slot, venue, publisher } = this.deps;
    if (msg.socket !== this.socketGen && msg.socket !== this.replacement?.gen) return;
    slot.lastFrameAt = msg.recvTs;
    if (this.replacement && msg.socket === this.replacement.gen) this.promoteReplacementSoon();
    const raw = msg.data.toString('utf8');
    const out = this.out;
    const cls = this.adapter.parse(raw, msg.recvTs, out);
    feedMetrics.frames.inc({ venue, class: cls.startsWith('ignored:') ? 'ignored' : cls });
    try {
      for (const r of out.rejects) {
        const { stored } = await publisher.reject(r, msg.data, this.deps.wsUrl);
        stored.catch((err: unknown) => this.ctx.fail(err));
      }
      for (const trade of out.trades) await this.publishTrade(trade);
      for (const q of out.quotes) await publisher.quote(q);
    } finally {
      clearParseOutput(out);
    }
  }

  private async publishTrade(trade: Trade): Promise<void> {
    const seq = this.adapter.tradeSeq?.(trade);
    if (seq) {
      const verdict = this.deps.slot.gaps.observe(trade.symbol, seq.first, seq.last);
      if (verdict.kind === 'repeat') return; // overlap after reconnect/rotation: already published
      if (verdict.kind === 'gap') await this.fillGap(trade, verdict.from, verdict.to);
    }
    const { stored } = await this.deps.publisher.trade(trade);
    stored.catch((err: unknown) => {
      // Not stored: forget the position so the next incarnation re-seeds from MD_TRADES and backfills.
      this.deps.slot.gaps.forget(trade.symbol);
      this.ctx.fail(err);
    });
  }

  /** Publishes trades [from, to] from the venue's REST API before the live trade that revealed the gap. */
  private async fillGap(live: Trade, from: number, to: number): Promise<void> {
    const { venue, log } = this.deps;
    feedMetrics.gapsDetected.inc({ venue });
    const source = this.adapter.backfill;
    const missing = to - from + 1;
    if (!source || !this.deps.restUrl || missing > this.deps.timings.maxBackfill) {
      feedMetrics.gapTradesMissing.inc({ venue }, missing);
      log.warn({ symbol: live.symbol, from, to, missing, reason: source ? 'too large' : 'no backfill source' }, 'trade id gap not filled');
      return;
    }
    let next = from;
    try {
      while (next <= to) {
        const limit = Math.min(source.maxPerRequest, to - next + 1);
        const url = this.deps.restUrl + source.path(live.venueSymbol, next, limit);
        const res = await fetch(url, { signal: AbortSignal.any([this.ctx.signal, AbortSignal.timeout(10_000)]) });
        if (!res.ok) throw new Error(`backfill ${url} answered ${res.status}`);
        const body = await res.text();
        const trades = source.parse(body, live, Date.now());
        if (trades.length === 0) break;
        for (const t of trades) {
          const s = this.adapter.tradeSeq?.(t);
          if (!s || s.last < next || s.first > to) continue;
          const { stored } = await this.deps.publisher.trade(t);
          stored.catch((err: unknown) => this.ctx.fail(err));
          feedMetrics.backfilled.inc({ venue });
          next = s.last + 1;
        }
        if (trades.length < limit) break;
      }
    } catch (err) {
      if (this.ctx.signal.aborted) throw err;
      log.warn({ symbol: live.symbol, from: next, to, err: (err as Error).message }, 'backfill failed');
    }
    if (next > to) feedMetrics.gapsFilled.inc({ venue });
    else {
      feedMetrics.gapTradesMissing.inc({ venue }, to - next + 1);
      log.warn({ symbol: live.symbol, from: next, to, missing: to - next + 1 }, 'trade id gap partly filled');
    }
  }

  /** After a crash nothing is in memory: the last trade stored in MD_TRADES says where we were. */
  private async seedGaps(symbols: string[]): Promise<void> {
    if (!this.adapter.tradeSeq) return;
    const { gaps } = this.deps.slot;
    await Promise.all(
      symbols
        .filter((s) => gaps.lastId(s) === undefined)
        .map(async (s) => {
          const t = await this.deps.lastStoredTrade(s).catch(() => null);
          const seq = t ? this.adapter.tradeSeq?.(t) : null;
          if (seq) gaps.seed(s, seq.last);
        }),
    );
  }

  private open(gen: number): Promise<WebSocket> {
    const { ctx } = this;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.deps.wsUrl, { handshakeTimeout: this.deps.timings.connectTimeoutMs, perMessageDeflate: false });
      const onAbort = () => ws.terminate();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      ws.once('open', () => resolve(ws));
      ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
        const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
        const msg: FeedMsg = { t: 'frame', data: buf, recvTs: Date.now(), socket: gen };
        if (!ctx.self.trySend(msg)) {
          // Mailbox full: stop reading the socket until there is room (TCP back-pressure to the venue).
          ws.pause();
          ctx.self.send(msg).then(
            () => ws.resume(),
            () => undefined,
          );
        }
      });
      ws.once('error', (err) => {
        reject(err);
        ctx.fail(err);
      });
      ws.once('close', (code, reason) => {
        ctx.signal.removeEventListener('abort', onAbort);
        const err = new Error(`venue closed the connection: ${code} ${reason.toString().slice(0, 100)}`);
        reject(err);
        if (gen === this.socketGen) ctx.fail(err);
      });
    });
  }

  private async rotate(): Promise<void> {
    if (this.replacement || !this.socket) return;
    this.deps.log.info({ slot: this.deps.slot.id }, 'rotating connection before the venue cut-off');
    await this.deps.connectLimit.take(1, this.ctx.signal);
    const gen = ++this.socketGen;
    // Frames of the old socket still count while both are open; the gap tracker drops repeats.
    const old = this.socket;
    this.socketGen = gen - 1;
    const ws = await this.open(gen);
    this.replacement = { ws, gen };
    await this.sendAll(ws, this.adapter.subscribeFrames([...this.deps.slot.symbols], this.deps.slot.channels, () => this.reqId++));
    this.timers.push(setTimeout(() => this.promote(old), this.deps.timings.rotateOverlapMs * 4));
  }

  private promoteTimer: NodeJS.Timeout | null = null;
  private promoteReplacementSoon(): void {
    if (this.promoteTimer || !this.socket) return;
    const old = this.socket;
    this.promoteTimer = setTimeout(() => this.promote(old), this.deps.timings.rotateOverlapMs);
    this.timers.push(this.promoteTimer);
  }

  private promote(old: WebSocket): void {
    const rep = this.replacement;
    if (!rep || this.socket !== old) return;
    this.socket = rep.ws;
    this.socketGen = rep.gen;
    this.replacement = null;
    this.promoteTimer = null;
    old.removeAllListeners();
    old.on('error', () => undefined);
    old.close();
    feedMetrics.reconnects.inc({ venue: this.deps.venue, cause: 'rotation' });
    if (this.deps.timings.rotateAfterMs > 0) this.timers.push(setTimeout(() => this.ctx.self.trySend({ t: 'rotate' }), this.deps.timings.rotateAfterMs));
  }

  private watchdog(): void {
    const last = this.deps.slot.lastFrameAt;
    feedMetrics.lastMessageAge.set({ venue: this.deps.venue }, last ? (Date.now() - last) / 1000 : 0);
    if (last !== null && Date.now() - last > this.deps.timings.silenceMs) {
      feedMetrics.reconnects.inc({ venue: this.deps.venue, cause: 'silence' });
      this.ctx.fail(new Error(`no frame for ${Date.now() - last} ms`));
    }
  }

  private every(ms: number, fn: () => void): void {
    this.timers.push(setInterval(fn, ms));
  }

  private async sendAll(ws: WebSocket, frames: string[]): Promise<void> {
    for (const f of frames) await this.sendLimited(ws, f);
  }

  private async sendLimited(ws: WebSocket | null, frame: string): Promise<void> {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (this.outLimit && !this.outLimit.tryTake()) {
      feedMetrics.rateLimited.inc({ venue: this.deps.venue, what: 'message' });
      await this.outLimit.take(1, this.ctx.signal);
    }
    if (ws.readyState === WebSocket.OPEN) ws.send(frame);
  }
}
