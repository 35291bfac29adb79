import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TradeGuard, type TradeGuardSnapshot, type TradeIdVerdict } from '../../../actors/symbol/trade-guard.js';
import { TickworkError } from '../../../runtime/errors.js';

const admitAll = (g: TradeGuard, ids: readonly string[]): TradeIdVerdict[] => ids.map((id) => g.admit(id));
const range = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
const roundTrip = (g: TradeGuard, limits?: ConstructorParameters<typeof TradeGuard>[0]): TradeGuard =>
  TradeGuard.fromSnapshot(JSON.parse(JSON.stringify(g.toSnapshot())) as TradeGuardSnapshot, limits);

describe('TradeGuard', () => {
  it('accepts ids that arrive after a higher one (30–34 after 35) and refuses each repeat', () => {
    const g = new TradeGuard();
    expect(admitAll(g, ['35', '30', '31', '33', '32', '34'])).toEqual(Array(6).fill('new'));
    expect(admitAll(g, ['30', '35', '34'])).toEqual(['duplicate', 'duplicate', 'duplicate']);
    expect(g.admit('36')).toBe('new');
    expect(g.admit('29')).toBe('new');
    expect(g.toSnapshot()).toEqual({ v: 2, floor: null, ranges: ['29-36'], recent: [] });
  });

  it('keeps a feed without holes in one interval, and ids beyond 2^64 exact', () => {
    const g = new TradeGuard();
    admitAll(g, range(1_000_000, 1_050_000));
    expect(g.toSnapshot().ranges).toEqual(['1000000-1050000']);
    const big = 18446744073709551615n; // 2^64 − 1
    expect(admitAll(g, [String(big + 1n), String(big), String(big + 2n), String(big + 1n)])).toEqual(['new', 'new', 'new', 'duplicate']);
    expect(g.toSnapshot().ranges).toEqual(['1000000-1050000', `${big}-${big + 2n}`]);
    expect(g.highest).toBe(big + 2n);
  });

  it('is not frozen by one hostile huge id: the real ids below it stay exact', () => {
    const g = new TradeGuard({ horizon: 1_000 });
    admitAll(g, range(100, 200));
    expect(g.admit('999999999999999999999999999999')).toBe('new'); // 30 digits
    expect(admitAll(g, ['202', '204', '201', '203', '150', '204'])).toEqual(['new', 'new', 'new', 'new', 'duplicate', 'duplicate']);
    expect(g.toSnapshot().ranges).toEqual(['100-204', '999999999999999999999999999999']);
  });

  it('treats non-canonical numerals and UUIDs as exact strings in a bounded set', () => {
    const g = new TradeGuard({ maxTextIds: 3 });
    expect(admitAll(g, ['7', '007', '007', '0'])).toEqual(['new', 'new', 'duplicate', 'new']);
    const uuids = ['1b4e28ba-2fa1-11d2-883f-0016d3cca427', '6fa459ea-ee8a-3ca4-894e-db77e160355e', '886313e1-3b8a-5372-9b90-0c9aee199e5d'];
    expect(admitAll(g, [...uuids, uuids[2]!])).toEqual(['new', 'new', 'new', 'duplicate']);
    expect(g.toSnapshot().recent).toEqual(uuids); // '007' was the oldest and left
    expect(g.admit('007')).toBe('new');
  });

  it('forgets the oldest holes beyond maxIntervals: ids below the floor are expired and counted', () => {
    const g = new TradeGuard({ maxIntervals: 3 });
    admitAll(g, ['10', '20', '30', '40']); // four intervals: [10] and the holes around it go
    expect(g.toSnapshot()).toEqual({ v: 2, floor: '20', ranges: ['20', '30', '40'], recent: [] });
    expect(admitAll(g, ['10', '19', '21', '25'])).toEqual(['expired', 'expired', 'new', 'new']);
    // 25 opened a fourth interval: the oldest, [20, 21], goes with the hole above it
    expect(g.toSnapshot()).toEqual({ v: 2, floor: '25', ranges: ['25', '30', '40'], recent: [] });
    expect(admitAll(g, ['21', '26', '30'])).toEqual(['expired', 'new', 'duplicate']);
    expect(g.stats).toEqual({ expired: 3, dropped: 2 });
  });

  it('forgets holes lying entirely more than the horizon below an admitted id, never the one under the top', () => {
    const g = new TradeGuard({ horizon: 1_000 });
    admitAll(g, [...range(1, 10), '500', '2000']); // the hole 11–499 lies below 2000 − 1000
    expect(g.toSnapshot()).toEqual({ v: 2, floor: '500', ranges: ['500', '2000'], recent: [] });
    expect(admitAll(g, ['3', '499', '600', '1999', '501'])).toEqual(['expired', 'expired', 'new', 'new', 'new']);
    expect(g.stats.expired).toBe(2);
  });

  it('restores the old {max, recent} format as the interval [0, max]', () => {
    const g = TradeGuard.fromSnapshot({ max: '35', recent: ['a-uuid'] });
    expect(admitAll(g, ['0', '30', '35', '36', '37', 'a-uuid', 'b-uuid'])).toEqual(['duplicate', 'duplicate', 'duplicate', 'new', 'new', 'duplicate', 'new']);
    expect(g.toSnapshot()).toEqual({ v: 2, floor: null, ranges: ['0-37'], recent: ['a-uuid', 'b-uuid'] });
    expect(TradeGuard.fromSnapshot({ max: null, recent: [] }).admit('1')).toBe('new');
    expect(TradeGuard.fromSnapshot(undefined).toSnapshot()).toEqual({ v: 2, floor: null, ranges: [], recent: [] });
  });

  it('restores a snapshot into smaller limits by dropping the oldest intervals', () => {
    const g = new TradeGuard();
    admitAll(g, ['1', '3', '5', '7']);
    const small = roundTrip(g, { maxIntervals: 2 });
    expect(small.toSnapshot()).toEqual({ v: 2, floor: '5', ranges: ['5', '7'], recent: [] });
  });

  it('refuses a malformed snapshot with SNAPSHOT_INVALID naming the part', () => {
    const bad = (s: unknown) => () => TradeGuard.fromSnapshot(s as TradeGuardSnapshot);
    expect(bad({ v: 3, floor: null, ranges: [], recent: [] })).toThrow(/unknown version 3/);
    expect(bad({ v: 2, floor: null, ranges: ['5-3'], recent: [] })).toThrow(/ranges not ascending.*"5-3"/);
    expect(bad({ v: 2, floor: null, ranges: ['1-3', '4'], recent: [] })).toThrow(/ranges not ascending/); // adjacent
    expect(bad({ v: 2, floor: '10', ranges: ['5'], recent: [] })).toThrow(/above the floor/);
    expect(bad({ v: 2, floor: 'x', ranges: [], recent: [] })).toThrow(/bad floor/);
    expect(bad({ v: 2, floor: null, ranges: ['01'], recent: [] })).toThrow(/bad range/);
    expect(bad({ max: '1e9', recent: [] })).toThrow(/bad legacy max/);
    expect(bad({ max: null, recent: [1] })).toThrow(/recent/);
    try {
      bad({ v: 2, floor: null, ranges: 'x', recent: [] })();
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TickworkError);
      expect((err as TickworkError).code).toBe('SNAPSHOT_INVALID');
    }
    expect(() => new TradeGuard({ maxIntervals: 0 })).toThrow(/maxIntervals/);
  });
});

