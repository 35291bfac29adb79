import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GapTracker } from '../../../actors/feed/gap-tracker.js';

describe('GapTracker', () => {
  it('first, next, repeat and gap verdicts', () => {
    const g = new GapTracker();
    expect(g.observe('BTC-USDT', 10, 10)).toEqual({ kind: 'first' });
    expect(g.observe('BTC-USDT', 11, 11)).toEqual({ kind: 'next' });
    expect(g.observe('BTC-USDT', 11, 11)).toEqual({ kind: 'repeat' });
    expect(g.observe('BTC-USDT', 5, 5)).toEqual({ kind: 'repeat' });
    expect(g.observe('BTC-USDT', 15, 15)).toEqual({ kind: 'gap', from: 12, to: 14 });
    expect(g.lastId('BTC-USDT')).toBe(15);
    // Symbols are independent.
    expect(g.observe('ETH-USDT', 3, 3)).toEqual({ kind: 'first' });
    expect(g.lastId('BTC-USDT')).toBe(15);
  });

  it('ranges (aggregated trades): overlap with the last id is a continuation, not a gap', () => {
    const g = new GapTracker();
    g.observe('S', 100, 104);
    expect(g.observe('S', 105, 110)).toEqual({ kind: 'next' });
    expect(g.observe('S', 108, 112)).toEqual({ kind: 'next' }); // partly seen: newer ids advance
    expect(g.lastId('S')).toBe(112);
    expect(g.observe('S', 100, 112)).toEqual({ kind: 'repeat' });
    expect(g.observe('S', 120, 125)).toEqual({ kind: 'gap', from: 113, to: 119 });
  });

  it('seed sets the position only when unknown; forget and rewind move it back', () => {
    const g = new GapTracker();
    g.seed('S', 50);
    expect(g.observe('S', 52, 52)).toEqual({ kind: 'gap', from: 51, to: 51 });
    g.seed('S', 10); // known already: ignored
    expect(g.lastId('S')).toBe(52);
    g.rewind('S', 60); // not backwards: ignored
    expect(g.lastId('S')).toBe(52);
    g.rewind('S', 40);
    expect(g.observe('S', 53, 53)).toEqual({ kind: 'gap', from: 41, to: 52 });
    g.forget('S');
    expect(g.lastId('S')).toBeUndefined();
    expect(g.observe('S', 1, 1)).toEqual({ kind: 'first' });
    g.advance('S', 7);
    expect(g.observe('S', 8, 8)).toEqual({ kind: 'next' });
    expect(g.size).toBe(1);
  });

  it('property: over any arrival order, reported gaps plus accepted ids cover every id exactly once', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 300 }), (ids) => {
        const g = new GapTracker();
        const covered = new Map<number, number>();
        const cover = (a: number, b: number) => {
          for (let i = a; i <= b; i++) covered.set(i, (covered.get(i) ?? 0) + 1);
        };
        for (const id of ids) {
          const v = g.observe('S', id, id);
          if (v.kind === 'gap') cover(v.from, v.to);
          if (v.kind !== 'repeat') cover(id, id);
        }
        const first = ids[0]!;
        const max = Math.max(...ids);
        // From the first id to the highest, each id is either published live or reported missing once.
        for (let i = first; i <= max; i++) expect(covered.get(i), `id ${i}`).toBe(1);
        for (const k of covered.keys()) expect(k).toBeGreaterThanOrEqual(first);
      }),
      { numRuns: 300 },
    );
  });
});
