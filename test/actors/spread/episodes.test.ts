import { describe, expect, it } from 'vitest';
import { EpisodeTracker, ratioAtLeastBps, type EpisodeEvent, type Observation } from '../../../actors/spread/episodes.js';
import { parseDecimal } from '../../../runtime/decimal.js';

const MIN = parseDecimal('5');
const KEEP = parseDecimal('4'); // 5 − 1 bp of hysteresis

/** An observation of `bps` exactly (num/den = bps/10⁴). */
const obs = (bps: string, size = '1'): Observation<{ size: string }> => {
  const num = parseDecimal(bps);
  const den = parseDecimal('10000');
  return { num, den, bps: Number(bps).toFixed(4), above: ratioAtLeastBps(num, den, MIN), keep: ratioAtLeastBps(num, den, KEEP), detail: { size } };
};

const summary = (e: EpisodeEvent<{ size: string }>) => [e.event, e.startedAt, e.endedAt, e.ts, e.last.bps, e.peakBps, e.avgBps];

describe('EpisodeTracker (K = 100 ms, hysteresis 1 bp, updates every 50 ms)', () => {
  it('opens after K ms above the threshold, updates while it lasts, closes below threshold − hysteresis', () => {
    const t = new EpisodeTracker<{ size: string }>('BTC-USDT:a:b', { openAfterMs: 100, updateMs: 50 }, (x, y) => x.size !== y.size);
    const out: EpisodeEvent<{ size: string }>[] = [];
    t.observe(1000, obs('3'), out); // below: nothing
    t.observe(1010, obs('6'), out); // candidate from 1010
    t.observe(1060, obs('8'), out);
    expect(out).toEqual([]);
    t.observe(1110, obs('7'), out); // 100 ms since 1010: open
    t.observe(1120, obs('4.5'), out); // under the threshold, within the hysteresis: stays open; too soon for an update
    t.observe(1170, obs('4.5', '2'), out); // 60 ms since the open, changed: update
    t.observe(1200, obs('3.9'), out); // below 4: close at 1200
    expect(out.map(summary)).toEqual([
      ['open', 1010, null, 1110, '7.0000', '8.0000', '7.0000'], // (6×50 + 8×50) / 100: the 7 has held no time yet
      ['update', 1010, null, 1170, '4.5000', '8.0000', '6.2188'], // (700 + 7×10 + 4.5×50) / 160 = 6.21875, half-up
      ['close', 1010, 1200, 1200, '4.5000', '8.0000', '5.9474'], // (995 + 4.5×30) / 190 = 5.947368…
    ]);
    expect(out[0]!.id).toBe('BTC-USDT:a:b:1010');
    expect(t.isOpen).toBe(false);
  });

  it('a dip below the threshold before K drops the candidate: the next one starts anew', () => {
    const t = new EpisodeTracker<{ size: string }>('k', { openAfterMs: 100, updateMs: 50 }, () => false);
    const out: EpisodeEvent<{ size: string }>[] = [];
    t.observe(0, obs('6'), out);
    t.observe(90, obs('4.5'), out); // above keep but below the threshold: a candidate needs the threshold
    t.observe(100, obs('6'), out);
    t.observe(150, obs('6'), out);
    expect(out).toEqual([]);
    t.observe(200, obs('6'), out);
    expect(out.map((e) => [e.event, e.startedAt])).toEqual([['open', 100]]);
  });

  it('gone (null) closes at once; K = 0 opens at the first observation; close() ends an open episode', () => {
    const t = new EpisodeTracker<{ size: string }>('k', { openAfterMs: 0, updateMs: 0 }, () => false);
    const out: EpisodeEvent<{ size: string }>[] = [];
    t.observe(5, obs('10'), out);
    t.observe(7, null, out);
    t.observe(9, obs('10'), out);
    t.close(12, out);
    t.close(13, out);
    expect(out.map((e) => [e.event, e.startedAt, e.endedAt, e.avgBps])).toEqual([
      ['open', 5, null, '10.0000'],
      ['close', 5, 7, '10.0000'],
      ['open', 9, null, '10.0000'],
      ['close', 9, 12, '10.0000'],
    ]);
  });

  it('the peak is compared exactly, not by its rounded figure', () => {
    const t = new EpisodeTracker<{ size: string }>('k', { openAfterMs: 0, updateMs: 0 }, () => false);
    const out: EpisodeEvent<{ size: string }>[] = [];
    const exact = (num: string, den: string, bps: string, size: string): Observation<{ size: string }> => ({
      num: parseDecimal(num),
      den: parseDecimal(den),
      bps,
      above: true,
      keep: true,
      detail: { size },
    });
    t.observe(0, exact('6.00001', '10000', '6.0000', 'first'), out);
    t.observe(1, exact('6.00002', '10000', '6.0000', 'second'), out); // same rounded bps, higher exact value
    t.close(2, out);
    expect(out.at(-1)!.peak.detail.size).toBe('second');
  });
});
