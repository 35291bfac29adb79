import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { WebSocket, RawData } from 'ws';
import { StreamOp, StreamSubscribe, StreamUnsubscribe, type StreamAck } from '../schemas/api.js';
import { BookStreamSubscribe } from '../schemas/book.js';
import type { BookChannel } from './books.js';
import { DerivStreamSubscribe } from '../schemas/deriv.js';
import type { DerivChannel } from './derivs.js';
import { ArbitrageRecordCheck } from '../schemas/arbitrage.js';
import { CandleCheck } from '../schemas/candle.js';
import { candleSubjectTokens, checkCandle } from '../schemas/candle-check.js';
import { arbSubject, candleSubject, liveCandleSubject, tradeSubject } from '../schemas/subjects.js';
import { TradeCheck } from '../schemas/trade.js';
import type { Logger } from '../runtime/logger.js';
import { counter, gauge } from '../runtime/metrics.js';
import type { Namespace } from '../runtime/namespace.js';
import { TokenBucket } from '../runtime/rate-limit.js';
import { ApiError, errorBody } from './errors.js';
import { parseInput } from './input.js';

export interface StreamLimits {
  /** Minimum ms between open-candle pushes per subject (conflating: only the latest is sent). */
  throttleMs: number;
  /** Bytes queued to one socket above which frames are dropped (its share of the memory budget). */
  maxBufferBytes: number;
  /** How long a socket may stay above the bound before it is closed with 1013. */
  slowCloseMs: number;
  maxSubscriptions: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  maxSubscriptionsPerIp: number;
  /** Client frames per second per socket (burst: twice that). */
  framesPerSec: number;
  /** Ping interval; a socket that has not answered the previous ping is cut off. */
  pingMs: number;
  /** How long a socket may hold no subscription. */
  idleMs: number;
}

/** What the hub asks of the rest of the query service. */
export interface StreamHubDeps {
  /** Resolves when venue/symbol is known; rejects with the ApiError HTTP answers (404) otherwise. */
  requireKnown(venue: string, symbol: string): Promise<void>;
  /** True for a venue/symbol that trades in sessions: its candles have session-aligned lengths. */
  session?(venue: string, symbol: string): boolean;
  /** The `book` channel (api/books.ts), where the process serves books. */
  books?: BookChannel;
  /** The `deriv` channel (api/derivs.ts), where the process serves derivative tickers. */
  derivs?: DerivChannel;
}

type Kind = 'live' | 'candle' | 'trade' | 'arb';

/** Frame prefixes per kind: a payload is spliced in only after it parsed and checked as one value of its kind. */
const PREFIX: Record<Kind, Buffer> = {
  live: Buffer.from('{"type":"candle","data":'),
  candle: Buffer.from('{"type":"candle","data":'),
  trade: Buffer.from('{"type":"trade","data":'),
  arb: Buffer.from('{"type":"arb","data":'),
};
const SUFFIX = Buffer.from('}');

/** One core-NATS subscription shared by every socket that wants its subject. */
interface SubjectFeed {
  subject: string;
  kind: Kind;
  /** The subject's venue/symbol/tf, which a payload must name. */
  venue: string;
  symbol: string;
  tf: string;
  sub: Subscription;
  /** Socket → how many of its subscriptions use this subject (arb is shared across venues/tfs). */
  sessions: Map<StreamSession, number>;
  lastSent: number;
  pending: Buffer | null;
  timer: NodeJS.Timeout | null;
}

/**
 * Client operations waiting behind one being handled (a subscribe's lookup) at most; more are
 * refused. Frames are parsed on arrival, so what waits is a small checked object, not the frame.
 */
const MAX_QUEUED_OPS = 64;

/** A client frame, parsed and checked on arrival. */
type ClientOp = { op: 'subscribe'; s: StreamSubscribe } | { op: 'unsubscribe'; u: StreamUnsubscribe } | { op: 'book'; b: BookStreamSubscribe } | { op: 'deriv'; d: DerivStreamSubscribe } | { op: 'error'; err: unknown };

