import { describe, expect, it } from 'vitest';
import type { Trade } from '../../../schemas/trade.js';
import { expectAggIdsOnceAndContiguous, readStream, simFeedRig, waitForLastAggTrades, waitUntil } from './helpers.js';

/**
 * Acceptance (issue 3): the simulated Binance (its real limits: 5 incoming messages/s per
 * connection, 300 connects per 5 min, REST weight) drops every connection every 2 s for 30 s.
 * Afterwards MD_TRADES (real NATS JetStream) holds every aggTrade id from the first stored to
 * the simulator's last, once, per symbol (REST backfill), and the simulator counted no limit
 * violation.
 */

const SYMBOLS = ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'];

describe('Binance feed under connection drops every 2 s for 30 s (simulator, real JetStream)', () => {
  const rig = simFeedRig();

  it('no aggTrade id missing or doubled in MD_TRADES; connects and messages within the venue limits', async () => {
    const t0 = Date.now();
    const { iso, sim: s, feed: f } = await rig.start({ venue: 'binance', synthetic: { symbols: SYMBOLS, tradesPerSec: 60, seed: 11 } }, SYMBOLS);
    await waitUntil(() => f.stats.trades > 20, 10_000, 'first trades stored');

    s.misbehave({ kind: 'drop-every', everyMs: 2000, durationMs: 30_000 });
    // The simulator's stop timer and its last tick are both due at 30 s: wait past them.
    await new Promise((r) => setTimeout(r, 30_500));
    const dropped = s.stats().drops;
    // Live trades after the last drop reveal the last gap (the feed backfills it); then stop the market.
    const after = f.stats.trades;
    await waitUntil(() => f.connections.every((c) => c.connected) && f.stats.trades > after + 100, 15_000, 'trades flowing again after the drops', () => f.stats);
    expect(s.stats().drops).toBe(dropped);
    s.pause();

    const nats = await iso.nats();
    const stream = iso.ns.stream('MD_TRADES');
    await waitForLastAggTrades(iso, nats, s, SYMBOLS, () => ({
      gen: Object.fromEntries(SYMBOLS.map((sym) => [sym, s.stats().generated[sym]!.lastAggId])),
      tracker: Object.fromEntries(SYMBOLS.map((sym) => [sym, f.connections[0]!.gaps.lastId(sym)])),
      frames: Object.fromEntries(f.stats.frames),
      lastFrameAgeMs: Date.now() - (f.connections[0]!.lastFrameAt ?? 0),
      stats: f.stats,
    }));
    await f.flush();

    const trades = (await readStream(nats, stream)).map((m) => m.json<Trade>());
    const gen = s.stats().generated;
    for (const sym of SYMBOLS) {
      const ids = trades.filter((t) => t.symbol === sym).map((t) => Number(t.id));
      const distinct = new Set(ids);
      expect(distinct.size, `${sym}: no id stored twice`).toBe(ids.length);
      const first = Math.min(...ids);
      const last = gen[sym]!.lastAggId!;
      expect(Math.max(...ids)).toBe(last);
      const missing: number[] = [];
      for (let id = first; id <= last; id++) if (!distinct.has(id)) missing.push(id);
      expect(missing, `${sym}: ids missing between ${first} and ${last}`).toEqual([]);
      expect(ids.length).toBe(last - first + 1);
    }

    const st = s.stats();
    console.log(
      `drops: ${dropped} drops, ${st.connections} connections (${st.connectAttempts} attempts, ${st.rejectedConnects} refused), ` +
        `${st.subscribeMessages} subscribes, ${st.restRequests} REST requests; feed: ${f.stats.reconnects} reconnects ` +
        `${JSON.stringify(Object.fromEntries(f.stats.reconnectsByCause))}, ${f.stats.gapsDetected} gaps detected, ${f.stats.gapsFilled} filled, ` +
        `${f.stats.backfilled} trades backfilled, ${f.stats.repeats} repeats dropped, ${trades.length} trades stored, ${Date.now() - t0} ms`,
    );
    expect(st.violations, 'simulator limit violations').toEqual({});
    expect(st.limitDisconnects).toBe(0);
    // Drops only hit a connected feed; reconnects back off (full jitter) as failures repeat.
    expect(dropped).toBeGreaterThanOrEqual(5);
    expect(f.stats.reconnects).toBeGreaterThanOrEqual(dropped);
    expect(f.stats.gapsDetected).toBeGreaterThan(0);
    expect(f.stats.gapsFilled).toBe(f.stats.gapsDetected);
    expect(f.stats.unfilledIds).toBe(0);
    expect(f.stats.backfilled).toBeGreaterThan(0);
    expect(f.stats.frames.get('reject') ?? 0).toBe(0);
  });
});

describe('Binance feed after an outage with no trade after it (simulator, real JetStream)', () => {
  const rig = simFeedRig();

  it('the trades of the outage are caught up from REST on reconnect, without waiting for a live trade', async () => {
    const { iso, sim: s, feed: f } = await rig.start({ venue: 'binance', synthetic: { symbols: SYMBOLS, tradesPerSec: 60, seed: 12 } }, SYMBOLS);
    await waitUntil(() => f.stats.trades > 20, 10_000, 'first trades stored');
    const before = s.stats().connections;
    // 1.5 s without connections while the market trades; stop the market the moment the feed is back.
    s.misbehave({ kind: 'drop-all', durationMs: 1500 });
    // Polled every millisecond: the market must stop before the new connection delivers a trade.
    const end = Date.now() + 15_000;
    while (s.stats().connections === before && Date.now() < end) await new Promise((r) => setTimeout(r, 1));
    s.pause();
    expect(s.stats().connections).toBeGreaterThan(before);
    const gen = s.stats().generated;

    const nats = await iso.nats();
    const stream = iso.ns.stream('MD_TRADES');
    await waitForLastAggTrades(iso, nats, s, SYMBOLS, () => ({ gen: Object.fromEntries(SYMBOLS.map((sym) => [sym, gen[sym]!.lastAggId])), stats: f.stats }));
    await f.flush();
    expectAggIdsOnceAndContiguous((await readStream(nats, stream)).map((m) => m.json<Trade>()), s, SYMBOLS);
    expect(f.stats.gapsFilled).toBeGreaterThan(0);
    expect(f.stats.backfilled).toBeGreaterThan(0);
    expect(f.stats.unfilledIds).toBe(0);
    expect(s.stats().violations).toEqual({});
  });
});
