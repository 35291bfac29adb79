import type { Behavior } from '../../runtime/actor/index.js';
import { add, compare, formatExact, mul, normalize, parseDecimal, sub, type Decimal } from '../../runtime/decimal.js';
import type { ArbitrageRecord } from '../../schemas/arbitrage.js';
import type { BookEvent, BookSnap } from '../../schemas/book.js';
import { FUNDING_8H_MS, type DerivTicker } from '../../schemas/deriv.js';
import type { Quote } from '../../schemas/quote.js';
import { BookMirror } from './book-mirror.js';
import { bpsFraction, commonStep, netBps, walkBooks, type WalkLevel } from './book-walk.js';
import { feeOf, lotStepOf, type SpreadCosts } from './config.js';
import { spreadBps } from './crossing.js';
import { EpisodeTracker, ratioAtLeastBps, type EpisodeEvent, type Observation } from './episodes.js';
import { fundingSide, fundingSpread, rate8h } from './funding-spread.js';
import { spreadMetrics as m } from './metrics.js';

export type SpreadMsg =
  | { t: 'book'; event: BookEvent }
  | { t: 'snap'; snap: BookSnap }
  | { t: 'quote'; quote: Quote }
  | { t: 'deriv'; ticker: DerivTicker }
  | { t: 'tick' };

export interface SpreadActorPorts {
  costs: SpreadCosts;
  /** A book (or quote) received longer ago than this takes no part. */
  staleMs: number;
  fundingStaleMs: number;
  openAfterMs: number;
  updateMs: number;
  now: () => number;
  /** Publishes one md.arb event and stores the episode's row (figures of its peak). */
  emit(event: ArbitrageRecord, row: ArbitrageRecord): Promise<void>;
}

/** What a book observation reports. */
interface BookDetail {
  ask: string;
  bid: string;
  spreadBps: string;
  size: string;
  netQuote: string;
  notional: string;
}

interface FundingDetail {
  ask: string;
  bid: string;
  buyRate: string;
  sellRate: string;
}

/** A venue's top of book from md.quote: a one-level book, used while the venue has no live book mirror. */
interface QuoteTop {
  bid: WalkLevel | null;
  ask: WalkLevel | null;
  bidText: string;
  askText: string;
  recvTs: number;
}

/** Where a pair's prices come from at one evaluation. */
interface Source {
  venue: string;
  asks(): Iterable<WalkLevel>;
  bids(): Iterable<WalkLevel>;
  bestAsk: WalkLevel | null;
  bestBid: WalkLevel | null;
  askText: string;
  bidText: string;
}

const bookChanged = (a: BookDetail, b: BookDetail) => a.size !== b.size || a.netQuote !== b.netQuote || a.ask !== b.ask || a.bid !== b.bid;
const fundingChanged = (a: FundingDetail, b: FundingDetail) => a.buyRate !== b.buyRate || a.sellRate !== b.sellRate;

/**
 * One canonical symbol across all venues (spot `BASE-QUOTE` or perpetual `BASE-QUOTE-PERP`):
 * - keeps each venue's book from `md.book` events (BookMirror), or its top of book from
 *   `md.quote` while it has no live book, and walks every (buy venue, sell venue) pair to the
 *   size Q* where the marginal edge after taker fees reaches zero (book-walk.ts);
 * - keeps each venue's derivative ticker (`md.deriv`) and computes funding spreads between them;
 * - debounces both into episodes (episodes.ts) and emits their open/update/close events.
 * A book takes part only while `live` and received within `staleMs`; a venue with neither a
 * usable book nor a fresh quote closes its pairs' episodes. All venues of one symbol share its
 * quote currency (the symbol names it), so prices are never mixed across currencies.
 */
