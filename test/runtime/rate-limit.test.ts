import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SlidingWindowLimit, TokenBucket } from '../../runtime/rate-limit.js';

/** Max grants inside any half-open window of `windowMs` (grant times sorted). */
function maxInWindow(times: number[], windowMs: number): number {
  let max = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= windowMs) j++;
    max = Math.max(max, i - j + 1);
  }
  return max;
}

/**
 * A burst against a controlled clock: `calls` tryTake calls over `ms` of simulated time, the
 * clock moving by pseudo-random steps (some calls at the same instant, as on a busy event loop).
 * Returns the grant times. No wall clock, so a loaded machine cannot change the outcome.
 */
function burst(make: (now: () => number) => { tryTake(): boolean }, ms: number, calls: number, seed = 1): number[] {
  let t = 0;
  const limiter = make(() => t);
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const step = (3 * ms) / calls; // mean advance 0.7 × step / 2: the calls span about `ms`
  const grants: number[] = [];
  for (let i = 0; i < calls && t < ms; i++) {
    if (limiter.tryTake()) grants.push(t);
    if (rnd() < 0.7) t += rnd() * step;
  }
  return grants;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_700_000_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('TokenBucket', () => {
  it('with a controlled clock: burst up to capacity, then exactly refillPerSec', () => {
    let t = 0;
    const b = new TokenBucket({ capacity: 3, refillPerSec: 2, now: () => t });
    expect([b.tryTake(), b.tryTake(), b.tryTake(), b.tryTake()]).toEqual([true, true, true, false]);
    expect(b.waitMs()).toBe(500);
    t = 499;
    expect(b.tryTake()).toBe(false);
    t = 500;
    expect(b.tryTake()).toBe(true);
    t = 100_000; // long idle refills only up to capacity
    expect(b.available).toBe(3);
    expect(b.tryTake(3)).toBe(true);
    expect(b.tryTake()).toBe(false);
    expect(() => b.tryTake(4)).toThrow(RangeError);
  });

  it('never exceeds capacity + rate × window over a burst (controlled clock)', () => {
    const grants = burst((now) => new TokenBucket({ capacity: 5, refillPerSec: 100, now }), 300, 50_000);
    // Over 300 ms: 5 burst + 30 refilled, and a burst this dense takes nearly all of them.
    expect(grants.length).toBeLessThanOrEqual(35);
    expect(grants.length).toBeGreaterThanOrEqual(33);
    // Any 50 ms window: at most the burst plus 5 refilled tokens.
    expect(maxInWindow(grants, 50)).toBeLessThanOrEqual(10);
  });

  it('take() waits FIFO and paces callers at the refill rate (fake timers)', async () => {
    const b = new TokenBucket({ capacity: 2, refillPerSec: 100, now: () => Date.now() });
    const order: number[] = [];
    const times: number[] = [];
    const t0 = Date.now();
    const all = Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        b.take().then(() => {
          order.push(i);
          times.push(Date.now() - t0);
        }),
      ),
    );
    await vi.advanceTimersByTimeAsync(60);
    await all;
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // 2 immediately, then one per 10 ms: the 8th grant at 60 ms exactly.
    expect(times).toEqual([0, 0, 10, 20, 30, 40, 50, 60]);
    // The bucket is empty; a caller waits for 2. Once 1 token is back, tryTake(1) could take it but
    // must not jump the queue.
    let served = false;
    const waiting = b.take(2).then(() => (served = true));
    await vi.advanceTimersByTimeAsync(10);
    expect(b.tryTake()).toBe(false);
    await vi.advanceTimersByTimeAsync(10);
    await waiting;
    expect(served).toBe(true);
  });

  it('an aborted take rejects with the reason and the next waiter is still served (fake timers)', async () => {
    const b = new TokenBucket({ capacity: 1, refillPerSec: 20, now: () => Date.now() });
    expect(b.tryTake()).toBe(true);
    const ac = new AbortController();
    const first = b.take(1, ac.signal);
    const second = b.take();
    let served = false;
    void second.then(() => (served = true));
    ac.abort(new Error('cancelled'));
    await expect(first).rejects.toThrow('cancelled');
    await vi.advanceTimersByTimeAsync(49);
    expect(served).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(served).toBe(true); // at 50 ms, not stuck behind the aborted waiter
  });
});

describe('SlidingWindowLimit', () => {
  it('with a controlled clock: at most `limit` in any window, and waitMs says when the oldest leaves', () => {
    let t = 0;
    const w = new SlidingWindowLimit({ limit: 3, windowMs: 1000, now: () => t });
    expect(w.tryTake()).toBe(true); // t=0
    t = 400;
    expect(w.tryTake()).toBe(true);
    expect(w.tryTake()).toBe(true);
    expect(w.tryTake()).toBe(false);
    expect(w.waitMs()).toBe(600);
    expect(w.waitMs(2)).toBe(1000); // the 2nd oldest (t=400) leaves at 1400
    t = 999;
    expect(w.tryTake()).toBe(false);
    t = 1000;
    expect(w.tryTake()).toBe(true);
    expect(w.available).toBe(0);
    t = 1400;
    expect(w.available).toBe(2);
  });

  it('never exceeds the limit in any window over a burst (unlike a bucket, no 2× at the edges; controlled clock)', () => {
    const grants = burst((now) => new SlidingWindowLimit({ limit: 5, windowMs: 60, now }), 300, 50_000);
    expect(maxInWindow(grants, 60)).toBeLessThanOrEqual(5);
    expect(grants.length).toBeGreaterThanOrEqual(25);
  });

  it('take() queues callers and admits them as the window slides (fake timers)', async () => {
    const w = new SlidingWindowLimit({ limit: 3, windowMs: 50, now: () => Date.now() });
    const times: number[] = [];
    const t0 = Date.now();
    const all = Promise.all(Array.from({ length: 9 }, () => w.take().then(() => times.push(Date.now() - t0))));
    await vi.advanceTimersByTimeAsync(200);
    await all;
    expect(times).toEqual([0, 0, 0, 50, 50, 50, 100, 100, 100]);
    expect(maxInWindow(times, 50)).toBeLessThanOrEqual(3);
  });
});
