import { afterAll, describe, expect, it } from 'vitest';
import { restTradeHistory, restTradeRange, tradeLike } from '../../../venues/kit/history.js';
import { PAST_INTERVAL_MS } from '../../../venues/kit/history-sim.js';
import { venueById } from '../../../venues/index.js';
import type { Trade } from '../../../schemas/trade.js';
import { startSimulator, type Simulator } from '../../../simulate/index.js';

/**
 * REST trade history of one venue against its simulator (real HTTP): the computed past before
 * the synthetic market, paged by time (backfill) and by id (gap filling), within the venue's
 * own REST limits (the simulator counts a violation otherwise).
 */
export function historyRig(venueId: string, symbol: string): {
  sim(): Simulator;
  like(): Trade;
  start(): Promise<Simulator>;
  range(fromMs: number, toMs: number): Promise<Trade[]>;
  byId(fromId: number, limit: number, sinceTs?: number): Promise<Trade[]>;
} {
  const venue = venueById(venueId);
  let sim: Simulator | null = null;
  afterAll(async () => sim?.close());
  const like = () => tradeLike(venue, symbol, venue.createAdapter().toVenueSymbol(symbol));
  return {
    sim: () => sim!,
    like,
    async start() {
      sim = await startSimulator({ venue: venueId, synthetic: { symbols: [symbol], tradesPerSec: 40, seed: 5 } });
      const s = sim;
      const end = Date.now() + 20_000;
      while ((s.stats().generated[symbol]?.trades ?? 0) < 5 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(s.stats().generated[symbol]?.trades).toBeGreaterThanOrEqual(5);
      return s;
    },
    async range(fromMs, toMs) {
      const out: Trade[] = [];
      for await (const page of restTradeRange(venue, sim!.restUrl)(like(), fromMs, toMs)) out.push(...page);
      return out;
    },
    byId: (fromId, limit, sinceTs) => restTradeHistory(venue, sim!.restUrl)!.trades(like(), fromId, limit, new AbortController().signal, sinceTs),
  };
}

/** Ids strictly contiguous and times non-decreasing, all inside [from, to). */
export function expectContiguousRange(trades: readonly Trade[], fromMs: number, toMs: number): void {
  expect(trades.length).toBeGreaterThan(0);
  for (let i = 0; i < trades.length; i++) {
    const t = trades[i]!;
    expect(t.ts).toBeGreaterThanOrEqual(fromMs);
    expect(t.ts).toBeLessThan(toMs);
    if (i > 0) {
      expect(Number(t.id), `id after ${trades[i - 1]!.id}`).toBe(Number(trades[i - 1]!.id) + 1);
      expect(t.ts).toBeGreaterThanOrEqual(trades[i - 1]!.ts);
    }
  }
  // The simulator's past has one trade per interval: the whole range, not a part of it.
  expect(trades.length).toBeGreaterThanOrEqual(Math.floor((toMs - fromMs) / PAST_INTERVAL_MS) - 1);
  expect(trades.length).toBeLessThanOrEqual(Math.ceil((toMs - fromMs) / PAST_INTERVAL_MS) + 1);
}

/**
 * The REST trade history of a venue whose history pages by time and by contiguous id, against its
 * simulator: a past hour by time (every trade once, nothing outside the range, the same trades by
 * id) and by id across the seam into the live market. `firstLiveId`: the simulator's stat naming
 * the first live id (aggregate ids for Binance's aggTrades).
 */
export function describeRestHistory(venueId: string, symbol: string, what: string, firstLiveId: 'firstAggId' | 'firstTradeId' = 'firstTradeId'): void {
  describe(`${venueId} REST trade history${what} against the simulator (real HTTP): backfill by time, gap filling by id`, () => {
    const rig = historyRig(venueId, symbol);

    it('a past hour by time: every trade once, contiguous ids, nothing outside the range; the same trades by id', async () => {
      const s = await rig.start();
      const to = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
      const from = to - 3_600_000;
      const trades = await rig.range(from, to);
      expectContiguousRange(trades, from, to);
      expect(trades.every((t) => t.venue === venueId && t.symbol === symbol)).toBe(true);
      // The trade before the first is before the range: nothing at its start was left out.
      const first = Number(trades[0]!.id);
      const before = (await rig.byId(first - 1, 5, trades[0]!.ts - 5_000)).find((t) => Number(t.id) === first - 1);
      expect(before!.ts).toBeLessThan(from);
      // Gap filling pages by id: the same trades, normalized the same way.
      const again = (await rig.byId(first, 50, before!.ts)).filter((t) => Number(t.id) >= first).slice(0, 50);
      expect(again.map(({ recvTs: _r, ...t }) => t)).toEqual(trades.slice(0, 50).map(({ recvTs: _r, ...t }) => t));
      // A second walk gives the same trades (the past is computed, not random).
      expect((await rig.range(from, from + 600_000)).map((t) => t.id)).toEqual(trades.filter((t) => t.ts < from + 600_000).map((t) => t.id));
      expect(s.stats().violations).toEqual({});
    });

    it('by id across the seam into the live market: contiguous', async () => {
      const s = rig.sim();
      const firstLive = s.stats().generated[symbol]![firstLiveId]!;
      const live = await rig.byId(firstLive - 3, 6, Date.now() - 120_000);
      const ids = live.map((t) => Number(t.id)).filter((id) => id >= firstLive - 3);
      expect(ids.slice(0, 4)).toEqual([firstLive - 3, firstLive - 2, firstLive - 1, firstLive]);
      expect(s.stats().violations).toEqual({});
    });
  });
}
