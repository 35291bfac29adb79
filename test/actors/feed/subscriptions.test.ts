import { describe, expect, it } from 'vitest';
import type { Trade } from '../../../schemas/trade.js';
import { readStream, simFeedRig, waitUntil } from './helpers.js';

/**
 * Subscribe and unsubscribe at runtime (FeedSupervisor.subscribe/unsubscribe) on the one open
 * Binance connection: a new symbol starts flowing, a removed one stops, and the others keep
 * their connection and an unbroken id sequence (simulator, real JetStream).
 */

const ALL = ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'];

describe('runtime subscribe/unsubscribe (simulator, real JetStream)', () => {
  const rig = simFeedRig();

  it('adds SOL and removes ETH without reconnecting; BTC is never interrupted', async () => {
    const { iso, sim: s, feed: f } = await rig.start({ venue: 'binance', synthetic: { symbols: ALL, tradesPerSec: 80, seed: 41 } }, ['BTC-USDT', 'ETH-USDT']);
    const nats = await iso.nats();
    const stream = iso.ns.stream('MD_TRADES');
    const stored = async () => (await readStream(nats, stream)).map((m) => m.json<Trade>());
    const count = (ts: Trade[], sym: string) => ts.filter((t) => t.symbol === sym).length;

    await waitUntil(() => f.stats.trades > 30, 10_000, 'first trades');
    expect(count(await stored(), 'SOL-USDT')).toBe(0);

    await f.subscribe(['SOL-USDT']);
    await waitUntil(async () => count(await stored(), 'SOL-USDT') > 5, 10_000, 'SOL trades after subscribing');
    expect(f.symbols).toEqual(ALL);

    await f.unsubscribe(['ETH-USDT']);
    expect(f.symbols).toEqual(['BTC-USDT', 'SOL-USDT']);
    // Frames already on the wire may still arrive; after that, ETH stops while the others go on.
    await new Promise((r) => setTimeout(r, 500));
    const ethAfter = count(await stored(), 'ETH-USDT');
    const btcAfter = count(await stored(), 'BTC-USDT');
    await new Promise((r) => setTimeout(r, 2000));
    s.pause();
    await f.flush();
    const final = await stored();
    expect(count(final, 'ETH-USDT')).toBe(ethAfter);
    expect(count(final, 'BTC-USDT')).toBeGreaterThan(btcAfter);

    // One connection all along: no reconnect, one connect at the simulator, three subscribe requests.
    const st = s.stats();
    expect(st.connections).toBe(1);
    expect(st.subscribeMessages).toBe(3);
    expect(f.stats.reconnects).toBe(0);
    expect(f.connections.length).toBe(1);
    expect(st.violations).toEqual({});
    // BTC's ids are unbroken from its first stored trade (no gap, nothing backfilled), each once.
    const btc = final.filter((t) => t.symbol === 'BTC-USDT').map((t) => Number(t.id));
    expect(new Set(btc).size).toBe(btc.length);
    expect(Math.max(...btc) - Math.min(...btc) + 1).toBe(btc.length);
    expect(f.stats.gapsDetected).toBe(0);
    expect(f.stats.backfilled).toBe(0);
  });

  it('a burst of runtime (un)subscribes is paced under Binance\'s 5 messages/s per connection', async () => {
    const { sim: s, feed: f } = rig.current;
    s.resume();
    const before = s.stats().subscribeMessages;
    const extra = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE'].map((b) => `${b}-USDT`);
    const t0 = Date.now();
    // Ten requests, one message each, sent as fast as the caller can: the connection must pace them.
    for (const sym of extra) await f.subscribe([sym]);
    for (const sym of extra) await f.unsubscribe([sym]);
    await waitUntil(() => s.stats().subscribeMessages === before + 10, 15_000, 'ten subscribe requests at the simulator', () => ({ sim: s.stats(), feed: f.stats, symbols: f.symbols }));
    const elapsed = Date.now() - t0;
    expect(s.stats().violations).toEqual({});
    expect(s.stats().limitDisconnects).toBe(0);
    expect(f.stats.reconnects).toBe(0);
    // 4 per 1.1 s (one of the venue's 5 stays free for pongs): ten take two full windows at least.
    expect(elapsed).toBeGreaterThanOrEqual(2000);
    expect(f.symbols).toEqual(['BTC-USDT', 'SOL-USDT']);
  });
});
