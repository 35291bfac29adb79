import type { Msg, Subscription } from '@nats-io/transport-node';
import type { NatsHandles } from '../runtime/nats/index.js';
import { readSubjectSince } from '../runtime/nats/stream-source.js';
import { CANDLE_REVISION_HEADER, CandleCheck, parseCandleRevision, type Candle } from '../schemas/candle.js';
import { candleSubjectTokens, checkCandle } from '../schemas/candle-check.js';
import { STREAMS, STREAM_SUBJECTS, candleSubject } from '../schemas/subjects.js';
import type { Namespace } from '../runtime/namespace.js';

interface Version {
  candle: Candle;
  revision: number;
}

/** Series kept at most (least recently updated dropped first): bounds memory whatever the bus carries. */
const MAX_SERIES = 20_000;
/** A series is read back from MD_CANDLES at most this often (a hole that stays is not re-read per query). */
const FILL_EVERY_MS = 2_000;

/**
 * The newest closed candles of each venue/symbol/tf as the workers publish them on MD_CANDLES
 * (core subscription, no consumer), so `/v1/candles` shows no hole between the last candle the
 * sink wrote to PostgreSQL and the open one while the sink lags or is down. Each series keeps
 * `perSeries` candles; a version replaces one of the same openTime when its revision is not lower.
 * Candles are checked as the sink checks them (schema, subject, consistency).
 */
export class RecentCandles {
  private readonly series = new Map<string, Version[]>();
  private readonly dec = new TextDecoder();
  private sub: Subscription | null = null;
  private nats: NatsHandles | null = null;
  private ns: Namespace | null = null;
  /** When each series was last read back from MD_CANDLES. */
  private readonly filledAt = new Map<string, number>();

  constructor(
    private readonly perSeries: number,
    private readonly session: (venue: string, symbol: string) => boolean = () => false,
  ) {}

  start(nats: NatsHandles, ns: Namespace): void {
    if (this.perSeries === 0) return;
    this.nats = nats;
    this.ns = ns;
    this.sub = nats.nc.subscribe(ns.subject(STREAM_SUBJECTS.candles), { callback: (err, msg) => (err ? undefined : this.onMessage(ns, msg)) });
  }

  stop(): void {
    this.sub?.unsubscribe();
    this.sub = null;
  }

  /** Closed candles of the series with openTime in [from, to], ascending. */
  closed(venue: string, symbol: string, tf: string, from = 0, to = Number.MAX_SAFE_INTEGER): Candle[] {
    const list = this.series.get(key(venue, symbol, tf));
    if (!list) return [];
    return list.filter((v) => v.candle.openTime >= from && v.candle.openTime <= to).map((v) => v.candle);
  }

  /**
   * Reads back from MD_CANDLES the closed candles of a series stored since `sinceMs` (what this
   * process missed: published before it started, while PostgreSQL has not stored them yet). At
   * most once per FILL_EVERY_MS per series; a failed read (no permission, no stream) is ignored.
   */
  async fill(venue: string, symbol: string, tf: string, sinceMs: number): Promise<void> {
    const { nats, ns } = this;
    // Session-aligned series have real holes (nights, weekends).
    if (nats === null || ns === null || this.session(venue, symbol)) return;
    const k = key(venue, symbol, tf);
    const now = Date.now();
    if (now - (this.filledAt.get(k) ?? 0) < FILL_EVERY_MS) return;
    if (this.filledAt.size >= MAX_SERIES) this.filledAt.delete(this.filledAt.keys().next().value!);
    this.filledAt.set(k, now);
    try {
      const msgs = await readSubjectSince(nats, ns.stream(STREAMS.candles), ns.subject(candleSubject(tf, venue, symbol)), sinceMs, this.perSeries * 4);
      for (const m of msgs) this.onMessage(ns, m);
    } catch {
      // the hole stays until the sink stores those candles
    }
  }

  private onMessage(ns: Namespace, msg: Pick<Msg, 'data' | 'subject' | 'headers'>): void {
    let c: unknown;
    try {
      c = JSON.parse(this.dec.decode(msg.data));
    } catch {
      return;
    }
    if (!CandleCheck.Check(c)) return;
    const tokens = candleSubjectTokens(ns.unsubject(msg.subject));
    if (!tokens || checkCandle(c, { ...tokens, session: this.session(c.venue, c.symbol) }) !== null) return;
    const revision = parseCandleRevision(msg.headers?.get(CANDLE_REVISION_HEADER));
    if (revision === null) return;
    this.add(c, revision);
  }

  add(candle: Candle, revision: number): void {
    const k = key(candle.venue, candle.symbol, candle.tf);
    let list = this.series.get(k);
    if (list) this.series.delete(k); // re-inserted below: the Map's order is the update order
    else {
      list = [];
      if (this.series.size >= MAX_SERIES) this.series.delete(this.series.keys().next().value!);
    }
    this.series.set(k, list);
    let i = list.length;
    while (i > 0 && list[i - 1]!.candle.openTime > candle.openTime) i--;
    const same = list[i - 1];
    if (same && same.candle.openTime === candle.openTime) {
      if (revision >= same.revision) list[i - 1] = { candle, revision };
      return;
    }
    list.splice(i, 0, { candle, revision });
    if (list.length > this.perSeries) list.shift();
  }
}

const key = (venue: string, symbol: string, tf: string): string => `${venue}|${symbol}|${tf}`;
