import { describe, expect, it } from 'vitest';
import type { Trade } from '../../../schemas/trade.js';
import { venueById } from '../../../venues/index.js';
import { readStream, simFeedRig, waitUntil, type SimFeed } from './helpers.js';

/**
 * Acceptance (issue 14 item 5): the drop-every-2-s test of Binance (test/actors/feed/drops.test.ts)
 * for OKX, Kraken and Coinbase. Each simulated venue drops every connection every 2 s for 30 s;
 * afterwards MD_TRADES (real NATS JetStream) holds every trade id from the first stored to the
 * simulator's last, once, per symbol — the gaps filled from the venue's REST history (OKX
 * history-trades, Kraken Trades, Coinbase trades) within its own REST limits (the simulator
 * counts a violation otherwise). OKX's live `trades` channel aggregates fills (id = last fill,
 * `count` fills): the fills a stored trade covers are counted, so its ids are checked the same way.
 */

const CASES = [
  { venue: 'okx', symbols: ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'], seed: 21 },
  { venue: 'kraken', symbols: ['BTC-USD', 'ETH-USD', 'SOL-USD'], seed: 22 },
  { venue: 'coinbase', symbols: ['BTC-USD', 'ETH-USD', 'SOL-USD'], seed: 23 },
] as const;

/** Per symbol, the fill ids each stored trade covers: [id − count + 1, id]. */
function coveredIds(trades: readonly Trade[], symbol: string): number[] {
  const ids: number[] = [];
  for (const t of trades) {
    if (t.symbol !== symbol) continue;
    const last = Number(t.id);
    for (let id = last - (t.count ?? 1) + 1; id <= last; id++) ids.push(id);
  }
  return ids;
}

async function lastStoredId(rig: SimFeed, venue: string, symbol: string): Promise<number> {
  const nats = await rig.iso.nats();
  const m = await nats.jsm.streams.getMessage(rig.iso.ns.stream('MD_TRADES'), { last_by_subj: rig.iso.ns.subject(`md.trade.${venue}.${symbol}`) });
  return m ? Number(m.json<Trade>().id) : -1;
}

describe.each(CASES)('$venue feed under connection drops every 2 s for 30 s (simulator, real JetStream)', ({ venue, symbols, seed }) => {
  const rig = simFeedRig();

  it('no trade id missing or doubled in MD_TRADES; gaps filled from REST within the venue limits', { timeout: 240_000 }, async () => {
    expect(venueById(venue).history, `${venue} has a REST history`).toBeDefined();
    const started = await rig.start({ venue, synthetic: { symbols: [...symbols], tradesPerSec: 60, seed } }, [...symbols], { TICKWORK_FEED_CHANNELS: 'trades' });
    const { sim: s, feed: f } = started;
    await waitUntil(() => f.stats.trades > 20, 20_000, 'first trades stored');

    s.misbehave({ kind: 'drop-every', everyMs: 2000, durationMs: 30_000 });
    await new Promise((r) => setTimeout(r, 30_500));
    const dropped = s.stats().drops;
    // Live trades after the last drop reveal the last gap (the feed fills it); then stop the market.
    const after = f.stats.trades;
    await waitUntil(() => f.connections.every((c) => c.connected) && f.stats.trades > after + 100, 60_000, 'trades flowing again after the drops', () => f.stats);
    s.pause();

    const gen = () => Object.fromEntries(symbols.map((sym) => [sym, s.stats().generated[sym]!.lastTradeId]));
    await waitUntil(
      async () => {
        for (const sym of symbols) if ((await lastStoredId(started, venue, sym)) !== s.stats().generated[sym]!.lastTradeId) return false;
        return true;
      },
      90_000,
      'the last generated trade of every symbol stored',
      () => ({ gen: gen(), stats: f.stats }),
    );
    await f.flush();

    const trades = (await readStream(await started.iso.nats(), started.iso.ns.stream('MD_TRADES'))).map((m) => m.json<Trade>());
    for (const sym of symbols) {
      const ids = coveredIds(trades, sym);
      const distinct = new Set(ids);
      expect(distinct.size, `${venue} ${sym}: no id stored twice`).toBe(ids.length);
      const first = Math.min(...ids);
      const last = s.stats().generated[sym]!.lastTradeId!;
      expect(Math.max(...ids)).toBe(last);
      const missing: number[] = [];
      for (let id = first; id <= last; id++) if (!distinct.has(id)) missing.push(id);
      expect(missing, `${venue} ${sym}: ids missing between ${first} and ${last}`).toEqual([]);
    }
    const st = s.stats();
    console.log(
      `${venue} drops: ${dropped} drops, ${st.connections} connections, ${st.restRequests} REST requests; feed: ${f.stats.reconnects} reconnects, ` +
        `${f.stats.gapsDetected} gaps detected, ${f.stats.gapsFilled} filled, ${f.stats.backfilled} trades backfilled, ${f.stats.repeats} repeats dropped, ${trades.length} trades stored`,
    );
    expect(st.violations, 'simulator limit violations (REST rate included)').toEqual({});
    expect(dropped).toBeGreaterThanOrEqual(5);
    expect(f.stats.reconnects).toBeGreaterThanOrEqual(dropped);
    expect(f.stats.gapsDetected).toBeGreaterThan(0);
    expect(f.stats.unfilledIds).toBe(0);
    expect(f.stats.backfilled).toBeGreaterThan(0);
    expect(f.stats.frames.get('reject') ?? 0).toBe(0);
  });
});