/** What one client address holds. */
interface Holder {
  connections: number;
  subscriptions: number;
}

const clientsGauge = gauge({ name: 'tickwork_api_ws_clients', help: 'Open WebSocket connections on /v1/stream' });
const feedsGauge = gauge({ name: 'tickwork_api_ws_subjects', help: 'NATS subjects the stream hub subscribes to' });
const framesSent = counter({ name: 'tickwork_api_ws_frames_sent_total', help: 'Frames written to WebSocket clients' });
const framesDropped = counter({
  name: 'tickwork_api_ws_frames_dropped_total',
  help: 'Frames dropped because the client had more than its buffer bound queued',
});
const slowClosed = counter({ name: 'tickwork_api_ws_slow_closed_total', help: 'Clients closed with 1013 for reading too slowly' });
const invalidPayloads = counter({
  name: 'tickwork_api_ws_invalid_total',
  help: 'NATS payloads not forwarded to WebSocket clients because they do not parse and check as their kind',
  labelNames: ['kind'] as const,
});
const refused = counter({
  name: 'tickwork_api_ws_refused_total',
  help: 'WebSocket connections refused or closed by a limit (origin, connections, per_ip, idle, unresponsive)',
  labelNames: ['reason'] as const,
});

/**
 * Fan-out of live NATS data to WebSocket clients. Each subject has one NATS subscription however
 * many clients want it; open-candle updates are conflated per subject to at most one per
 * `throttleMs`. Memory per client is bounded: a frame is written only while the socket has less
 * than `maxBufferBytes` queued, otherwise dropped (counted, reported to the client), and a client
 * that stays above the bound for `slowCloseMs` is closed with 1013. One address holds at most
 * `maxConnectionsPerIp` sockets and `maxSubscriptionsPerIp` subscriptions; a socket that does not
 * answer pings, or holds no subscription for `idleMs`, is closed.
 */
export class StreamHub {
  private readonly feeds = new Map<string, SubjectFeed>();
  private readonly sessions = new Set<StreamSession>();
  private readonly holders = new Map<string, Holder>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly pinger: NodeJS.Timeout;
  private readonly dec = new TextDecoder();
  private closed = false;
  /** This hub's share of the counters above (tests, diagnostics). */
  readonly stats = { framesSent: 0, framesDropped: 0, slowClosed: 0, invalid: 0 };

