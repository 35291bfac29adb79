import { describe, expect, it } from 'vitest';
import { backoffCap, backoffDelay, sleep, type BackoffPolicy } from '../../runtime/backoff.js';

const policy: BackoffPolicy = { initialMs: 10, maxMs: 100, multiplier: 2 };

describe('backoffDelay (full jitter)', () => {
  it('caps grow by the multiplier and clamp at maxMs', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => backoffCap(a, policy))).toEqual([10, 20, 40, 80, 100, 100, 100]);
    // Huge attempts overflow to Infinity internally; the cap must still be maxMs, never NaN.
    expect(backoffCap(5000, policy)).toBe(100);
    expect(backoffCap(-3, policy)).toBe(10);
    expect(backoffCap(3, { initialMs: 0, maxMs: 100, multiplier: 2 })).toBe(0);
  });

  it('draws uniformly from [0, cap): bounds hold and the range is actually used', () => {
    for (let attempt = 0; attempt < 8; attempt++) {
      const cap = backoffCap(attempt, policy);
      const samples = Array.from({ length: 2000 }, () => backoffDelay(attempt, policy));
      expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...samples)).toBeLessThan(cap);
      // Full jitter: both halves of [0, cap) are hit, i.e. it is not "cap/2 + jitter".
      expect(samples.filter((s) => s < cap / 4).length).toBeGreaterThan(200);
      expect(samples.filter((s) => s > (3 * cap) / 4).length).toBeGreaterThan(200);
    }
  });

  it('scales the injected random by the cap', () => {
    expect(backoffDelay(2, policy, () => 0)).toBe(0);
    expect(backoffDelay(2, policy, () => 0.5)).toBe(20);
    expect(backoffDelay(9, policy, () => 0.25)).toBe(25);
  });
});

describe('sleep', () => {
  it('waits at least the given time', async () => {
    const t0 = performance.now();
    await sleep(25);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(24);
  });

  it('rejects with the abort reason as soon as the signal aborts', async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    setTimeout(() => ac.abort(new Error('shutdown')), 10);
    await expect(sleep(5000, ac.signal)).rejects.toThrow('shutdown');
    expect(performance.now() - t0).toBeLessThan(1000);
    await expect(sleep(10, ac.signal)).rejects.toThrow('shutdown'); // already aborted
  });
});
