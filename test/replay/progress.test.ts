import { describe, expect, it } from 'vitest';
import { progressLine, ReplayProgress, tickProgress, type ProgressView, type Scheduler } from '../../actors/replay/progress.js';

/** A controlled clock and scheduler: time moves only when the test says so. */
function controlled() {
  let now = 1_000;
  const timers: { every: number; next: number; fn: () => void; live: boolean }[] = [];
  const scheduler: Scheduler = {
    every(ms, fn) {
      const t = { every: ms, next: now + ms, fn, live: true };
      timers.push(t);
      return { cancel: () => (t.live = false) };
    },
  };
  return {
    now: () => now,
    scheduler,
    /** Moves the clock by `ms`, firing every due timer in time order. */
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const due = timers.filter((t) => t.live && t.next <= end).sort((a, b) => a.next - b.next)[0];
        if (!due) break;
        now = due.next;
        due.next += due.every;
        due.fn();
      }
      now = end;
    },
  };
}

describe('replay progress (controlled clock)', () => {
  it('draws at least every 250 ms, whether or not trades move, by bytes read and trades acknowledged', () => {
    const clock = controlled();
    const p = new ReplayProgress(1_000_000, clock.now);
    const drawn: { at: number; v: ProgressView }[] = [];
    const ticker = tickProgress(p, (v) => drawn.push({ at: clock.now(), v }), clock.scheduler);
    expect(drawn).toHaveLength(1); // drawn at once

    // 2 s in which the reader reads and the server acknowledges.
    for (let i = 0; i < 20; i++) {
      p.bytesRead += 25_000;
      p.read += 100;
      p.published += 100;
      p.stored += 90;
      p.duplicates += 10;
      clock.advance(100);
    }
    // Then 3 s of nothing (a server gone away): the bar still redraws, with the same numbers.
    p.published += 50;
    clock.advance(3000);
    ticker.stop();

    const gaps = drawn.slice(1).map((d, i) => d.at - drawn[i]!.at);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(250);
    expect(drawn.length).toBeGreaterThanOrEqual(1 + 5000 / 250);
    const at2s = drawn.find((d) => d.at === 3_000)!.v;
    expect(at2s.fraction).toBe(0.5);
    expect(at2s.stored + at2s.duplicates).toBe(2000);
    expect(at2s.rate).toBe(1000); // acknowledged per second since the start
    const last = drawn.at(-1)!.v;
    expect(last.inFlight).toBe(50);
    expect(last.rate).toBe(400); // 2,000 acknowledged in 5 s: a stall shows as a falling rate
    expect(progressLine(last)).toBe('50.0% of 1.0 MB read, 1,800 stored, 200 duplicates, 50 in flight, 400/s');
  });

  it('counts lost, refused and already-applied trades apart from the ones in flight', () => {
    const clock = controlled();
    const p = new ReplayProgress(0, clock.now);
    p.read = 10;
    p.published = 6;
    p.stored = 3;
    p.lost = 2;
    p.tooOld = 3;
    p.applied = 1;
    const v = p.view();
    expect(v.fraction).toBe(1);
    expect(v.inFlight).toBe(1);
    expect(progressLine(v)).toBe('100.0% of 0.0 MB read, 3 stored, 0 duplicates, 1 already applied, 3 too old, 2 lost, 1 in flight, 0/s');
  });
});
