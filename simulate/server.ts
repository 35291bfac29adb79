import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Value } from '@sinclair/typebox/value';
import { WebSocketServer, type WebSocket } from 'ws';
import { TickworkError } from '../runtime/errors.js';
import { silentLogger, type Logger } from '../runtime/logger.js';
import { SlidingWindowLimit, TokenBucket, type RateLimiter } from '../runtime/rate-limit.js';
import { BookFaults, SnapshotFaults } from './book-faults.js';
import { malformedFrame } from './malformed.js';
import { fixed, SyntheticMarket, type MarketEvent } from './market.js';
import { hash32, Random } from './random.js';
import { loadRecording, type Recording } from './recording-source.js';
import {
  MisbehaviourCheck,
  MisbehaviourSchema,
  simLimits,
  type Misbehaviour,
  type Rate,
  type SimLimits,
  type SimStats,
  type Simulator,
  type SimulatorOptions,
  type SyntheticOptions,
  type TrueBookView,
} from './types.js';
import { venueById, type Venue } from '../venues/index.js';
import type { LimitBreach, OutFrame, SimClient, SubscribeRequest, VenueProtocol } from '../venues/kit/simulator.js';

/**
 * One HTTP server per simulator: WebSocket upgrades speak the venue's protocol, plain requests
 * get its REST endpoints, and `/__sim/*` is the control surface for tests in other processes.
 */
export async function startSimulator(opts: SimulatorOptions): Promise<Simulator> {
  if (opts.restRecording !== undefined && opts.recording === undefined) throw new TickworkError('USAGE_INVALID', '--rest-recording needs --recording');
  const recording = opts.recording ? await loadRecording(opts.recording, opts.restRecording) : null;
  const sim = new SimulatorServer(opts, recording);
  await sim.listen();
  return sim;
}

/** Parses `max`, `1x`, `10x` or a plain number into a replay speed. */
export { parseSpeed } from '../runtime/speed.js';

/** The venue's demo symbols at 20 trades per second. */
export function defaultSynthetic(venue: string): SyntheticOptions {
  return { symbols: [...venueById(venue).demo.symbols], tradesPerSec: 20, seed: 1 };
}

const limiter = (r: Rate | null): RateLimiter | null =>
  r === null ? null : 'limit' in r ? new SlidingWindowLimit({ limit: r.limit, windowMs: r.windowMs }) : new TokenBucket(r);

class Client implements SimClient {
  readonly topics = new Set<string>();
  active = false;
  closing = false;
  stalledUntil = 0;
  lastSentAt = Date.now();
  awaitingPongSince = 0;
  lastData: string | undefined;
  replay: NodeJS.Timeout | NodeJS.Immediate | undefined;
  expiry: NodeJS.Timeout | undefined;

  constructor(
    readonly id: number,
    readonly connId: string,
    readonly url: URL,
    readonly ws: WebSocket,
    readonly ip: string,
    readonly messages: RateLimiter | null,
    readonly subscribes: RateLimiter | null,
  ) {}
}

interface IpState {
  connect: RateLimiter | null;
  messages: RateLimiter | null;
  rest: TokenBucket | null;
  throttled: number;
  bannedUntil: number;
}

class SimulatorServer implements Simulator {
  readonly venue: string;
  wsUrl = '';
  origin = '';
  env: Record<string, string> = {};
  restUrl = '';
  controlUrl = '';
  port = 0;

  private readonly log: Logger;
  private readonly def: Venue;
  private readonly proto: VenueProtocol;
  private readonly market: SyntheticMarket | null;
  private readonly limits: SimLimits;
  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly clients = new Set<Client>();
  private readonly ips = new Map<string, IpState>();
  private readonly malRng = new Random(0x5eed);
  private readonly maxBuffered: number;
  private readonly speed: number;
  private readonly timers: NodeJS.Timeout[] = [];
  private nextClientId = 1;

  private outageUntil = 0;
  private banUntil = 0;
  private stallAllUntil = 0;
  private dropEvery: NodeJS.Timeout | undefined;
  private dropEveryStop: NodeJS.Timeout | undefined;
  private malformedRatio = 0;
  private malformedUntil = 0;
  private malformedPending = 0;
  private readonly bookFaults = new BookFaults();
  private readonly snapshotFaults = new SnapshotFaults();

