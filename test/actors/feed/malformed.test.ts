import { afterAll, describe, expect, it } from 'vitest';
import { readStream, simFeedRig, streamCount, waitUntil } from './helpers.js';

/**
 * Acceptance (issue 3): 10,000 fuzzed frames (truncated JSON, wrong types, missing fields, huge
 * numbers, non-UTF-8 bytes) from the simulated Binance through the real connector into real
 * NATS JetStream: no crash, no unhandled rejection, MD_DLQ holds exactly the simulator's
 * malformedSent (= the rejects the connector counted), and trades keep flowing afterwards.
 */

const SYMBOLS = ['BTC-USDT', 'ETH-USDT'];
const FUZZED = 10_000;

describe('Binance feed fed 10,000 malformed frames (simulator, real JetStream)', () => {
  const rig = simFeedRig();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
  });

  it('every malformed frame is one DLQ entry with a reason; no crash, no unhandled rejection; trades continue', async () => {
    const t0 = Date.now();
    const { iso, sim: s, feed: f } = await rig.start({ venue: 'binance', synthetic: { symbols: SYMBOLS, tradesPerSec: 40, seed: 5 } }, SYMBOLS);
    await waitUntil(() => f.stats.trades > 10, 10_000, 'first trades stored');

    s.misbehave({ kind: 'malformed', count: FUZZED });
    const nats = await iso.nats();
    const dlqStream = iso.ns.stream('MD_DLQ');
    await waitUntil(() => s.stats().malformedSent === FUZZED && f.stats.dlq >= FUZZED, 30_000, 'every malformed frame received', () => ({
      sent: s.stats().malformedSent,
      dlq: f.stats.dlq,
    }));
    await f.flush();
    const tFuzz = Date.now();
    // Trades still flow on the same connection after the burst.
    const before = f.stats.trades;
    await waitUntil(() => f.stats.trades > before + 20, 10_000, 'trades after the malformed burst');
    await f.flush();

    const st = s.stats();
    const stored = await streamCount(nats, dlqStream);
    expect(st.malformedSent).toBe(FUZZED);
    expect(f.stats.dlq).toBe(FUZZED);
    expect(f.stats.frames.get('reject')).toBe(FUZZED);
    expect(stored).toBe(FUZZED);
    // Binary non-UTF-8 frames are rejected for their encoding, the rest by the adapter.
    const byReason = Object.fromEntries(f.stats.dlqByReason);
    expect(byReason.encoding).toBe(st.malformedByKind['non-utf8']);
    expect(Object.values(byReason).reduce((a, b) => a + b, 0)).toBe(FUZZED);
    // The feed never dropped its connection over bad frames, and nothing escaped as a rejection.
    expect(f.stats.reconnects).toBe(0);
    expect(st.connections).toBe(1);
    expect(unhandled).toEqual([]);

    const dlq = await readStream(nats, dlqStream);
    expect(dlq.length).toBe(FUZZED);
    const reasons = new Map<string, number>();
    let nonUtf8 = 0;
    for (const m of dlq) {
      expect(m.subject).toBe(iso.ns.subject('md.dlq.binance'));
      const reason = m.headers?.get('Tickwork-Reason') ?? '';
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      expect(m.headers?.get('Tickwork-Source')).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/stream$/);
      if (reason === 'schema') expect(m.headers?.get('Tickwork-Schema-Path')).toMatch(/^\/data/);
      if (!Buffer.from(m.data).equals(Buffer.from(Buffer.from(m.data).toString('utf8'), 'utf8'))) nonUtf8++;
    }
    // Stored reasons equal the connector's counts; the stored bytes are the frames as received.
    expect(Object.fromEntries(reasons)).toEqual(byReason);
    expect(nonUtf8).toBe(st.malformedByKind['non-utf8']);
    console.log(
      `malformed: ${st.malformedSent} sent ${JSON.stringify(st.malformedByKind)}, DLQ ${stored} ${JSON.stringify(byReason)}, ` +
        `burst handled in ${tFuzz - t0} ms since start, ${f.stats.trades} trades, total ${Date.now() - t0} ms`,
    );
  });
});
