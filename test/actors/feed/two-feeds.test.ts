import { afterAll, describe, expect, it } from 'vitest';
import type { Trade } from '../../../schemas/trade.js';
import { startSimulator, type Simulator } from '../../../simulate/index.js';
import { isolated } from '../../harness.js';
import { metricSum, readStream, startFeedProcess, waitUntil, type FeedProcess } from './helpers.js';

/**
 * Acceptance (issue 3): two `tickwork feed` processes on the same simulated Binance and symbols
 * publish every trade; MD_TRADES (real NATS JetStream, Nats-Msg-Id dedupe) holds each trade once.
 * The children's own metrics account for every trade the simulator sent them: stored copies =
 * the stream's count, and every other trade received or backfilled was suppressed as a duplicate.
 */

const SYMBOLS = ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'];

describe('two feed processes on one venue (tickwork feed ×2, simulator, real JetStream)', () => {
  const iso = isolated();
  let sim: Simulator | null = null;
  const procs: FeedProcess[] = [];
  afterAll(async () => {
    for (const p of procs) await p.stop();
    await sim?.close();
    await iso.cleanup();
  });

  it('MD_TRADES holds each trade once; published + duplicates of both = trades sent', async () => {
    const t0 = Date.now();
    sim = await startSimulator({ venue: 'binance', synthetic: { symbols: SYMBOLS, tradesPerSec: 50, seed: 3 } });
    const s = sim;
    const env = sim.env;
    const [a, b] = await Promise.all([startFeedProcess(iso, 'binance', SYMBOLS, env), startFeedProcess(iso, 'binance', SYMBOLS, env)]);
    procs.push(a!, b!);
    // Both receive for a while, then the market stops and both catch up.
    await new Promise((r) => setTimeout(r, 4000));
    s.pause();
    const sentTotal = () => Object.values(s.stats().tradesSent).reduce((x, y) => x + y, 0);
    // Every trade a feed received or backfilled was published (stored or a JetStream duplicate)
    // or dropped as a repeat of an id it had already handled.
    const handled = (m: Map<string, number>) =>
      metricSum(m, 'tickwork_feed_trades_published_total', { venue: 'binance' }) +
      metricSum(m, 'tickwork_feed_duplicates_suppressed_total', { venue: 'binance', kind: 'trade' }) +
      metricSum(m, 'tickwork_feed_duplicates_suppressed_total', { venue: 'binance', kind: 'trade-seq' }) -
      metricSum(m, 'tickwork_feed_backfilled_trades_total', { venue: 'binance' });
    const accounted = async () => {
      let n = 0;
      for (const p of procs) n += handled(await p.metrics());
      return n;
    };
    let last = 0;
    await waitUntil(async () => (last = await accounted()) === sentTotal(), 15_000, 'both feeds to account for every trade sent', () => ({
      sent: s.stats().tradesSent,
      accounted: last,
      sim: s.stats(),
    }));

    const nats = await iso.nats();
    const trades = (await readStream(nats, iso.ns.stream('MD_TRADES'))).map((m) => m.json<Trade>());
    const keys = new Set(trades.map((t) => `${t.symbol}:${t.id}`));
    expect(keys.size).toBe(trades.length);

    const [ma, mb] = await Promise.all([a!.metrics(), b!.metrics()]);
    const stored = (m: Map<string, number>) => metricSum(m, 'tickwork_feed_trades_published_total', { venue: 'binance' });
    const dups = (m: Map<string, number>) => metricSum(m, 'tickwork_feed_duplicates_suppressed_total', { venue: 'binance', kind: 'trade' });
    const repeats = (m: Map<string, number>) => metricSum(m, 'tickwork_feed_duplicates_suppressed_total', { venue: 'binance', kind: 'trade-seq' });
    const backfilled = (m: Map<string, number>) => metricSum(m, 'tickwork_feed_backfilled_trades_total', { venue: 'binance' });
    const sent = sentTotal();
    expect(stored(ma) + stored(mb)).toBe(trades.length);
    // The later feed starts from the last trade the other stored, so it may backfill a few.
    expect(dups(ma) + dups(mb) + repeats(ma) + repeats(mb)).toBe(sent + backfilled(ma) + backfilled(mb) - trades.length);
    // Both really published (each saw trades the other had stored already).
    expect(dups(ma) + dups(mb)).toBeGreaterThan(trades.length / 2);
    expect(stored(ma)).toBeGreaterThan(0);
    expect(stored(mb)).toBeGreaterThan(0);

    // Nothing missing either: contiguous aggTrade ids up to the simulator's last, per symbol.
    const gen = s.stats().generated;
    for (const sym of SYMBOLS) {
      const ids = trades.filter((t) => t.symbol === sym).map((t) => Number(t.id));
      const first = Math.min(...ids);
      expect(Math.max(...ids)).toBe(gen[sym]!.lastAggId);
      expect(ids.length).toBe(gen[sym]!.lastAggId! - first + 1);
    }
    expect(s.stats().violations).toEqual({});

    const codes = await Promise.all(procs.map((p) => p.stop()));
    expect(codes).toEqual([0, 0]);
    console.log(
      `two feeds: ${sent} trades sent to 2 clients, ${trades.length} stored once; A stored ${stored(ma)} dup ${dups(ma)} repeats ${repeats(ma)} ` +
        `backfilled ${backfilled(ma)}, B stored ${stored(mb)} dup ${dups(mb)} repeats ${repeats(mb)} backfilled ${backfilled(mb)}; ${Date.now() - t0} ms`,
    );
  });
});