  private readonly counters = {
    connections: 0,
    connectAttempts: 0,
    rejectedConnects: 0,
    framesSent: 0,
    quotesSent: 0,
    malformedSent: 0,
    drops: 0,
    limitDisconnects: 0,
    expiredConnections: 0,
    subscribeMessages: 0,
    messagesReceived: 0,
    replayFramesSent: 0,
    replaysCompleted: 0,
    restRequests: 0,
  };
  private readonly tradesSent: Record<string, number> = {};
  private readonly malformedByKind: Record<string, number> = {};
  private readonly violations: Record<string, number> = {};

  constructor(
    private readonly opts: SimulatorOptions,
    private readonly recording: Recording | null,
  ) {
    this.venue = opts.venue;
    this.def = venueById(opts.venue);
    this.log = (opts.log ?? silentLogger).child({ component: 'simulator', venue: opts.venue });
    this.market = recording
      ? null
      : new SyntheticMarket(opts.synthetic ?? defaultSynthetic(opts.venue), opts.historyLimit ?? 500_000, (ev) => this.onMarketEvent(ev));
    this.proto = this.def.simulator({ venue: opts.venue, market: this.market });
    const l = opts.limits ?? 'venue';
    this.limits = l === 'none' ? simLimits({ connect: null, banMs: 0 }) : l === 'venue' ? this.proto.limits : { ...this.proto.limits, ...l };
    this.maxBuffered = opts.maxBufferedBytes ?? 64 * 1024 * 1024;
    this.speed = opts.speed ?? 1;
    this.http = createServer((req, res) => this.onRequest(req, res));
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
  }