export class SpreadActor implements Behavior<SpreadMsg> {
  private readonly mirrors = new Map<string, BookMirror>();
  private readonly quotes = new Map<string, QuoteTop>();
  private readonly tickers = new Map<string, DerivTicker>();
  private readonly trackers = new Map<string, EpisodeTracker<BookDetail>>();
  private readonly fundingTrackers = new Map<string, EpisodeTracker<FundingDetail>>();
  private readonly quoteCcy: string;
  private readonly events: EpisodeEvent<BookDetail>[] = [];
  private readonly fundingEvents: EpisodeEvent<FundingDetail>[] = [];

  constructor(
    readonly symbol: string,
    private readonly ports: SpreadActorPorts,
  ) {
    this.quoteCcy = symbol.split('-')[1] ?? '';
  }

  async receive(msg: SpreadMsg): Promise<void> {
    const now = this.ports.now();
    switch (msg.t) {
      case 'book': {
        const e = msg.event;
        if (this.mirror(e.venue).onEvent(e)) await this.evaluateBooks(now, e.venue);
        return;
      }
      case 'snap':
        if (this.mirror(msg.snap.venue).onSnap(msg.snap)) await this.evaluateBooks(now, msg.snap.venue);
        return;
      case 'quote': {
        m.quotes.inc();
        const q = msg.quote;
        const held = this.quotes.get(q.venue);
        if (held !== undefined && q.recvTs < held.recvTs) return; // out of order: we hold a newer one
        this.quotes.set(q.venue, quoteTop(q));
        await this.evaluateBooks(now, q.venue);
        return;
      }
      case 'deriv': {
        const held = this.tickers.get(msg.ticker.venue);
        if (held !== undefined && msg.ticker.ts < held.ts) return;
        this.tickers.set(msg.ticker.venue, msg.ticker);
        await this.evaluateFunding(now);
        return;
      }
      case 'tick':
        await this.evaluateBooks(now, null);
        await this.evaluateFunding(now);
        return;
    }
  }

  /** Closes every open episode now (the actor is stopping: nothing will close them later). */
  async postStop(): Promise<void> {
    const now = this.ports.now();
    for (const t of this.trackers.values()) t.close(now, this.events);
    for (const t of this.fundingTrackers.values()) t.close(now, this.fundingEvents);
    await this.flushEvents();
  }

  private mirror(venue: string): BookMirror {
    let b = this.mirrors.get(venue);
    if (b === undefined) this.mirrors.set(venue, (b = new BookMirror(venue, this.symbol)));
    return b;
  }

  // ---- books ---------------------------------------------------------------------------------

  /** Re-walks the pairs involving `changed` (every pair when null), feeding their trackers. */
  private async evaluateBooks(now: number, changed: string | null): Promise<void> {
    const sources = this.sources(now);
    const venues = new Set<string>([...this.mirrors.keys(), ...this.quotes.keys()]);
    for (const buy of venues) {
      for (const sell of venues) {
        if (buy === sell || (changed !== null && buy !== changed && sell !== changed)) continue;
        const key = `${this.symbol}:${buy}:${sell}`;
        const a = sources.get(buy);
        const b = sources.get(sell);
        const obs = a !== undefined && b !== undefined ? this.observeBooks(a, b) : null;
        let tracker = this.trackers.get(key);
        if (tracker === undefined) {
          if (obs === null || !obs.above) continue;
          this.trackers.set(key, (tracker = new EpisodeTracker<BookDetail>(key, this.episodeOpts(), bookChanged)));
        }
        tracker.observe(now, obs, this.events);
      }
    }
    await this.flushEvents();
  }

