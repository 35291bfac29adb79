import type { Behavior } from '../../runtime/actor/index.js';
import { parseDecimal, type Decimal } from '../../runtime/decimal.js';
import { arbitrageId, type ArbitrageRecord } from '../../schemas/arbitrage.js';
import type { Quote } from '../../schemas/quote.js';
import { bestCrossing, sameCrossing, spreadBps, type Crossing, type VenueTop } from './crossing.js';
import { spreadMetrics as m } from './metrics.js';

export type SpreadMsg = { t: 'quote'; quote: Quote };

export interface SpreadActorPorts {
  /** Quotes whose venue `ts` is older than this (against `now()`) take no part. */
  staleMs: number;
  minBps: Decimal;
  now: () => number;
  /** Publishes and stores one opportunity. */
  emit(rec: ArbitrageRecord): Promise<void>;
}

/**
 * One canonical symbol across all venues: keeps each venue's latest top of book and, after
 * every quote, emits the best cross-venue pair when it is new or its prices moved. Nothing is
 * emitted again for an unchanged state; once no pair crosses, the next crossing is new.
 */
export class SpreadActor implements Behavior<SpreadMsg> {
  private readonly tops = new Map<string, VenueTop>();
  private last: Crossing | null = null;

  constructor(
    readonly symbol: string,
    private readonly ports: SpreadActorPorts,
  ) {}

  async receive(msg: SpreadMsg): Promise<void> {
    const q = msg.quote;
    const now = this.ports.now();
    m.quotes.inc();
    if (now - q.ts > this.ports.staleMs) {
      m.stale.inc({ stage: 'arrival' });
      return;
    }
    const held = this.tops.get(q.venue);
    if (held !== undefined && q.ts < held.ts) return; // out of order: we already hold a newer quote
    this.tops.set(q.venue, toTop(q));
    this.expire(now);

    const best = bestCrossing(this.tops.values(), this.ports.minBps);
    if (best === null) {
      this.last = null;
      return;
    }
    if (this.last !== null && sameCrossing(this.last, best)) return;
    this.last = best;
    m.opportunities.inc();
    await this.ports.emit(this.record(best));
  }

  private expire(now: number): void {
    for (const [venue, top] of this.tops) {
      if (now - top.ts > this.ports.staleMs) {
        this.tops.delete(venue);
        m.stale.inc({ stage: 'expired' });
      }
    }
  }

  private record(c: Crossing): ArbitrageRecord {
    const ts = Math.max(c.buy.ts, c.sell.ts);
    return {
      id: arbitrageId(this.symbol, c.buy.venue, c.sell.venue, ts),
      symbol: this.symbol,
      ts,
      buyVenue: c.buy.venue,
      sellVenue: c.sell.venue,
      ask: c.buy.askText,
      bid: c.sell.bidText,
      spreadBps: spreadBps(c.sell.bid!, c.buy.ask!),
    };
  }
}

/** A side priced ≤ 0 means the venue has no order there (an empty book side). */
function toTop(q: Quote): VenueTop {
  const bid = parseDecimal(q.bidPrice);
  const ask = parseDecimal(q.askPrice);
  return {
    venue: q.venue,
    bid: bid.units > 0n ? bid : null,
    ask: ask.units > 0n ? ask : null,
    bidText: q.bidPrice,
    askText: q.askPrice,
    ts: q.ts,
  };
}