describe('TradeGuard (property)', () => {
  // Ids: numerals near a base (small, around 2^53, beyond 2^64), so that holes, merges and
  // big-number arithmetic all happen; a few UUID-like and non-canonical ids mixed in.
  const base = fc.constantFrom(0n, 2n ** 53n - 100n, 10n ** 19n * 7n);
  const idsArb = base.chain((b) =>
    fc.array(
      fc.oneof(
        { weight: 8, arbitrary: fc.integer({ min: 0, max: 300 }).map((d) => String(b + BigInt(d))) },
        { weight: 1, arbitrary: fc.constantFrom('u-1', 'u-2', 'u-3', '0042', 'ab12') },
      ),
      { minLength: 1, maxLength: 400 },
    ),
  );

  it('any arrival order of an id multiset accepts exactly the distinct ids, across a snapshot at a random cut', () => {
    fc.assert(
      fc.property(
        idsArb.chain((ids) => fc.tuple(fc.shuffledSubarray(ids, { minLength: ids.length, maxLength: ids.length }), fc.integer({ min: 0, max: ids.length }))),
        ([ids, cut]) => {
          const seen = new Set<string>();
          let g = new TradeGuard();
          ids.forEach((id, i) => {
            if (i === cut) g = roundTrip(g);
            const want = seen.has(id) ? 'duplicate' : 'new';
            seen.add(id);
            expect(g.admit(id), `id ${id} at ${i}`).toBe(want);
          });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('under tight bounds never accepts an id twice (old ones are expired, not re-applied)', () => {
    fc.assert(
      fc.property(
        idsArb,
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 400 }),
        (ids, maxIntervals, horizon, cut) => {
          const limits = { maxIntervals, horizon };
          let g = new TradeGuard(limits);
          const accepted = new Set<string>();
          ids.forEach((id, i) => {
            if (i === cut) g = roundTrip(g, limits);
            if (g.admit(id) === 'new') {
              expect(accepted.has(id), `id ${id} accepted twice`).toBe(false);
              accepted.add(id);
            }
          });
          expect(g.toSnapshot().ranges.length).toBeLessThanOrEqual(maxIntervals);
        },
      ),
      { numRuns: 500 },
    );
  });
});