  /** Each venue's usable prices: its live book, else its fresh quote. */
  private sources(now: number): Map<string, Source> {
    const out = new Map<string, Source>();
    const maxAge = this.ports.staleMs;
    for (const [venue, b] of this.mirrors) {
      if (!b.usable(now, maxAge)) continue;
      const bestAsk = first(b.asks());
      const bestBid = first(b.bids());
      out.set(venue, { venue, asks: () => b.asks(), bids: () => b.bids(), bestAsk, bestBid, askText: b.best('ask') ?? '0', bidText: b.best('bid') ?? '0' });
    }
    for (const [venue, q] of this.quotes) {
      if (out.has(venue)) continue;
      if (now - q.recvTs > maxAge) {
        this.quotes.delete(venue);
        m.stale.inc({ stage: 'expired' });
        continue;
      }
      out.set(venue, { venue, asks: () => (q.ask ? [q.ask] : []), bids: () => (q.bid ? [q.bid] : []), bestAsk: q.ask, bestBid: q.bid, askText: q.askText, bidText: q.bidText });
    }
    return out;
  }

  private observeBooks(a: Source, b: Source): Observation<BookDetail> | null {
    const { costs } = this.ports;
    if (a.bestAsk === null || b.bestBid === null) return null;
    const buyFee = bpsFraction(feeOf(costs, a.venue));
    const sellFee = bpsFraction(feeOf(costs, b.venue));
    const transfer = bpsFraction(costs.transferBps);
    // the best levels decide most evaluations: no walk when even they do not cross after fees
    const one: Decimal = { units: 1n, scale: 0 };
    if (compare(mul(b.bestBid.price, sub(one, sellFee)), mul(a.bestAsk.price, add(add(one, buyFee), transfer))) <= 0) return null;
    const r = walkBooks(a.asks(), b.bids(), {
      buyFee,
      sellFee,
      transfer,
      maxNotional: costs.maxNotional,
      lotStep: commonStep(lotStepOf(costs, a.venue, this.symbol), lotStepOf(costs, b.venue, this.symbol)),
    });
    const bps = netBps(r);
    if (bps === null || r.qty.units === 0n || r.net.units <= 0n) return null;
    const above = compare(r.net, costs.minNet) >= 0 && ratioAtLeastBps(r.net, r.spent, costs.minBps);
    const keep = ratioAtLeastBps(r.net, r.spent, sub(costs.minBps, costs.hysteresisBps));
    return {
      num: r.net,
      den: r.spent,
      bps,
      above,
      keep,
      detail: {
        ask: a.askText,
        bid: b.bidText,
        spreadBps: spreadBps(b.bestBid.price, a.bestAsk.price),
        size: formatExact(r.qty, 0),
        netQuote: formatExact(r.net, 0),
        notional: formatExact(r.cost, 0),
      },
    };
  }

  // ---- funding -------------------------------------------------------------------------------

  private async evaluateFunding(now: number): Promise<void> {
    const { costs, fundingStaleMs } = this.ports;
    for (const long of this.tickers.keys()) {
      for (const short of this.tickers.keys()) {
        if (long === short) continue;
        const key = `${this.symbol}:${long}:${short}:funding`;
        const l = fundingSide(this.tickers.get(long), now, fundingStaleMs);
        const s = fundingSide(this.tickers.get(short), now, fundingStaleMs);
        let obs: Observation<FundingDetail> | null = null;
        if (l !== null && s !== null) {
          const sp = fundingSpread(l, s);
          if (sp.num.units > 0n) {
            obs = {
              num: sp.num,
              den: sp.den,
              bps: sp.bps,
              above: ratioAtLeastBps(sp.num, sp.den, costs.fundingMinBps),
              keep: ratioAtLeastBps(sp.num, sp.den, sub(costs.fundingMinBps, costs.hysteresisBps)),
              detail: { ask: l.price, bid: s.price, buyRate: trim(rate8h(l)), sellRate: trim(rate8h(s)) },
            };
          }
        }
        let tracker = this.fundingTrackers.get(key);
        if (tracker === undefined) {
          if (obs === null || !obs.above) continue;
          this.fundingTrackers.set(key, (tracker = new EpisodeTracker<FundingDetail>(key, this.episodeOpts(), fundingChanged)));
        }
        tracker.observe(now, obs, this.fundingEvents);
      }
    }
    await this.flushEvents();
  }

