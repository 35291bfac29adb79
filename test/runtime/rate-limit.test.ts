import { describe, expect, it } from 'vitest';
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
 * Calls tryTake as fast as the event loop allows for `ms` of real time, recording grant times.
 * The limiter reads the same clock value the grant is recorded with, so windows are exact.
 */
async function hammer(make: (now: () => number) => { tryTake(): boolean }, ms: number): Promise<number[]> {
  let clock = performance.now();
  const limiter = make(() => clock);
  const grants: number[] = [];
  const end = clock + ms;
  while (clock < end) {
    for (let i = 0; i < 50; i++) {
      clock = performance.now();
      if (limiter.tryTake()) grants.push(clock);
    }
    await new Promise((r) => setImmediate(r));
  }
  return grants;
}

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

  it('never exceeds capacity + rate × window over a real-time burst', async () => {
    const grants = await hammer((now) => new TokenBucket({ capacity: 5, refillPerSec: 100, now }), 300);
    // Over 300 ms: 5 burst + 30 refilled.
    expect(grants.length).toBeLessThanOrEqual(35);
    expect(grants.length).toBeGreaterThanOrEqual(20);
    // Any 50 ms window: at most the burst plus 5 refilled tokens.
    expect(maxInWindow(grants, 50)).toBeLessThanOrEqual(10);
  });

  it('take() waits FIFO and paces callers at the refill rate', async () => {
    const b = new TokenBucket({ capacity: 2, refillPerSec: 100 });
    const order: number[] = [];
    const times: number[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        b.take().then(() => {
          order.push(i);
          times.push(performance.now() - t0);
        }),
      ),
    );
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // 2 immediately, then one per 10 ms: the 8th grant cannot come before 60 ms.
    expect(times[7]).toBeGreaterThanOrEqual(59);
    expect(maxInWindow(times, 30)).toBeLessThanOrEqual(2 + 3 + 1);
    // While callers wait, tryTake must not jump the queue.
    const waiting = b.take();
    expect(b.tryTake()).toBe(false);
    await waiting;
  });

  it('an aborted take rejects with the reason and the next waiter is still served', async () => {
    const b = new TokenBucket({ capacity: 1, refillPerSec: 20 });
    expect(b.tryTake()).toBe(true);
    const ac = new AbortController();
    const first = b.take(1, ac.signal);
    const second = b.take();
    ac.abort(new Error('cancelled'));
    await expect(first).rejects.toThrow('cancelled');
    await second; // served ~50 ms later, not stuck behind the aborted waiter
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

  it('never exceeds the limit in any window over a real-time burst (unlike a bucket, no 2× at the edges)', async () => {
    const grants = await hammer((now) => new SlidingWindowLimit({ limit: 5, windowMs: 60, now }), 300);
    expect(maxInWindow(grants, 60)).toBeLessThanOrEqual(5);
    expect(grants.length).toBeGreaterThanOrEqual(15);
  });

  it('take() queues callers and admits them as the window slides', async () => {
    const w = new SlidingWindowLimit({ limit: 3, windowMs: 50 });
    const times: number[] = [];
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 9 }, () => w.take().then(() => times.push(performance.now() - t0))));
    // 1 ms slack: the limiter and this test read the clock at slightly different moments.
    expect(maxInWindow(times, 49)).toBeLessThanOrEqual(3);
    expect(times[8]).toBeGreaterThanOrEqual(99);
  });
});
