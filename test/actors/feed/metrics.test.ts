import { afterAll, describe, expect, it } from 'vitest';
import type { FeedSupervisor } from '../../../actors/feed/supervisor.js';
import { Value } from '@sinclair/typebox/value';
import { FeedHealth, feedHealthKey } from '../../../schemas/state.js';
import { startSimulator, type Simulator } from '../../../simulate/index.js';
import { isolated } from '../../harness.js';
import { metricSum, startFeed, startFeedProcess, streamCount, waitUntil, type FeedProcess } from './helpers.js';

/**
 * Acceptance (issue 3): per-venue metrics on `/metrics` of a `tickwork feed` process after a run
 * with a connection outage, malformed frames and a second feed replica on the same venue
 * (simulated Binance, real NATS JetStream and Redis): frames received, trades published,
 * duplicates suppressed, reconnects, gaps detected/filled, DLQ by reason, last-message age.
 */

const SYMBOLS = ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'];
const MALFORMED = 300;
const V = { venue: 'binance' };

describe('feed metrics on /metrics of tickwork feed (simulator, real JetStream)', () => {
  const iso = isolated();
  let sim: Simulator | null = null;
  let child: FeedProcess | null = null;
  let replica: FeedSupervisor | null = null;
  afterAll(async () => {
    await child?.stop();
    await replica?.stop();
    await sim?.close();
    await iso.cleanup();
  });

  it('every per-venue series has a plausible non-zero value after drops, malformed frames and a replica', async () => {
    sim = await startSimulator({ venue: 'binance', synthetic: { symbols: SYMBOLS, tradesPerSec: 50, seed: 21 } });
    const s = sim;
    const env = sim.env;
    child = await startFeedProcess(iso, 'binance', SYMBOLS, env);
    const c = child;
    // A second replica in this process: the child then sees its own publishes rejected as duplicates.
    replica = await startFeed(iso, 'binance', SYMBOLS, env);
    await new Promise((r) => setTimeout(r, 1500));

    // An outage: both reconnect, and the trades of the outage are backfilled (gaps).
    s.misbehave({ kind: 'drop-all', durationMs: 1000 });
    await waitUntil(async () => metricSum(await c.metrics(), 'tickwork_feed_connections_open', V) === 1 && s.stats().activeClients === 2, 20_000, 'both feeds reconnected');
    await new Promise((r) => setTimeout(r, 1000));
    s.misbehave({ kind: 'malformed', count: MALFORMED });
    await waitUntil(async () => metricSum(await c.metrics(), 'tickwork_feed_dlq_total', V) === MALFORMED, 15_000, 'the malformed frames in the DLQ');
    await new Promise((r) => setTimeout(r, 1200)); // one health/age refresh period

    const m = await c.metrics();
    const frames = metricSum(m, 'tickwork_feed_frames_total', V);
    const data = metricSum(m, 'tickwork_feed_frames_total', { ...V, class: 'data' });
    const rejectFrames = metricSum(m, 'tickwork_feed_frames_total', { ...V, class: 'reject' });
    const trades = metricSum(m, 'tickwork_feed_trades_published_total', V);
    const quotes = metricSum(m, 'tickwork_feed_quotes_published_total', V);
    const dupTrades = metricSum(m, 'tickwork_feed_duplicates_suppressed_total', { ...V, kind: 'trade' });
    const reconnectsClosed = metricSum(m, 'tickwork_feed_reconnects_total', { ...V, cause: 'closed' });
    const reconnects = metricSum(m, 'tickwork_feed_reconnects_total', V);
    const gapsDetected = metricSum(m, 'tickwork_feed_gaps_detected_total', V);
    const gapsFilled = metricSum(m, 'tickwork_feed_gaps_filled_total', V);
    const backfilled = metricSum(m, 'tickwork_feed_backfilled_trades_total', V);
    const unfilled = metricSum(m, 'tickwork_feed_gap_trades_unfilled_total', V);
    const dlq = metricSum(m, 'tickwork_feed_dlq_total', V);
    const age = metricSum(m, 'tickwork_feed_last_message_age_seconds', V);
    const reasons = ['json', 'schema', 'encoding', 'unknown-frame'].map((reason) => [reason, metricSum(m, 'tickwork_feed_dlq_total', { ...V, reason })] as const);
    const summary = { frames, data, rejectFrames, trades, quotes, dupTrades, reconnects, gapsDetected, gapsFilled, backfilled, unfilled, dlq, age, reasons };
    console.log(`metrics of tickwork feed: ${JSON.stringify(summary)}`);

    expect(frames).toBeGreaterThan(trades / 2);
    expect(data).toBeGreaterThan(0);
    expect(rejectFrames).toBe(MALFORMED);
    expect(trades).toBeGreaterThan(0);
    expect(quotes).toBeGreaterThan(0);
    expect(dupTrades).toBeGreaterThan(0);
    expect(reconnectsClosed).toBeGreaterThanOrEqual(1);
    // During the outage the simulator refuses connections: those attempts count as connect-failed.
    expect(reconnects).toBe(reconnectsClosed + metricSum(m, 'tickwork_feed_reconnects_total', { ...V, cause: 'connect-failed' }));
    expect(gapsDetected).toBeGreaterThanOrEqual(1);
    expect(gapsFilled).toBe(gapsDetected);
    expect(backfilled).toBeGreaterThan(0);
    expect(unfilled).toBe(0);
    expect(dlq).toBe(MALFORMED);
    // By reason: the fuzz kinds map to several reasons, which add up to the total.
    expect(reasons.filter(([, n]) => n > 0).length).toBeGreaterThanOrEqual(3);
    expect(reasons.reduce((a, [, n]) => a + n, 0)).toBe(MALFORMED);
    // The market is live: the freshest frame is well under a second or two old.
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(3);
    expect(m.get('tickwork_feed_last_message_age_seconds{venue="binance"}')).toBeDefined();

    // The same numbers reach the health record in Redis (what the API's feeds table shows).
    const health = JSON.parse((await iso.redis().get(iso.ns.key(feedHealthKey('binance'))))!) as FeedHealth;
    expect(Value.Check(FeedHealth, health)).toBe(true);
    expect(health.connected).toBe(1);
    expect(health.reconnects).toBeGreaterThanOrEqual(1);
    expect(health.tradesPublished).toBeGreaterThan(0);
    expect(health.dlq).toBe(MALFORMED);
    expect(health.symbols).toEqual(SYMBOLS);
    // Both feeds rejected the same frames: the DLQ stream holds both copies.
    const nats = await iso.nats();
    expect(await streamCount(nats, iso.ns.stream('MD_DLQ'))).toBe(2 * MALFORMED);
    expect(s.stats().violations).toEqual({});
  });
});