  constructor(
    private readonly nc: NatsConnection,
    private readonly ns: Namespace,
    readonly limits: StreamLimits,
    readonly deps: StreamHubDeps,
    private readonly log: Logger,
  ) {
    // A client that stopped reading while no new frames arrive is still found and closed.
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const s of this.sessions) if (!s.checkSlow(now)) s.checkIdle(now);
    }, Math.min(1000, limits.idleMs));
    this.sweeper.unref();
    this.pinger = setInterval(() => {
      for (const s of this.sessions) s.ping();
    }, limits.pingMs);
    this.pinger.unref();
  }

  get clientCount(): number {
    return this.sessions.size;
  }

  get subjectCount(): number {
    return this.feeds.size;
  }

  /** Why a new socket from `ip` would be refused now (checked before the upgrade too), or null. */
  refusal(ip: string): { code: number; reason: string; message: string } | null {
    if (this.closed) return { code: 1001, reason: 'shutdown', message: 'server shutting down' };
    if (this.sessions.size >= this.limits.maxConnections) return { code: 1013, reason: 'connections', message: 'too many connections' };
    if ((this.holders.get(ip)?.connections ?? 0) >= this.limits.maxConnectionsPerIp) {
      return { code: 1013, reason: 'per_ip', message: `at most ${this.limits.maxConnectionsPerIp} connections per address` };
    }
    return null;
  }

  attach(socket: WebSocket, ip: string): void {
    const no = this.refusal(ip);
    if (no) {
      refused.inc({ reason: no.reason });
      socket.close(no.code, no.message);
      return;
    }
    const holder = this.holders.get(ip) ?? { connections: 0, subscriptions: 0 };
    holder.connections++;
    this.holders.set(ip, holder);
    const session = new StreamSession(this, socket, holder, this.log);
    this.sessions.add(session);
    clientsGauge.set(this.sessions.size);
    socket.once('close', () => {
      session.dispose();
      this.sessions.delete(session);
      if (--holder.connections === 0) this.holders.delete(ip);
      clientsGauge.set(this.sessions.size);
    });
  }

  /** The subjects one subscription needs, namespaced. */
  subjectsFor(s: StreamSubscribe): [string, Kind][] {
    const out: [string, Kind][] = [
      [this.ns.subject(liveCandleSubject(s.tf, s.venue, s.symbol)), 'live'],
      [this.ns.subject(candleSubject(s.tf, s.venue, s.symbol)), 'candle'],
    ];
    if (s.trades) out.push([this.ns.subject(tradeSubject(s.venue, s.symbol)), 'trade']);
    if (s.arb) out.push([this.ns.subject(arbSubject(s.symbol)), 'arb']);
    return out;
  }

  /** Resolves once the NATS server has every subscription made so far (a flush round trip). */
  interestRegistered(): Promise<void> {
    return this.nc.flush();
  }

  acquire(session: StreamSession, subject: string, kind: Kind, s: StreamSubscribe): void {
    let feed = this.feeds.get(subject);
    if (!feed) {
      const f: SubjectFeed = {
        subject,
        kind,
        venue: s.venue,
        symbol: s.symbol,
        tf: s.tf,
        sessions: new Map(),
        lastSent: 0,
        pending: null,
        timer: null,
        sub: this.nc.subscribe(subject, { callback: (err, msg) => (err ? undefined : this.onMessage(f, msg)) }),
      };
      feed = f;
      this.feeds.set(subject, feed);
      feedsGauge.set(this.feeds.size);
    }
    feed.sessions.set(session, (feed.sessions.get(session) ?? 0) + 1);
  }

  release(session: StreamSession, subject: string): void {
    const feed = this.feeds.get(subject);
    const n = feed?.sessions.get(session);
    if (!feed || n === undefined) return;
    if (n > 1) feed.sessions.set(session, n - 1);
    else feed.sessions.delete(session);
    if (feed.sessions.size === 0) {
      feed.sub.unsubscribe();
      if (feed.timer) clearTimeout(feed.timer);
      this.feeds.delete(subject);
      feedsGauge.set(this.feeds.size);
    }
  }

  private onMessage(feed: SubjectFeed, msg: Msg): void {
    if (!this.valid(feed, msg)) {
      this.stats.invalid++;
      invalidPayloads.inc({ kind: feed.kind });
      return;
    }
    const frame = Buffer.concat([PREFIX[feed.kind], msg.data, SUFFIX]);
    if (feed.kind !== 'live' || this.limits.throttleMs === 0) {
      this.fanOut(feed, frame);
      return;
    }
    const now = Date.now();
    if (feed.timer === null && now - feed.lastSent >= this.limits.throttleMs) {
      feed.lastSent = now;
      this.fanOut(feed, frame);
      return;
    }
    feed.pending = frame;
    feed.timer ??= setTimeout(() => this.flush(feed), feed.lastSent + this.limits.throttleMs - now);
  }

  /**
   * The bus is not trusted: a payload reaches clients only if it is ONE JSON value of its kind for
   * its subject (a candle also consistent, schemas/candle-check.ts), so nothing spliced into the
   * frame can add keys to it (`…,"type":"trade"`) or pass off another symbol's data.
   */
  private valid(feed: SubjectFeed, msg: Msg): boolean {
    let v: unknown;
    try {
      v = JSON.parse(this.dec.decode(msg.data));
    } catch {
      return false;
    }
    switch (feed.kind) {
      case 'live':
      case 'candle': {
        if (!CandleCheck.Check(v)) return false;
        const tokens = candleSubjectTokens(this.ns.unsubject(msg.subject));
        return tokens !== null && checkCandle(v, { ...tokens, session: this.deps.session?.(feed.venue, feed.symbol) ?? false }) === null;
      }
      case 'trade':
        return TradeCheck.Check(v) && v.venue === feed.venue && v.symbol === feed.symbol;
      case 'arb':
        return ArbitrageRecordCheck.Check(v) && v.symbol === feed.symbol;
    }
  }

  private flush(feed: SubjectFeed): void {
    feed.timer = null;
    if (!feed.pending || !this.feeds.has(feed.subject)) return;
    const frame = feed.pending;
    feed.pending = null;
    feed.lastSent = Date.now();
    this.fanOut(feed, frame);
  }

  private fanOut(feed: SubjectFeed, frame: Buffer): void {
    for (const session of feed.sessions.keys()) session.deliver(frame);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    clearInterval(this.pinger);
    await Promise.all([...this.sessions].map((s) => s.goAway()));
    for (const feed of this.feeds.values()) {
      feed.sub.unsubscribe();
      if (feed.timer) clearTimeout(feed.timer);
    }
    this.feeds.clear();
    feedsGauge.set(0);
  }
}