  async listen(): Promise<void> {
    const host = this.opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.opts.port ?? 0, host, () => resolve());
    });
    const addr = this.http.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    const h = host.includes(':') ? `[${host}]` : host;
    // The venue's own path, so the URL works as `<VENUE>_WS_URL` as it is.
    const endpoint = new URL(this.def.wsUrl);
    this.origin = `ws://${h}:${this.port}`;
    this.wsUrl = `${this.origin}${endpoint.pathname === '/' ? '' : endpoint.pathname}${endpoint.search}`;
    this.restUrl = `http://${h}:${this.port}`;
    this.env = { [`${this.def.envPrefix}_WS_URL`]: this.wsUrl, [`${this.def.envPrefix}_REST_URL`]: this.restUrl };
    this.controlUrl = `${this.restUrl}/__sim`;

    const pingMs = this.opts.pingIntervalMs ?? this.proto.pingMs;
    if (pingMs !== null && pingMs > 0) this.every(pingMs, () => this.pingAll());
    if (this.proto.heartbeatMs !== null && this.market) this.every(this.proto.heartbeatMs, () => this.heartbeats());
    this.market?.start();
    this.log.debug({ wsUrl: this.wsUrl, restUrl: this.restUrl, mode: this.market ? 'synthetic' : 'recording' }, 'simulator listening');
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref?.();
    this.timers.push(t);
  }

  // ---- connections ----------------------------------------------------------------------

  private ip(addr: string): IpState {
    let st = this.ips.get(addr);
    if (!st) {
      const w = this.limits.restWeightPerMin;
      st = {
        connect: limiter(this.limits.connect),
        messages: limiter(this.limits.ipMessages),
        rest: w === null ? null : new TokenBucket({ capacity: w, refillPerSec: w / 60 }),
        throttled: 0,
        bannedUntil: 0,
      };
      this.ips.set(addr, st);
    }
    return st;
  }

  private violation(kind: string): void {
    this.violations[kind] = (this.violations[kind] ?? 0) + 1;
    this.log.warn({ kind }, 'client broke a venue limit');
  }

  private refuse(socket: Duplex, status: number): void {
    this.counters.rejectedConnects++;
    const body = JSON.stringify({ code: status, msg: STATUS_CODES[status] ?? 'refused' });
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    this.counters.connectAttempts++;
    const now = Date.now();
    if (now < this.outageUntil) {
      this.counters.rejectedConnects++;
      socket.destroy();
      return;
    }
    const addr = req.socket.remoteAddress ?? 'unknown';
    const ip = this.ip(addr);
    if (now < this.banUntil || now < ip.bannedUntil) return this.refuse(socket, this.proto.banStatus);
    if (ip.connect && !ip.connect.tryTake()) {
      this.violation('connect-rate');
      ip.throttled++;
      // Binance: keep knocking after 429s and the IP is banned (418).
      if (this.limits.connectBanAfter !== null && ip.throttled > this.limits.connectBanAfter) ip.bannedUntil = now + this.limits.banMs;
      return this.refuse(socket, 429);
    }
    ip.throttled = 0;
    const url = new URL(req.url ?? '/', 'http://simulator');
    const init = this.proto.accept(url);
    if (!init) return this.refuse(socket, 404);
    if (this.limits.maxStreams !== null && init.topics.length > this.limits.maxStreams) {
      this.violation('stream-limit');
      return this.refuse(socket, 400);
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, url, addr, init.topics));
  }

  private onConnection(ws: WebSocket, url: URL, addr: string, topics: string[]): void {
    const id = this.nextClientId++;
    const c = new Client(id, hash32(`${this.port}:${id}`).toString(16).padStart(8, '0'), url, ws, addr, limiter(this.limits.messages), limiter(this.limits.subscribes));
    this.clients.add(c);
    this.counters.connections++;
    if (this.stallAllUntil > Date.now()) c.stalledUntil = this.stallAllUntil;
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => this.onMessage(c, data, isBinary));
    ws.on('ping', () => this.countIncoming(c));
    ws.on('pong', () => {
      c.awaitingPongSince = 0;
      this.countIncoming(c);
    });
    ws.on('close', () => this.forget(c));
    ws.on('error', () => {});
    const lifetime = this.opts.maxConnectionMs ?? this.proto.maxConnectionMs;
    if (lifetime !== null && lifetime > 0) {
      c.expiry = setTimeout(() => {
        if (c.closing) return;
        c.closing = true;
        this.counters.expiredConnections++;
        c.ws.close(1000, 'connection lifetime reached');
        setTimeout(() => c.ws.terminate(), 1000).unref?.();
      }, lifetime);
      c.expiry.unref?.();
    }
    if (this.market) this.control(c, this.proto.open(c));
    if (topics.length > 0) {
      this.subscribe(c, [...new Set(topics)]);
      this.activate(c);
    } else if (this.recording && this.opts.replayStart === 'connect') {
      this.activate(c);
    }
  }

  private forget(c: Client): void {
    c.closing = true;
    if (c.expiry) clearTimeout(c.expiry);
    if (c.replay) {
      clearTimeout(c.replay as NodeJS.Timeout);
      clearImmediate(c.replay as NodeJS.Immediate);
    }
    this.clients.delete(c);
  }

  /** Counts one incoming frame against the limits; false when the client was cut off for it. */
  private countIncoming(c: Client): boolean {
    if (c.closing) return false;
    this.counters.messagesReceived++;
    if (c.messages && !c.messages.tryTake()) {
      this.violation('message-rate');
      this.closeForLimit(c);
      return false;
    }
    const ip = this.ips.get(c.ip);
    if (ip?.messages && !ip.messages.tryTake()) {
      this.violation('ip-message-rate');
      this.closeForLimit(c);
      return false;
    }
    return true;
  }

  private closeForLimit(c: Client): void {
    if (c.closing) return;
    this.control(c, this.proto.rateClose.frames);
    c.closing = true;
    this.counters.limitDisconnects++;
    c.ws.close(this.proto.rateClose.code, this.proto.rateClose.reason);
    setTimeout(() => c.ws.terminate(), 1000).unref?.();
  }

  private onMessage(c: Client, data: Buffer | ArrayBuffer | Buffer[], _isBinary: boolean): void {
    if (!this.countIncoming(c)) return;
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    const req = this.proto.parse(c, text);
    switch (req.op) {
      case 'reply':
        this.control(c, req.frames);
        return;
      case 'list':
        this.control(c, this.proto.ack(c, req));
        return;
      case 'ignore':
        return;
      default:
        this.onSubscribe(c, req);
    }
  }

  private onSubscribe(c: Client, req: SubscribeRequest): void {
    this.counters.subscribeMessages++;
    const breach = (kind: LimitBreach) => {
      this.violation(kind);
      this.control(c, this.proto.reject(c, req, kind));
    };
    if (c.subscribes && !c.subscribes.tryTake()) return breach('subscribe-rate');
    const maxArgs = this.proto.argsLimit ? this.proto.argsLimit(c, this.limits.maxArgsPerRequest) : this.limits.maxArgsPerRequest;
    if (maxArgs !== null && req.topics.length > maxArgs) return breach('args-limit');
    if (req.op === 'unsubscribe') {
      for (const t of req.topics) c.topics.delete(t);
      this.control(c, this.proto.ack(c, req));
      return;
    }
    const added = [...new Set(req.topics)].filter((t) => !c.topics.has(t));
    if (this.limits.maxStreams !== null && c.topics.size + added.length > this.limits.maxStreams) return breach('stream-limit');
    for (const t of added) c.topics.add(t);
    this.control(c, this.proto.ack(c, req));
    this.snapshot(c, added);
    this.activate(c);
  }

  /** URL-named topics: subscribed without an acknowledgement, as the venue does. */
  private subscribe(c: Client, topics: string[]): void {
    for (const t of topics) c.topics.add(t);
    this.snapshot(c, topics);
  }

  private snapshot(c: Client, added: string[]): void {
    if (!this.market || added.length === 0) return;
    for (const f of this.proto.snapshot(c, added)) this.data(c, f);
  }

  private activate(c: Client): void {
    if (c.active) return;
    c.active = true;
    if (this.recording) this.replay(c);
    if (this.malformedPending > 0) {
      this.burstMalformed(c, this.malformedPending);
      this.malformedPending = 0;
    }
  }

  // ---- sending --------------------------------------------------------------------------

  private write(c: Client, data: string | Buffer, binary = false): boolean {
    if (c.closing || c.ws.readyState !== c.ws.OPEN) return false;
    const now = Date.now();
    if (c.stalledUntil > now) return false;
    if (c.ws.bufferedAmount > this.maxBuffered) {
      // A venue cuts a consumer that cannot keep up rather than buffer without bound.
      c.closing = true;
      this.counters.limitDisconnects++;
      c.ws.terminate();
      return false;
    }
    c.ws.send(data, { binary });
    c.lastSentAt = now;
    this.counters.framesSent++;
    return true;
  }

  private control(c: Client, frames: string[]): void {
    for (const f of frames) this.write(c, f);
    if (frames.length > 0 && this.proto.connectionSequenced) this.bookFaults.releaseFor(c);
  }

  private data(c: Client, f: OutFrame, text = this.proto.render(c, f)): void {
    if (!this.write(c, text)) return;
    if (this.proto.connectionSequenced && !f.bookDelta) this.bookFaults.releaseFor(c);
    c.lastData = text;
    if (f.trades > 0) this.tradesSent[f.symbol] = (this.tradesSent[f.symbol] ?? 0) + f.trades;
    if (f.quote) this.counters.quotesSent++;
    this.maybeMalformed(c);
  }

  private onMarketEvent(ev: MarketEvent): void {
    if (this.clients.size === 0) return;
    const frames = this.proto.events(ev);
    for (const f of frames) {
      if (f.bookDelta) this.bookDelta(f);
      else for (const c of this.clients) if (c.topics.has(f.topic)) this.data(c, f);
    }
  }

  /** A book delta goes through the armed book misbehaviour (drop, duplicate, reorder, corrupt). */
  private bookDelta(f: OutFrame): void {
    const targets = [...this.clients].filter((c) => c.topics.has(f.topic));
    if (targets.length === 0) return;
    this.bookFaults.deliver(
      f,
      targets,
      (c, frame) => this.proto.render(c, frame),
      (c, text) => this.data(c as Client, f, text),
    );
  }

  private maybeMalformed(c: Client): void {
    if (this.malformedRatio <= 0) return;
    if (Date.now() >= this.malformedUntil) {
      this.malformedRatio = 0;
      return;
    }
    if (this.malRng.next() < this.malformedRatio) this.sendMalformed(c);
  }

  private sendMalformed(c: Client): void {
    // Before any data frame, a stand-in carrying the venue's critical fields.
    const source = c.lastData ?? JSON.stringify(Object.fromEntries(this.proto.criticalKeys.map((k) => [k, '1.0'])));
    const m = malformedFrame(source, this.proto.criticalKeys, this.malRng);
    if (!this.write(c, m.data, m.binary)) return;
    this.counters.malformedSent++;
    this.malformedByKind[m.kind] = (this.malformedByKind[m.kind] ?? 0) + 1;
  }

  /** Sends `count` malformed frames, yielding to the event loop between chunks. */
  private burstMalformed(c: Client, count: number): void {
    let left = count;
    const step = () => {
      for (let i = 0; i < 500 && left > 0 && !c.closing; i++, left--) this.sendMalformed(c);
      if (left > 0 && !c.closing) setImmediate(step);
    };
    step();
  }

  private replay(c: Client): void {
    const frames = this.recording!.frames;
    if (frames.length === 0) return;
    const t0 = frames[0]!.ts;
    const start = performance.now();
    const speed = this.speed;
    let i = 0;
    const step = () => {
      c.replay = undefined;
      if (c.closing) return;
      if (c.ws.bufferedAmount > 4 * 1024 * 1024) {
        c.replay = setTimeout(step, 5);
        return;
      }
      const now = performance.now();
      let sent = 0;
      while (i < frames.length && sent < 1000) {
        const f = frames[i]!;
        if (speed !== Infinity && start + (f.ts - t0) / speed > now) break;
        if (this.write(c, f.data)) {
          this.counters.replayFramesSent++;
          c.lastData = f.data;
          this.maybeMalformed(c);
        }
        i++;
        sent++;
      }
      if (i >= frames.length) {
        this.counters.replaysCompleted++;
        return;
      }
      const wait = speed === Infinity || sent >= 1000 ? 0 : start + (frames[i]!.ts - t0) / speed - performance.now();
      c.replay = wait <= 0 ? setImmediate(step) : setTimeout(step, wait);
    };
    step();
  }

  private pingAll(): void {
    const now = Date.now();
    const timeout = this.opts.pongTimeoutMs ?? 60_000;
    for (const c of this.clients) {
      if (c.closing) continue;
      if (c.awaitingPongSince > 0 && now - c.awaitingPongSince > timeout) {
        c.closing = true;
        this.counters.limitDisconnects++;
        c.ws.terminate();
        continue;
      }
      if (c.stalledUntil > now) continue;
      c.ws.ping();
      if (c.awaitingPongSince === 0) c.awaitingPongSince = now;
    }
  }

  private heartbeats(): void {
    const now = Date.now();
    for (const c of this.clients) {
      if (c.closing || !c.active) continue;
      this.control(c, this.proto.heartbeat(c, now, now - c.lastSentAt));
    }
  }

  // ---- misbehaviour ---------------------------------------------------------------------

  misbehave(cmd: Misbehaviour): void {
    if (!MisbehaviourCheck.Check(cmd)) {
      // the variant the command names by its kind says which field is wrong (the union alone cannot)
      const kind = (cmd as { kind?: unknown } | null)?.kind;
      const variants = MisbehaviourSchema.anyOf.filter((v) => v.properties.kind.const === kind);
      const errs = variants.map((v) => [...Value.Errors(v, cmd)]).sort((x, y) => x.length - y.length)[0];
      const e = errs?.[0] ?? MisbehaviourCheck.Errors(cmd).First();
      throw new TickworkError('USAGE_INVALID', `invalid misbehaviour: ${e ? `${e.path} ${e.message}` : JSON.stringify(cmd)}`);
    }
    const now = Date.now();
    this.log.info({ cmd }, 'misbehaving');
    switch (cmd.kind) {
      case 'drop-all':
        this.dropAll();
        if (cmd.durationMs) this.outageUntil = now + cmd.durationMs;
        return;
      case 'drop-every':
        this.stopDropping();
        this.dropEvery = setInterval(() => this.dropAll(), cmd.everyMs);
        if (cmd.durationMs !== undefined) this.dropEveryStop = setTimeout(() => this.stopDropping(), cmd.durationMs);
        return;
      case 'stall': {
        const until = now + cmd.ms;
        if (cmd.scope === 'all') this.stallAllUntil = until;
        for (const c of this.clients) c.stalledUntil = Math.max(c.stalledUntil, until);
        return;
      }
      case 'malformed':
        if ('count' in cmd) {
          const active = [...this.clients].filter((c) => c.active && !c.closing);
          if (active.length === 0) this.malformedPending += cmd.count;
          for (const c of active) this.burstMalformed(c, cmd.count);
        } else {
          this.malformedRatio = cmd.ratio;
          this.malformedUntil = cmd.durationMs !== undefined ? now + cmd.durationMs : Infinity;
        }
        return;
      case 'ban':
        this.banUntil = now + cmd.ms;
        this.dropAll();
        return;
      case 'book':
        this.bookFaults.arm(cmd.fault, cmd.symbol ?? null);
        return;
      case 'snapshot-429':
        this.snapshotFaults.arm(cmd.count, cmd.retryAfterMs ?? 1000);
        return;
      case 'reset':
        this.stopDropping();
        this.outageUntil = 0;
        this.banUntil = 0;
        this.stallAllUntil = 0;
        this.malformedRatio = 0;
        this.malformedPending = 0;
        this.bookFaults.reset();
        this.snapshotFaults.reset();
        for (const c of this.clients) c.stalledUntil = 0;
        for (const ip of this.ips.values()) ip.bannedUntil = 0;
        return;
    }
  }

  private dropAll(): void {
    for (const c of this.clients) {
      if (c.closing) continue;
      c.closing = true;
      this.counters.drops++;
      c.ws.terminate();
    }
  }

  private stopDropping(): void {
    if (this.dropEvery) clearInterval(this.dropEvery);
    if (this.dropEveryStop) clearTimeout(this.dropEveryStop);
    this.dropEvery = undefined;
    this.dropEveryStop = undefined;
  }

  book(symbol: string, depth = 50): TrueBookView | null {
    const spec = this.market?.spec(symbol);
    if (!this.market || !spec) return null;
    const view = this.market.depth.view(symbol, depth);
    const text = (l: [number, number][]): [string, string][] => l.map(([p, q]) => [fixed(p, spec.priceDp), fixed(q, spec.qtyDp)]);
    return { symbol, updateId: this.market.book(symbol)!.updateId, bids: text(view.bids), asks: text(view.asks) };
  }

  diverge(symbol: string, ticks: number): void {
    if (!this.market) throw new TickworkError('USAGE_INVALID', 'simulator: diverge needs the synthetic market');
    this.market.diverge(symbol, ticks);
  }

  pause(): void {
    this.market?.pause();
  }

  resume(): void {
    this.market?.resume();
  }

  stats(): SimStats {
    return {
      venue: this.venue,
      mode: this.market ? 'synthetic' : 'recording',
      ...this.counters,
      activeClients: this.clients.size,
      tradesSent: { ...this.tradesSent },
      malformedByKind: { ...this.malformedByKind },
      violations: { ...this.violations },
      bookFaults: { ...this.bookFaults.applied },
      generated: this.market?.history() ?? {},
      paused: this.market?.paused ?? false,
    };
  }

  // ---- REST and control -------------------------------------------------------------------

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://simulator');
    if (url.pathname.startsWith('/__sim/')) {
      this.onControl(req, res, url.pathname.slice(7)).catch((err: unknown) => json(res, 500, { error: String(err) }));
      return;
    }
    this.counters.restRequests++;
    const now = Date.now();
    if (now < this.outageUntil) {
      req.socket.destroy();
      return;
    }
    const addr = req.socket.remoteAddress ?? 'unknown';
    const ip = this.ip(addr);
    if (now < this.banUntil || now < ip.bannedUntil) {
      const until = Math.max(this.banUntil, ip.bannedUntil);
      return json(res, this.proto.banStatus, { code: -1003, msg: `Way too much request weight used; IP banned until ${until}.` });
    }
    if (this.snapshotFaults.early(addr, now)) {
      this.violation('retry-after');
      return json(res, 429, { code: -1003, msg: 'Too many requests; asked again before Retry-After.' });
    }
    const recorded = this.recording?.rest.get(url.pathname + url.search) ?? this.recording?.rest.get(url.pathname);
    if (recorded !== undefined) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(recorded);
      return;
    }
    let reply;
    try {
      reply = this.proto.rest(url.pathname, url.searchParams);
    } catch (err) {
      this.log.error({ err, path: url.pathname }, 'simulator REST handler failed');
      return json(res, 500, { code: -1000, msg: 'An unknown error occurred while processing the request.' });
    }
    if (!reply) return json(res, 404, { code: -1, msg: `no such endpoint ${url.pathname}` });
    if (reply.violation) this.violation(reply.violation);
    const headers: Record<string, string> = {};
    if (ip.rest) {
      if (!ip.rest.tryTake(Math.min(reply.weight ?? 1, ip.rest.capacity))) {
        this.violation('rest-weight');
        return json(res, 429, { code: -1003, msg: 'Too much request weight used; please use WebSocket Streams for live updates to avoid polling the API.' });
      }
      headers['x-mbx-used-weight-1m'] = String(Math.round(ip.rest.capacity - ip.rest.available));
    }
    const retryAfter = reply.depthSnapshot ? this.snapshotFaults.take(addr, now) : null;
    if (retryAfter !== null) return json(res, 429, { code: -1003, msg: 'Too many requests (simulated).' }, { ...headers, 'retry-after': String(retryAfter) });
    json(res, reply.status, reply.body, headers);
  }

  private async onControl(req: IncomingMessage, res: ServerResponse, action: string): Promise<void> {
    if (req.method === 'GET' && action === 'stats') return json(res, 200, this.stats());
    if (req.method === 'GET' && action === 'book') {
      const url = new URL(req.url ?? '/', 'http://simulator');
      const depth = Number(url.searchParams.get('depth') ?? 50);
      const view = this.book(url.searchParams.get('symbol') ?? '', Number.isInteger(depth) && depth > 0 ? depth : 50);
      return view ? json(res, 200, view) : json(res, 404, { error: 'no such symbol in the synthetic market' });
    }
    if (req.method === 'GET' && action === 'info') {
      return json(res, 200, { venue: this.venue, wsUrl: this.wsUrl, restUrl: this.restUrl, controlUrl: this.controlUrl, port: this.port, env: this.env });
    }
    if (req.method !== 'POST') return json(res, 405, { error: 'use GET stats|info|book or POST misbehave|pause|resume|diverge' });
    if (action === 'pause') return (this.pause(), json(res, 200, { ok: true }));
    if (action === 'diverge') {
      const url = new URL(req.url ?? '/', 'http://simulator');
      const ticks = Number(url.searchParams.get('ticks'));
      if (!Number.isSafeInteger(ticks)) return json(res, 400, { error: 'ticks must be an integer' });
      try {
        this.diverge(url.searchParams.get('symbol') ?? '', ticks);
      } catch (err) {
        return json(res, 400, { error: (err as Error).message });
      }
      return json(res, 200, { ok: true });
    }
    if (action === 'resume') return (this.resume(), json(res, 200, { ok: true }));
    if (action !== 'misbehave') return json(res, 404, { error: `no control action ${action}` });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let cmd: unknown;
    try {
      cmd = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return json(res, 400, { error: 'body must be JSON' });
    }
    try {
      this.misbehave(cmd as Misbehaviour);
    } catch (err) {
      return json(res, 400, { error: (err as Error).message });
    }
    json(res, 200, { ok: true });
  }

  async close(): Promise<void> {
    this.market?.stop();
    this.stopDropping();
    for (const t of this.timers) clearInterval(t);
    for (const c of this.clients) {
      c.closing = true;
      c.ws.terminate();
    }
    this.clients.clear();
    this.wss.close();
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    this.log.debug('simulator closed');
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
}
