import type { Namespace } from '../runtime/namespace.js';
import { PipelinedPublisher, type NatsHandles, type PublishResult } from '../runtime/nats/index.js';
import { tradeSubject } from '../schemas/subjects.js';
import { tradeMsgId, type Trade } from '../schemas/trade.js';
import type { NatsConnection } from '@nats-io/transport-node';
import { RawPublisher, type RawMessage } from './raw-publish.js';
import { preciseNow, sleep } from './stats.js';

/** In-flight publishes of a feed connection (TICKWORK_FEED_MAX_IN_FLIGHT default). */
export const FEED_MAX_IN_FLIGHT = 2048;

export const benchSymbol = (i: number): string => `B${String(i).padStart(4, '0')}-USDT`;

export interface GeneratedTrade {
  /** Index of the symbol. */
  s: number;
  trade: Trade;
  /** The instant `recvTs` was stamped, with sub-millisecond resolution. */
  stampedAt: number;
}

/**
 * Synthetic Binance-like trades for `symbols` symbols: symbols take turns, each with its own
 * trade-id sequence and a random-walk price on a 0.01 tick (deterministic across runs).
 */
export class TradeGen {
  readonly symbols: string[];
  private readonly ticks: number[];
  private readonly ids: number[];
  private next = 0;
  private seed = 0x9e3779b9;

  /** `first`: number of the first symbol, so runs sharing a worker can use fresh symbols. */
  constructor(symbols: number, first = 0) {
    this.symbols = Array.from({ length: symbols }, (_, i) => benchSymbol(first + i));
    this.ticks = this.symbols.map((_, i) => 2_000_000 + i * 1_237);
    this.ids = this.symbols.map(() => 1_000_000_000);
  }

  private rand(): number {
    // xorshift32: cheap and deterministic.
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed / 4294967296;
  }

  /** The next trade, for symbol `s` (default: round robin), `recvTs` = now, `ts` = now unless given. */
  trade(s = this.next, ts?: number): GeneratedTrade {
    this.next = s + 1 === this.symbols.length ? 0 : s + 1;
    this.ticks[s]! += Math.floor(this.rand() * 9) - 4;
    const symbol = this.symbols[s]!;
    const stampedAt = preciseNow();
    const now = Math.floor(stampedAt);
    const lots = 1 + Math.floor(this.rand() * this.rand() * 100_000);
    const trade: Trade = {
      venue: 'binance',
      symbol,
      venueSymbol: symbol.replace('-', ''),
      id: String(this.ids[s]!++),
      price: (this.ticks[s]! / 100).toFixed(2),
      qty: (lots / 100_000).toFixed(5),
      side: this.rand() < 0.5 ? 'buy' : 'sell',
      ts: ts ?? now,
      recvTs: now,
    };
    return { s, trade, stampedAt };
  }

  /** `n` trades as ready-to-send messages (subject, JSON body, Nats-Msg-Id as a feed builds them). */
  messages(ns: Namespace, n: number, ts?: (i: number) => number): RawMessage[] {
    const enc = new TextEncoder();
    return Array.from({ length: n }, (_, i) => {
      const { trade } = this.trade(undefined, ts?.(i));
      return { subject: ns.subject(tradeSubject(trade.venue, trade.symbol)), data: enc.encode(JSON.stringify(trade)), msgId: tradeMsgId(trade) };
    });
  }
}

/**
 * Publishes generated trades into MD_TRADES the way a feed's MarketPublisher does: namespaced
 * `md.trade.<venue>.<SYMBOL>`, JSON body, Nats-Msg-Id `<venue>:<SYMBOL>:<id>`, through a
 * PipelinedPublisher with the feed's in-flight bound, handed over synchronously while there is
 * room (a wait only when the PubAcks in flight reach the bound).
 */
export class TradeLoad {
  readonly gen: TradeGen;
  readonly publisher: PipelinedPublisher;
  /** Trades handed to the publisher, per symbol. */
  readonly sent: number[];
  failed: unknown = null;

  constructor(
    nats: NatsHandles,
    private readonly ns: Namespace,
    symbols: number,
    first = 0,
    maxInFlight = FEED_MAX_IN_FLIGHT,
  ) {
    this.gen = new TradeGen(symbols, first);
    this.publisher = new PipelinedPublisher(nats, { maxInFlight });
    this.sent = this.gen.symbols.map(() => 0);
  }

