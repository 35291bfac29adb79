import { describe, expect, it } from 'vitest';
import { RollingVwap } from '../../../actors/windows/rolling-vwap.js';
import { TradeValues } from '../../../actors/windows/trade-values.js';

/** Trades as [ts ms, price, qty]; the VWAP of each window by bigint sums over the trades inside it. */
function reference(trades: readonly [number, string, string][], labels: Record<string, number>, nowSec: number): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [label, span] of Object.entries(labels)) {
    let qty = 0n;
    let quote = 0n;
    for (const [ts, price, q] of trades) {
      const x = Math.floor(ts / 1000);
      if (x <= nowSec - span || x > nowSec) continue;
      // prices and quantities below have 2 decimals: units of 10^-2 and 10^-4
      qty += BigInt(q.replace('.', ''));
      quote += BigInt(price.replace('.', '')) * BigInt(q.replace('.', ''));
    }
    if (qty === 0n) {
      out[label] = null;
      continue;
    }
    // quote/qty in units of 10^-2, rounded half up to 2 digits (all values positive)
    const r = (quote * 2n + qty) / (2n * qty);
    out[label] = `${r / 100n}.${(r % 100n).toString().padStart(2, '0')}`;
  }
  return out;
}

function feed(v: RollingVwap, trades: readonly [number, string, string][]): void {
  const t = new TradeValues();
  for (const [ts, price, qty] of trades) {
    t.ts = ts;
    t.load(price, qty);
    v.add(t);
  }
}

describe('RollingVwap ring', () => {
  it('holds slots for the seconds in use, not for the longest window', () => {
    const v = new RollingVwap(['1m', '5m', '15m']);
    expect(v.slots).toBe(0);
    const t0 = 1_700_000_000_000;
    feed(
      v,
      Array.from({ length: 30 }, (_, i) => [t0 + i * 1000, '100.00', '1.00'] as [number, string, string]),
    );
    expect(v.slots).toBe(32);
    // a trade every second for 20 minutes: every second of the 15m window is live
    feed(
      v,
      Array.from({ length: 1200 }, (_, i) => [t0 + 30_000 + i * 1000, '100.00', '1.00'] as [number, string, string]),
    );
    expect(v.slots).toBe(900);
  });

  it('grows on a collision of live seconds and keeps every bucket: the VWAPs equal bigint sums', () => {
    const labels = { '10s': 10, '1m': 60, '5m': 300 };
    const v = new RollingVwap(Object.keys(labels));
    const t0 = 1_700_000_000_000;
    // seconds 0, 8, 16, … share slot 0 of an 8-slot ring; a late trade lands in an earlier second
    const trades: [number, string, string][] = [];
    for (let i = 0; i < 40; i++) trades.push([t0 + i * 8_000 + (i % 3) * 250, `${100 + i}.${String(i % 100).padStart(2, '0')}`, `${1 + (i % 7)}.${String((i * 13) % 100).padStart(2, '0')}`]);
    trades.push([t0 + 37 * 8_000 + 500, '99.99', '2.50']);
    const applied: [number, string, string][] = [];
    for (const trade of trades) {
      feed(v, [trade]);
      applied.push(trade);
      const now = Math.max(...applied.map(([ts]) => Math.floor(ts / 1000)));
      expect(v.values(2)).toEqual(reference(applied, labels, now));
    }
    expect(v.slots).toBeGreaterThan(8);
    expect(v.slots).toBeLessThanOrEqual(300);

    // a snapshot restores into a ring of its own size with the same values
    const back = new RollingVwap(Object.keys(labels));
    back.restore(v.toSnapshot());
    expect(back.values(2)).toEqual(v.values(2));
    const next: [number, string, string] = [t0 + 41 * 8_000, '101.00', '1.00'];
    feed(v, [next]);
    feed(back, [next]);
    expect(back.values(2)).toEqual(v.values(2));
  });
});
