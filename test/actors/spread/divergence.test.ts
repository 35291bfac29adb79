import { describe, expect, it } from 'vitest';
import { loadSpreadConfig, spreadCosts } from '../../../actors/spread/config.js';
import { SpreadActor } from '../../../actors/spread/spread-actor.js';
import type { ArbitrageRecord } from '../../../schemas/arbitrage.js';
import type { BookEvent, BookLevel } from '../../../schemas/book.js';
import { fixed, SyntheticMarket, type MarketEvent } from '../../../simulate/market.js';

/**
 * Acceptance (issue 13 item 5): two simulated venues with the same seed quote the same true book;
 * one diverges by a known number of ticks (`SyntheticMarket.diverge`, `/__sim/diverge`) from 1 s to
 * 3 s. The spread actor, fed the venues' books as md.book events, must report exactly one episode:
 * started when the divergence appeared, opened K ms later, ended when it was taken back, with Q*
 * and net bps equal to an independent per-unit bigint walk of the two true books (net bps rounded
 * half-up to 4 decimals). With fees above the divergence there must be no episode at all.
 */

const SYMBOL = 'BTC-USDT';
const T0 = Date.UTC(2030, 5, 1);
const K = 500;

function market(events: MarketEvent[]): SyntheticMarket {
  return new SyntheticMarket(
    {
      symbols: [SYMBOL],
      tradesPerSec: 0,
      quotesPerSec: 0,
      seed: 7,
      startPrice: { [SYMBOL]: '27000.00' },
      fair: { dailyVolatility: 0, venueNoiseBps: 0, dislocationBps: 0 },
    },
    1000,
    (ev) => events.push(ev),
  );
}

/** The true book and its changes as a book feed publishes them (md.book events of one epoch). */
class BookEvents {
  private seq = 0;
  constructor(
    readonly venue: string,
    private readonly m: SyntheticMarket,
  ) {}

  private levels(l: [number, number][]): BookLevel[] {
    const spec = this.m.spec(SYMBOL)!;
    return l.map(([p, q]) => [fixed(p, spec.priceDp), fixed(q, spec.qtyDp)]);
  }

  snapshot(now: number): BookEvent {
    const v = this.m.depth.view(SYMBOL);
    return this.event('snapshot', this.levels(v.bids), this.levels(v.asks), now);
  }

  delta(ev: MarketEvent, now: number): BookEvent {
    const side = (s: 'bid' | 'ask') => this.levels(ev.depth.filter((c) => c.side === s).map((c) => [c.price, c.qty]));
    return this.event('delta', side('bid'), side('ask'), now);
  }

  private event(type: BookEvent['type'], bids: BookLevel[], asks: BookLevel[], now: number): BookEvent {
    const seq = ++this.seq;
    return { venue: this.venue, symbol: SYMBOL, type, epoch: 1, seq, prevSeq: seq - 1, state: 'live', bids, asks, ts: now, recvTs: now };
  }
}

/**
 * Reference: each qty tick of the buy venue's asks against each of the sell venue's bids, in order,
 * kept while bid × (10⁴ − fee) > ask × (10⁴ + fee) (ticks, bps: all integers). Net in units of
 * price tick × qty tick × 10⁻⁴.
 */
function referenceWalk(asks: [number, number][], bids: [number, number][], feeBps: bigint): { units: bigint; net: bigint; spent: bigint } {
  const a = asks.map(([p, q]) => [BigInt(p), BigInt(q)] as [bigint, bigint]);
  const b = bids.map(([p, q]) => [BigInt(p), BigInt(q)] as [bigint, bigint]);
  let i = 0;
  let j = 0;
  let aLeft = a[0]![1];
  let bLeft = b[0]![1];
  let units = 0n;
  let cost = 0n;
  let proceeds = 0n;
  while (i < a.length && j < b.length) {
    const pa = a[i]![0];
    const pb = b[j]![0];
    if (pb * (10_000n - feeBps) <= pa * (10_000n + feeBps)) break;
    // one qty tick at a time
    units++;
    cost += pa;
    proceeds += pb;
    if (--aLeft === 0n && ++i < a.length) aLeft = a[i]![1];
    if (--bLeft === 0n && ++j < b.length) bLeft = b[j]![1];
  }
  return { units, net: proceeds * (10_000n - feeBps) - cost * (10_000n + feeBps), spent: cost * (10_000n + feeBps) };
}

/** num/den × 10⁴ rounded half-up (ties away from zero) to 4 decimals, as text. */
function bps4(num: bigint, den: bigint): string {
  const scaled = num * 10_000n * 10_000n;
  let q = scaled / den;
  if ((scaled % den) * 2n >= den) q++;
  const s = q.toString().padStart(5, '0');
  return `${s.slice(0, -4)}.${s.slice(-4)}`;
}