interface ActiveSubscription {
  ack: StreamAck;
  subjects: string[];
}

/** One client socket: its subscriptions and its share of the back-pressure policy. */
class StreamSession {
  private readonly subs = new Map<string, ActiveSubscription>();
  private readonly frames: TokenBucket;
  private dropped = 0;
  private slowSince = 0;
  /** Since when the socket holds no subscription (0: it holds some). */
  private idleSince = Date.now();
  /** Answered the last ping (or sent something) since it was sent. */
  private alive = true;
  private disposed = false;
  /** Client frames are handled one after another: a subscribe's lookup finishes before the next frame. */
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;

  constructor(
    private readonly hub: StreamHub,
    readonly socket: WebSocket,
    private readonly holder: Holder,
    private readonly log: Logger,
  ) {
    const rate = hub.limits.framesPerSec;
    this.frames = new TokenBucket({ capacity: 2 * rate, refillPerSec: rate });
    socket.on('message', (data, isBinary) => {
      this.alive = true;
      // Checked on arrival, so a flood never queues up behind a slow lookup.
      if (!this.frames.tryTake() || this.queued >= MAX_QUEUED_OPS) {
        this.sendJson({ type: 'error', error: 'rate_limited', message: `at most ${rate} frames per second` });
        return;
      }
      const op = parseFrame(data, isBinary);
      this.queued++;
      this.queue = this.queue.then(() => this.apply(op)).finally(() => this.queued--);
    });
    socket.on('pong', () => (this.alive = true));
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'websocket error'));
  }

  /** Writes a frame unless the socket is above its buffer bound; then drops it and counts. */
  deliver(frame: Buffer): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    const now = Date.now();
    if (this.socket.bufferedAmount > this.hub.limits.maxBufferBytes) {
      this.dropped++;
      this.hub.stats.framesDropped++;
      framesDropped.inc();
      if (this.slowSince === 0) this.slowSince = now;
      this.checkSlow(now);
      return;
    }
    this.slowSince = 0;
    if (this.dropped > 0) {
      this.sendJson({ type: 'dropped', count: this.dropped });
      this.dropped = 0;
    }
    this.socket.send(frame, { binary: false });
    this.hub.stats.framesSent++;
    framesSent.inc();
  }

  /** True when it closed the socket for reading too slowly. */
  checkSlow(now: number): boolean {
    if (this.socket.readyState !== this.socket.OPEN) return false;
    if (this.socket.bufferedAmount <= this.hub.limits.maxBufferBytes) {
      this.slowSince = 0;
      return false;
    }
    if (this.slowSince === 0) this.slowSince = now;
    if (now - this.slowSince < this.hub.limits.slowCloseMs) return false;
    slowClosed.inc();
    this.hub.stats.slowClosed++;
    this.log.info({ buffered: this.socket.bufferedAmount, dropped: this.dropped }, 'closing slow websocket client');
    this.socket.close(1013, 'slow consumer');
    // The close frame queues behind unread data a stalled reader never takes; free it regardless.
    setTimeout(() => this.socket.terminate(), 1000).unref();
    return true;
  }

  /** Closes a socket that has held no subscription for the idle time. */
  checkIdle(now: number): void {
    if (this.socket.readyState !== this.socket.OPEN || this.idleSince === 0) return;
    if (now - this.idleSince < this.hub.limits.idleMs) return;
    refused.inc({ reason: 'idle' });
    this.socket.close(1000, 'idle: no subscription');
    setTimeout(() => this.socket.terminate(), 1000).unref();
  }

  /** Pings; a socket that has not answered the previous ping is cut off (a half-open or frozen peer). */
  ping(): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    if (!this.alive) {
      refused.inc({ reason: 'unresponsive' });
      this.socket.terminate();
      return;
    }
    this.alive = false;
    this.socket.ping();
  }

  /** Closes with 1001; a reader that does not take the close frame within a second is cut off. */
  goAway(): Promise<void> {
    if (this.socket.readyState === this.socket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.socket.terminate(), 1000);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.close(1001, 'server shutting down');
    });
  }

  dispose(): void {
    this.disposed = true;
    this.hub.deps.books?.release(this);
    this.hub.deps.derivs?.release(this);
    for (const sub of this.subs.values()) for (const subject of sub.subjects) this.hub.release(this, subject);
    this.holder.subscriptions -= this.subs.size;
    this.subs.clear();
  }

  /** Operations apply in arrival order, answers too. */
  private async apply(op: ClientOp): Promise<void> {
    if (this.disposed) return;
    try {
      if (op.op === 'error') throw op.err;
      if (op.op === 'subscribe') await this.subscribe(op.s);
      else if (op.op === 'book') await this.book(op.b);
      else if (op.op === 'deriv') await this.deriv(op.d);
      else this.unsubscribe(op.u);
    } catch (err) {
      const { status, body } = errorBody(err);
      if (status >= 500) this.log.error({ err }, 'websocket frame failed');
      this.sendJson({ type: 'error', ...body });
    }
  }

  private async subscribe(s: StreamSubscribe): Promise<void> {
    const key = `${s.venue}|${s.symbol}|${s.tf}`;
    const existing = this.subs.get(key);
    const limits = this.hub.limits;
    if (!existing && this.held() >= limits.maxSubscriptions) {
      throw new ApiError(429, { error: 'too_many_subscriptions', message: `at most ${limits.maxSubscriptions} subscriptions per connection` });
    }
    if (!existing && this.holder.subscriptions >= limits.maxSubscriptionsPerIp) {
      throw new ApiError(429, { error: 'too_many_subscriptions', message: `at most ${limits.maxSubscriptionsPerIp} subscriptions per address` });
    }
    // Unknown venue/symbol: the 404 HTTP answers, and no NATS subscription for a subject nobody publishes.
    await this.hub.deps.requireKnown(s.venue, s.symbol);
    if (this.disposed) return;
    const subjects = this.hub.subjectsFor(s);
    // Acquire before release so a changed subscription never drops a shared NATS subscription.
    for (const [subject, kind] of subjects) this.hub.acquire(this, subject, kind, s);
    if (existing) for (const subject of existing.subjects) this.hub.release(this, subject);
    else this.holder.subscriptions++;
    const ack: StreamAck = { type: 'subscribed', venue: s.venue, symbol: s.symbol, tf: s.tf, trades: !!s.trades, arb: !!s.arb };
    this.subs.set(key, { ack, subjects: subjects.map(([subject]) => subject) });
    this.idleSince = 0;
    // Ack once the server knows the interest: whatever is published after the client sees
    // `subscribed` reaches it (the SUB could otherwise still sit in the client's write buffer).
    try {
      await this.hub.interestRegistered();
      if (!this.disposed) this.sendJson(ack);
    } catch (err) {
      this.log.debug({ err }, 'flush before subscribe ack failed');
    }
  }

  private unsubscribe(u: StreamUnsubscribe): void {
    const key = `${u.venue}|${u.symbol}|${u.tf}`;
    const existing = this.subs.get(key);
    if (!existing) throw ApiError.notFound('symbol', `not subscribed to ${u.venue}:${u.symbol} ${u.tf}`);
    for (const subject of existing.subjects) this.hub.release(this, subject);
    this.subs.delete(key);
    this.holder.subscriptions--;
    if (this.held() === 0) this.idleSince = Date.now();
    this.sendJson({ ...existing.ack, type: 'unsubscribed' });
  }

  /** The `book` channel (api/books.ts); its subscriptions count towards the per-connection limit and the idle rule. */
  private async book(b: BookStreamSubscribe): Promise<void> {
    const books = this.hub.deps.books;
    if (!books) throw ApiError.badRequest('channel', 'this server has no book channel');
    if (b.op === 'subscribe' && this.held() >= this.hub.limits.maxSubscriptions) {
      throw new ApiError(429, { error: 'too_many_subscriptions', message: `at most ${this.hub.limits.maxSubscriptions} subscriptions per connection` });
    }
    const ack = await books.apply(this, b);
    if (this.disposed) return books.release(this);
    this.idleSince = this.held() > 0 ? 0 : Date.now();
    this.sendJson(ack);
  }

  /** The `deriv` channel (api/derivs.ts); counts towards the per-connection limit and the idle rule like `book`. */
  private async deriv(d: DerivStreamSubscribe): Promise<void> {
    const derivs = this.hub.deps.derivs;
    if (!derivs) throw ApiError.badRequest('channel', 'this server has no deriv channel');
    if (d.op === 'subscribe' && this.held() >= this.hub.limits.maxSubscriptions) {
      throw new ApiError(429, { error: 'too_many_subscriptions', message: `at most ${this.hub.limits.maxSubscriptions} subscriptions per connection` });
    }
    const ack = await derivs.apply(this, d);
    if (this.disposed) return derivs.release(this);
    this.idleSince = this.held() > 0 ? 0 : Date.now();
    this.sendJson(ack);
  }

  /** Subscriptions of every channel this socket holds. */
  private held(): number {
    return this.subs.size + (this.hub.deps.books?.count(this) ?? 0) + (this.hub.deps.derivs?.count(this) ?? 0);
  }

  /** Control frames obey the same bound: a client that only writes and never reads gains nothing. */
  private sendJson(body: object): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    if (this.socket.bufferedAmount > this.hub.limits.maxBufferBytes) {
      this.checkSlow(Date.now());
      return;
    }
    this.socket.send(JSON.stringify(body));
  }
}

/** Parses and checks one client frame (the same schemas HTTP and NATS requests go through). */
function parseFrame(data: RawData, isBinary: boolean): ClientOp {
  try {
    if (isBinary) throw ApiError.badRequest('body', 'expected a JSON text frame');
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString());
    } catch {
      throw ApiError.badRequest('body', 'expected a JSON object');
    }
    const channel = typeof msg === 'object' && msg !== null ? (msg as { channel?: unknown }).channel : undefined;
    if (channel === 'book') return { op: 'book', b: parseInput(BookStreamSubscribe, msg) };
    if (channel === 'deriv') return { op: 'deriv', d: parseInput(DerivStreamSubscribe, msg) };
    const { op } = parseInput(StreamOp, msg);
    return op === 'subscribe' ? { op, s: parseInput(StreamSubscribe, msg) } : { op, u: parseInput(StreamUnsubscribe, msg) };
  } catch (err) {
    return { op: 'error', err };
  }
}