  // ---- events --------------------------------------------------------------------------------

  private episodeOpts() {
    return { openAfterMs: this.ports.openAfterMs, updateMs: this.ports.updateMs };
  }

  private async flushEvents(): Promise<void> {
    for (const ev of this.events.splice(0)) {
      const [buy, sell] = pairOf(ev.id, this.symbol);
      m.opportunities.inc();
      await this.ports.emit(this.bookRecord(ev, buy, sell, ev.last), { ...this.bookRecord(ev, buy, sell, ev.peak), id: ev.id, netBps: ev.peakBps });
    }
    for (const ev of this.fundingEvents.splice(0)) {
      const [buy, sell] = pairOf(ev.id, this.symbol);
      m.opportunities.inc();
      await this.ports.emit(this.fundingRecord(ev, buy, sell, ev.last), { ...this.fundingRecord(ev, buy, sell, ev.peak), id: ev.id, netBps: ev.peakBps });
    }
  }

  private common(ev: EpisodeEvent<unknown>, buy: string, sell: string): Omit<ArbitrageRecord, 'ask' | 'bid' | 'spreadBps' | 'netBps'> {
    return {
      id: `${ev.id}:${ev.event}:${ev.ts}`,
      symbol: this.symbol,
      ts: ev.ts,
      buyVenue: buy,
      sellVenue: sell,
      event: ev.event,
      episodeId: ev.id,
      startedAt: ev.startedAt,
      endedAt: ev.endedAt,
      peakBps: ev.peakBps,
      avgBps: ev.avgBps,
    };
  }

  private bookRecord(ev: EpisodeEvent<BookDetail>, buy: string, sell: string, o: Observation<BookDetail>): ArbitrageRecord {
    const d = o.detail;
    return {
      ...this.common(ev, buy, sell),
      kind: 'book',
      ask: d.ask,
      bid: d.bid,
      spreadBps: d.spreadBps,
      netBps: o.bps,
      size: d.size,
      netQuote: d.netQuote,
      notional: d.notional,
      quote: this.quoteCcy,
    };
  }

  private fundingRecord(ev: EpisodeEvent<FundingDetail>, buy: string, sell: string, o: Observation<FundingDetail>): ArbitrageRecord {
    const d = o.detail;
    return {
      ...this.common(ev, buy, sell),
      kind: 'funding',
      ask: d.ask,
      bid: d.bid,
      spreadBps: o.bps,
      netBps: o.bps,
      buyFundingRate: d.buyRate,
      sellFundingRate: d.sellRate,
      fundingIntervalMs: FUNDING_8H_MS,
      quote: this.quoteCcy,
    };
  }
}

/** `<SYMBOL>:<buy>:<sell>[:funding]:<startedAt>` → [buy, sell] (venue ids hold no ':'). */
function pairOf(episodeId: string, symbol: string): [string, string] {
  const rest = episodeId.slice(symbol.length + 1).split(':');
  return [rest[0]!, rest[1]!];
}

function first<T>(it: Iterable<T>): T | null {
  for (const x of it) return x;
  return null;
}

/** A side priced ≤ 0 or sized ≤ 0 means the venue has no order there (an empty book side). */
function quoteTop(q: Quote): QuoteTop {
  const level = (p: string, s: string): WalkLevel | null => {
    const price = parseDecimal(p);
    const qty = parseDecimal(s);
    return price.units > 0n && qty.units > 0n ? { price, qty } : null;
  };
  return { bid: level(q.bidPrice, q.bidQty), ask: level(q.askPrice, q.askQty), bidText: q.bidPrice, askText: q.askPrice, recvTs: q.recvTs };
}

/** Trailing fraction zeros off ("0.000100000000" → "0.0001"). */
function trim(text: string): string {
  return formatExact(normalize(parseDecimal(text)), 0);
}

