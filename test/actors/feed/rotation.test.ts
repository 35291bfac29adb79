import { describe, expect, it } from 'vitest';
import { loadFeedConfig } from '../../../actors/feed/config.js';
import { rotationAge } from '../../../actors/feed/rotation.js';
import { venueById } from '../../../venues/index.js';
import type { Trade } from '../../../schemas/trade.js';
import { expectAggIdsOnceAndContiguous, readStream, simFeedRig, waitForLastAggTrades } from './helpers.js';

/**
 * Proactive rotation of Binance connections before the venue's 24 h cut-off: a replacement
 * connection subscribes while the old one still delivers (overlap), is promoted once it delivers,
 * and no aggTrade id is missing or stored twice across rotations (simulator, real JetStream).
 */

const SYMBOLS = ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'];
const DAY = 86_400_000;

describe('rotation age', () => {
  it('Binance rotates before its 24 h cut-off by default, never after it, and venues without a cut-off do not rotate', () => {
    const limits = venueById('binance').limits;
    expect(limits.maxConnectionAgeMs).toBe(DAY);
    const cfg = loadFeedConfig({});
    const dflt = rotationAge(cfg.TICKWORK_FEED_ROTATE_AFTER_MS, cfg.TICKWORK_FEED_ROTATE_OVERLAP_MS, limits.maxConnectionAgeMs);
    expect(dflt).toBeGreaterThan(0);
    expect(dflt + cfg.TICKWORK_FEED_ROTATE_OVERLAP_MS).toBeLessThan(DAY);
    // A configured age beyond the cut-off is clamped to leave the overlap plus a minute.
    expect(rotationAge(30 * 3_600_000, 5000, DAY)).toBe(DAY - 5000 - 60_000);
    expect(rotationAge(2000, 300, DAY)).toBe(2000);
    expect(rotationAge(0, 300, DAY)).toBe(0);
    expect(rotationAge(2000, 300, venueById('okx').limits.maxConnectionAgeMs)).toBe(0);
  });
});

describe('Binance connection rotation with overlap (simulator, real JetStream)', () => {
  const rig = simFeedRig();

  it('connections are replaced every ~2 s with an overlap; no aggTrade id missing or doubled', async () => {
    const t0 = Date.now();
    const { iso, sim: s, feed: f } = await rig.start({ venue: 'binance', synthetic: { symbols: SYMBOLS, tradesPerSec: 60, seed: 31 } }, SYMBOLS, {
      TICKWORK_FEED_ROTATE_AFTER_MS: '2000',
      TICKWORK_FEED_ROTATE_OVERLAP_MS: '300',
    });
    // Sample how many connections the simulator holds: during a rotation both are open.
    let maxClients = 0;
    const sampler = setInterval(() => (maxClients = Math.max(maxClients, s.stats().activeClients)), 5);
    await new Promise((r) => setTimeout(r, 8000));
    clearInterval(sampler);
    s.pause();

    const nats = await iso.nats();
    const stream = iso.ns.stream('MD_TRADES');
    await waitForLastAggTrades(iso, nats, s, SYMBOLS);
    await f.flush();
    const trades = (await readStream(nats, stream)).map((m) => m.json<Trade>());
    expectAggIdsOnceAndContiguous(trades, s, SYMBOLS);

    const st = s.stats();
    const rotations = f.stats.reconnectsByCause.get('rotation') ?? 0;
    console.log(
      `rotation: ${rotations} rotations, ${st.connections} connections, max ${maxClients} open at once, ${f.stats.repeats} overlap repeats dropped, ` +
        `${f.stats.quoteDuplicates} overlap quotes deduplicated, ${f.stats.gapsDetected} gaps (${f.stats.backfilled} backfilled), ${trades.length} trades, ${Date.now() - t0} ms`,
    );
    // ~8 s / (2 s + overlap): three rotations at least, each a new connection, never an actor restart.
    expect(rotations).toBeGreaterThanOrEqual(3);
    // Every connection is the first or a promoted replacement, or the replacement opening right now.
    expect(st.connections - (rotations + 1)).toBeOneOf([0, 1]);
    expect(f.stats.reconnects).toBe(rotations);
    expect(maxClients).toBe(2);
    // The overlap delivered the same trades and quotes twice: trade repeats were dropped before
    // publishing (sequential ids), quote repeats were stored once (same Nats-Msg-Id).
    expect(f.stats.repeats).toBeGreaterThan(0);
    expect(f.stats.tradeDuplicates).toBe(0);
    expect(f.stats.quoteDuplicates).toBeGreaterThan(0);
    expect(f.stats.unfilledIds).toBe(0);
    expect(st.violations).toEqual({});
    expect(f.connections[0]!.connected).toBe(true);
  });
});