  get symbols(): string[] {
    return this.gen.symbols;
  }

  get total(): number {
    let n = 0;
    for (const s of this.sent) n += s;
    return n;
  }

  /** Publishes one trade; resolves once it is on the wire (back-pressure as in a feed), with its ack promise. */
  async publish(t: GeneratedTrade): Promise<{ stored: Promise<PublishResult> }> {
    if (!this.publisher.hasRoom) await this.publisher.room();
    return { stored: this.send(t) };
  }

  /** Hands one trade over now, whatever the room (callers check `publisher.hasRoom`); returns its ack promise. */
  send(t: GeneratedTrade): Promise<PublishResult> {
    this.sent[t.s]!++;
    const tr = t.trade;
    const stored = new Promise<PublishResult>((resolve, reject) =>
      this.publisher.send(this.ns.subject(tradeSubject(tr.venue, tr.symbol)), JSON.stringify(tr), tradeMsgId(tr), undefined, (err, r) => (r ? resolve(r) : reject(err))),
    );
    stored.catch((err: unknown) => (this.failed ??= err));
    return stored;
  }

  /** `n` trades as fast as the publisher takes them; resolves when all are acknowledged. */
  async burst(n: number, ts?: (i: number) => number): Promise<void> {
    for (let i = 0; i < n; i++) {
      if (!this.publisher.hasRoom) await this.publisher.room();
      this.send(this.gen.trade(undefined, ts?.(i)));
    }
    await this.flush();
  }

  /**
   * `rate` trades/s for `durationMs`, in small slices (every `sliceMs`) so arrivals are steady.
   * `onSent` gets each trade once it is on the wire, with its ack promise. Returns trades sent.
   */
  async paced(rate: number, durationMs: number, onSent?: (t: GeneratedTrade, stored: Promise<PublishResult>) => void, stop?: () => boolean, sliceMs = 2): Promise<number> {
    const t0 = performance.now();
    let sent = 0;
    for (;;) {
      const elapsed = performance.now() - t0;
      if (elapsed >= durationMs || stop?.()) break;
      const due = Math.floor((elapsed * rate) / 1000);
      while (sent < due) {
        const t = this.gen.trade();
        if (!this.publisher.hasRoom) await this.publisher.room();
        onSent?.(t, this.send(t));
        sent++;
      }
      await sleep(sliceMs);
    }
    return sent;
  }

  async flush(): Promise<void> {
    await this.publisher.flush();
    if (this.failed) throw this.failed;
  }
}

/**
 * `rate` trades/s for `durationMs` through a RawPublisher: every `sliceMs` the trades due are
 * generated and sent in one synchronous group (one socket write). `onSent` gets each trade and
 * its tag (the index of the trade in this call), `onAck` the tag and its stream sequence.
 * Returns the trades sent. Keeps the pace unless more than `maxInFlight` are unacknowledged.
 */
export async function pacedRaw(
  nc: NatsConnection,
  ns: Namespace,
  gen: TradeGen,
  rate: number,
  durationMs: number,
  hooks: { onSent?: (t: GeneratedTrade, tag: number) => void; onAck?: (tag: number, seq: number) => void; stop?: () => boolean } = {},
  sliceMs = 2,
  maxInFlight = FEED_MAX_IN_FLIGHT,
): Promise<number> {
  const pub = new RawPublisher(nc, hooks.onAck);
  const enc = new TextEncoder();
  const t0 = performance.now();
  let sent = 0;
  for (;;) {
    const elapsed = performance.now() - t0;
    if (elapsed >= durationMs || hooks.stop?.()) break;
    const due = Math.floor((elapsed * rate) / 1000);
    while (sent < due) {
      const t = gen.trade();
      pub.send({ subject: ns.subject(tradeSubject(t.trade.venue, t.trade.symbol)), data: enc.encode(JSON.stringify(t.trade)), msgId: tradeMsgId(t.trade) }, sent);
      hooks.onSent?.(t, sent);
      sent++;
    }
    await pub.waitInFlight(maxInFlight);
    await sleep(sliceMs);
  }
  await pub.close();
  return sent;
}
