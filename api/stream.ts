import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { WebSocket, RawData } from 'ws';
import { StreamOp, StreamSubscribe, StreamUnsubscribe, type StreamAck } from '../schemas/api.js';
import { arbSubject, candleSubject, liveCandleSubject, tradeSubject } from '../schemas/subjects.js';
import type { Logger } from '../runtime/logger.js';
import { counter, gauge } from '../runtime/metrics.js';
import type { Namespace } from '../runtime/namespace.js';
import { ApiError, errorBody } from './errors.js';
import { parseInput } from './input.js';

export interface StreamLimits {
  /** Minimum ms between open-candle pushes per subject (conflating: only the latest is sent). */
  throttleMs: number;
  /** Bytes queued to one socket above which frames are dropped. */
  maxBufferBytes: number;
  /** How long a socket may stay above the bound before it is closed with 1013. */
  slowCloseMs: number;
  maxSubscriptions: number;
  maxConnections: number;
}

type Kind = 'live' | 'candle' | 'trade' | 'arb';

/** Frame prefixes per kind: the NATS payload is spliced in as is, never parsed or re-serialized. */
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
  sub: Subscription;
  /** Socket → how many of its subscriptions use this subject (arb is shared across venues/tfs). */
  sessions: Map<StreamSession, number>;
  lastSent: number;
  pending: Buffer | null;
  timer: NodeJS.Timeout | null;
}

const clientsGauge = gauge({ name: 'tickwork_api_ws_clients', help: 'Open WebSocket connections on /v1/stream' });
const feedsGauge = gauge({ name: 'tickwork_api_ws_subjects', help: 'NATS subjects the stream hub subscribes to' });
const framesSent = counter({ name: 'tickwork_api_ws_frames_sent_total', help: 'Frames written to WebSocket clients' });
const framesDropped = counter({
  name: 'tickwork_api_ws_frames_dropped_total',
  help: 'Frames dropped because the client had more than API_WS_MAX_BUFFER_BYTES queued',
});
const slowClosed = counter({ name: 'tickwork_api_ws_slow_closed_total', help: 'Clients closed with 1013 for reading too slowly' });

/**
 * Fan-out of live NATS data to WebSocket clients. Each subject has one NATS subscription however
 * many clients want it; open-candle updates are conflated per subject to at most one per
 * `throttleMs`. Memory per client is bounded: a frame is written only while the socket has less
 * than `maxBufferBytes` queued, otherwise dropped (counted, reported to the client), and a client
 * that stays above the bound for `slowCloseMs` is closed with 1013.
 */
export class StreamHub {
  private readonly feeds = new Map<string, SubjectFeed>();
  private readonly sessions = new Set<StreamSession>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;
  /** This hub's share of the counters above (tests, diagnostics). */
  readonly stats = { framesSent: 0, framesDropped: 0, slowClosed: 0 };

  constructor(
    private readonly nc: NatsConnection,
    private readonly ns: Namespace,
    readonly limits: StreamLimits,
    private readonly log: Logger,
  ) {
    // A client that stopped reading while no new frames arrive is still found and closed.
    this.sweeper = setInterval(() => {
      for (const s of this.sessions) s.checkSlow(Date.now());
    }, 1000);
    this.sweeper.unref();
  }

  get clientCount(): number {
    return this.sessions.size;
  }

  get subjectCount(): number {
    return this.feeds.size;
  }

  attach(socket: WebSocket): void {
    if (this.closed || this.sessions.size >= this.limits.maxConnections) {
      socket.close(1013, this.closed ? 'server shutting down' : 'too many connections');
      return;
    }
    const session = new StreamSession(this, socket, this.log);
    this.sessions.add(session);
    clientsGauge.set(this.sessions.size);
    socket.once('close', () => {
      session.dispose();
      this.sessions.delete(session);
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

  acquire(session: StreamSession, subject: string, kind: Kind): void {
    let feed = this.feeds.get(subject);
    if (!feed) {
      const f: SubjectFeed = {
        subject,
        kind,
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
  private dropped = 0;
  private slowSince = 0;
  private disposed = false;

  constructor(
    private readonly hub: StreamHub,
    readonly socket: WebSocket,
    private readonly log: Logger,
  ) {
    socket.on('message', (data, isBinary) => this.onFrame(data, isBinary));
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

  checkSlow(now: number): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    if (this.socket.bufferedAmount <= this.hub.limits.maxBufferBytes) {
      this.slowSince = 0;
      return;
    }
    if (this.slowSince === 0) this.slowSince = now;
    if (now - this.slowSince < this.hub.limits.slowCloseMs) return;
    slowClosed.inc();
    this.hub.stats.slowClosed++;
    this.log.info({ buffered: this.socket.bufferedAmount, dropped: this.dropped }, 'closing slow websocket client');
    this.socket.close(1013, 'slow consumer');
    // The close frame queues behind unread data a stalled reader never takes; free it regardless.
    setTimeout(() => this.socket.terminate(), 1000).unref();
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
    for (const sub of this.subs.values()) for (const subject of sub.subjects) this.hub.release(this, subject);
    this.subs.clear();
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    try {
      if (isBinary) throw ApiError.badRequest('body', 'expected a JSON text frame');
      let msg: unknown;
      try {
        msg = JSON.parse(data.toString());
      } catch {
        throw ApiError.badRequest('body', 'expected a JSON object');
      }
      const { op } = parseInput(StreamOp, msg);
      if (op === 'subscribe') this.subscribe(parseInput(StreamSubscribe, msg));
      else this.unsubscribe(parseInput(StreamUnsubscribe, msg));
    } catch (err) {
      this.sendJson({ type: 'error', ...errorBody(err).body });
    }
  }

  private subscribe(s: StreamSubscribe): void {
    const key = `${s.venue}|${s.symbol}|${s.tf}`;
    const existing = this.subs.get(key);
    if (!existing && this.subs.size >= this.hub.limits.maxSubscriptions) {
      throw new ApiError(429, {
        error: 'too_many_subscriptions',
        message: `at most ${this.hub.limits.maxSubscriptions} subscriptions per connection`,
      });
    }
    if (this.disposed) return;
    const subjects = this.hub.subjectsFor(s);
    // Acquire before release so a changed subscription never drops a shared NATS subscription.
    for (const [subject, kind] of subjects) this.hub.acquire(this, subject, kind);
    if (existing) for (const subject of existing.subjects) this.hub.release(this, subject);
    const ack: StreamAck = { type: 'subscribed', venue: s.venue, symbol: s.symbol, tf: s.tf, trades: !!s.trades, arb: !!s.arb };
    this.subs.set(key, { ack, subjects: subjects.map(([subject]) => subject) });
    // Ack once the server knows the interest: whatever is published after the client sees
    // `subscribed` reaches it (the SUB could otherwise still sit in the client's write buffer).
    this.hub.interestRegistered().then(
      () => {
        if (!this.disposed) this.sendJson(ack);
      },
      (err: unknown) => this.log.debug({ err }, 'flush before subscribe ack failed'),
    );
  }

  private unsubscribe(u: StreamUnsubscribe): void {
    const key = `${u.venue}|${u.symbol}|${u.tf}`;
    const existing = this.subs.get(key);
    if (!existing) throw ApiError.notFound('symbol', `not subscribed to ${u.venue}:${u.symbol} ${u.tf}`);
    for (const subject of existing.subjects) this.hub.release(this, subject);
    this.subs.delete(key);
    this.sendJson({ ...existing.ack, type: 'unsubscribed' });
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