async function run(feesBps: string, divergeTicks: number) {
  const evA: MarketEvent[] = [];
  const evB: MarketEvent[] = [];
  const a = market(evA);
  const b = market(evB);
  const booksA = new BookEvents('binance', a);
  const booksB = new BookEvents('okx', b);
  let clock = T0;
  const out: ArbitrageRecord[] = [];
  const cfg = loadSpreadConfig({
    TICKWORK_ARB_FEES_BPS: `binance:${feesBps},okx:${feesBps}`,
    TICKWORK_ARB_OPEN_AFTER_MS: String(K),
    TICKWORK_ARB_MIN_BPS: '1',
    TICKWORK_ARB_HYSTERESIS_BPS: '0.5',
    TICKWORK_ARB_MAX_NOTIONAL: 'none',
    TICKWORK_ARB_STALE_MS: '60000',
  });
  const actor = new SpreadActor(SYMBOL, {
    costs: spreadCosts(cfg),
    staleMs: cfg.TICKWORK_ARB_STALE_MS,
    fundingStaleMs: cfg.TICKWORK_ARB_FUNDING_STALE_MS,
    openAfterMs: cfg.TICKWORK_ARB_OPEN_AFTER_MS,
    updateMs: cfg.TICKWORK_ARB_UPDATE_MS,
    now: () => clock,
    emit: async (event) => {
      out.push(event);
    },
  });
  const tickUntil = async (t: number) => {
    while (clock < t) {
      clock += 100;
      await actor.receive({ t: 'tick' });
    }
  };
  await actor.receive({ t: 'book', event: booksA.snapshot(clock) });
  await actor.receive({ t: 'book', event: booksB.snapshot(clock) });
  expect(a.depth.view(SYMBOL)).toEqual(b.depth.view(SYMBOL)); // same seed: the same book
  await tickUntil(T0 + 1000);

  b.diverge(SYMBOL, divergeTicks, clock);
  const shifted = b.depth.view(SYMBOL);
  const original = a.depth.view(SYMBOL);
  // every level moved by exactly the divergence, sizes kept
  expect(shifted.bids).toEqual(original.bids.map(([p, q]) => [p + divergeTicks, q]));
  expect(shifted.asks).toEqual(original.asks.map(([p, q]) => [p + divergeTicks, q]));
  await actor.receive({ t: 'book', event: booksB.delta(evB.shift()!, clock) });
  await tickUntil(T0 + 3000);

  b.diverge(SYMBOL, 0, clock);
  await actor.receive({ t: 'book', event: booksB.delta(evB.shift()!, clock) });
  await tickUntil(T0 + 4000);
  return { out, asks: original.asks, bids: shifted.bids, spec: a.spec(SYMBOL)! };
}

describe('divergence scenario: two simulated venues, one diverged by a known number of ticks', () => {
  it('yields exactly one episode (start, end, Q*, net bps) matching a per-unit bigint walk of the true books', async () => {
    const { out, asks, bids, spec } = await run('2', 3000);
    const ref = referenceWalk(asks, bids, 2n);
    expect(ref.units).toBeGreaterThan(0n);
    expect(out.map((e) => e.event)).toEqual(['open', 'close']);
    const [open, close] = out as [ArbitrageRecord, ArbitrageRecord];
    expect([open.buyVenue, open.sellVenue, open.startedAt, open.ts, open.endedAt]).toEqual(['binance', 'okx', T0 + 1000, T0 + 1000 + K, null]);
    expect([close.startedAt, close.endedAt, close.episodeId]).toEqual([T0 + 1000, T0 + 3000, open.episodeId]);
    const size = fixed(ref.units, spec.qtyDp).replace(/\.?0+$/, '');
    // net in price-tick × qty-tick × 10⁻⁴ units: 10^-(priceDp + qtyDp + 4)
    const net = fixed(ref.net, spec.priceDp + spec.qtyDp + 4).replace(/\.?0+$/, '');
    const bps = bps4(ref.net, ref.spent);
    for (const e of [open, close]) expect([e.size, e.netQuote, e.netBps, e.peakBps, e.avgBps]).toEqual([size, net, bps, bps, bps]);
    // the best ask of one venue and the best bid of the other, as sent
    expect(open.ask).toBe(fixed(asks[0]![0], spec.priceDp));
    expect(open.bid).toBe(fixed(bids[0]![0], spec.priceDp));
  });

  it('no episode when the fees exceed the divergence', async () => {
    // 3000 ticks (30.00) of 27,000.00 are ~11 bps; 10 bps a side is 20
    const { out } = await run('10', 3000);
    expect(out).toEqual([]);
  });
});
