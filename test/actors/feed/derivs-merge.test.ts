import { describe, expect, it } from 'vitest';
import { DerivsMerger } from '../../../actors/feed/derivs-merge.js';
import type { DerivTicker } from '../../../schemas/deriv.js';
import type { DerivPatch, DerivValues } from '../../../venues/kit/derivs.js';

const H = 3_600_000;
const T = Date.UTC(2030, 0, 1, 0);
const patch = (values: DerivValues, ts: number, symbol = 'BTC-USDT-PERP'): DerivPatch => ({ venue: 'binance-futures', symbol, venueSymbol: 'BTCUSDT', values, ts, recvTs: ts + 5 });
const take = (m: DerivsMerger, now: number): DerivTicker[] => {
  const out: DerivTicker[] = [];
  m.due(now, out);
  return out;
};

describe('DerivsMerger: merged per venue+symbol, emitted on change at most once per interval', () => {
  it('emits the first change at once, coalesces changes within a second, and nothing when nothing changed', () => {
    const m = new DerivsMerger({ venue: 'binance-futures', minIntervalMs: 1000, defaultFundingIntervalMs: 8 * H });
    m.apply(patch({ markPrice: '100', fundingRate: '0.0001', nextFundingTime: T + 8 * H }, T));
    expect(take(m, T).map((t) => [t.markPrice, t.ts])).toEqual([['100', T]]);
    m.apply(patch({ markPrice: '101' }, T + 100));
    m.apply(patch({ markPrice: '102' }, T + 200));
    expect(take(m, T + 999)).toEqual([]);
    expect(take(m, T + 1000).map((t) => [t.markPrice, t.ts, t.recvTs])).toEqual([['102', T + 200, T + 205]]);
    m.apply(patch({ markPrice: '102' }, T + 3000)); // same value: not a change
    expect(take(m, T + 5000)).toEqual([]);
  });

  it('ts strictly increases per symbol even when the newest part is not newer (unique Nats-Msg-Id)', () => {
    const m = new DerivsMerger({ venue: 'binance-futures', minIntervalMs: 1000 });
    m.apply(patch({ markPrice: '100' }, T));
    take(m, T);
    m.apply(patch({ openInterest: '5' }, T - 50)); // a REST poll answered with an older time
    expect(take(m, T + 1000).map((t) => t.ts)).toEqual([T + 1]);
  });

  it('a settlement: nextFundingTime moving forward carries the last rate announced for the one it passed; the interval is observed', () => {
    const m = new DerivsMerger({ venue: 'binance-futures', minIntervalMs: 1000, defaultFundingIntervalMs: 8 * H });
    m.apply(patch({ fundingRate: '0.0001', nextFundingTime: T + 4 * H }, T));
    m.apply(patch({ fundingRate: '0.00012' }, T + 10)); // revised before the settlement
    expect(take(m, T + 10)[0]!.settled).toBeUndefined();
    m.apply(patch({ fundingRate: '0.00009', nextFundingTime: T + 8 * H }, T + 4 * H + 5));
    const [t] = take(m, T + 4 * H + 5);
    expect(t!.settled).toEqual({ fundingRate: '0.00012', fundingTime: T + 4 * H, fundingIntervalMs: 4 * H });
    expect([t!.fundingRate, t!.nextFundingTime, t!.fundingIntervalMs]).toEqual(['0.00009', T + 8 * H, 4 * H]);
    // reported once
    m.apply(patch({ markPrice: '1' }, T + 4 * H + 2000));
    expect(take(m, T + 4 * H + 2000)[0]!.settled).toBeUndefined();
  });

  it('no settlement from a first sighting, from a time going back, or from no funding; a venue-stated interval is kept', () => {
    const m = new DerivsMerger({ venue: 'okx', minIntervalMs: 0 });
    m.apply(patch({ fundingRate: '0.0001', nextFundingTime: T + 8 * H, fundingIntervalMs: 8 * H }, T));
    m.apply(patch({ nextFundingTime: T + 4 * H }, T + 1)); // backwards (a stale replica)
    m.apply(patch({ fundingRate: null, nextFundingTime: null }, T + 2)); // Binance r="" T=0
    expect(take(m, T + 2).map((t) => t.settled)).toEqual([undefined]);
    m.apply(patch({ fundingRate: '0.0002', nextFundingTime: T + 8 * H }, T + 3));
    m.apply(patch({ nextFundingTime: T + 9 * H }, T + 4));
    const [t] = take(m, T + 4);
    expect([t!.settled, t!.fundingIntervalMs]).toEqual([{ fundingRate: '0.0002', fundingTime: T + 8 * H, fundingIntervalMs: 8 * H }, 8 * H]);
  });
  it('resume: a settlement passed while no feed ran is detected from the last published ticker; ts continue above it', () => {
    const m1 = new DerivsMerger({ venue: 'binance-futures', minIntervalMs: 0, defaultFundingIntervalMs: 8 * H });
    m1.apply(patch({ markPrice: '100', fundingRate: '0.00011', nextFundingTime: T + 8 * H }, T + 8 * H - 2000));
    const [last] = take(m1, T + 8 * H - 2000);
    // the restarted run sees the next funding time first
    const m2 = new DerivsMerger({ venue: 'binance-futures', minIntervalMs: 0, defaultFundingIntervalMs: 8 * H });
    m2.resume({ ...last!, settled: { fundingRate: '0.5', fundingTime: T, fundingIntervalMs: 8 * H } }, true);
    expect(take(m2, T + 8 * H)).toEqual([]); // nothing new yet
    m2.apply(patch({ fundingRate: '0.00003', nextFundingTime: T + 16 * H }, T + 8 * H + 5000));
    const [t] = take(m2, T + 8 * H + 5000);
    expect(t!.settled).toEqual({ fundingRate: '0.00011', fundingTime: T + 8 * H, fundingIntervalMs: 8 * H });
    expect([t!.markPrice, t!.fundingRate]).toEqual(['100', '0.00003']);

    // without its values (too old to trust) only the ts continue: no settlement from a first sighting
    const m3 = new DerivsMerger({ venue: 'binance-futures', minIntervalMs: 0 });
    m3.resume(last!, false);
    m3.apply(patch({ fundingRate: '0.00003', nextFundingTime: T + 16 * H }, last!.ts - 10)); // a venue time not newer
    const [u] = take(m3, T + 9 * H);
    expect([u!.settled, u!.markPrice, u!.ts]).toEqual([undefined, null, last!.ts + 1]);
    // another venue's ticker or a second resume is ignored
    m3.resume({ ...last!, venue: 'okx', symbol: 'ETH-USDT-PERP' }, true);
    expect(m3.current('ETH-USDT-PERP')).toBeUndefined();
  });
});
