// A synthetic venue's past: the same market model at a low rate, ending where the live market begins.
import { describe, expect, it } from 'vitest';
import { pastTrades } from '../../simulate/history.js';
import { firstIds, fixed, SyntheticMarket, type TradeEvent } from '../../simulate/market.js';
import type { SyntheticOptions } from '../../simulate/types.js';

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const LIVE: SyntheticOptions = { symbols: ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'], tradesPerSec: 20, seed: 1, idOffset: Math.floor(T0 / 10) };

describe('pastTrades (simulate/history.ts)', () => {
  const range = { fromMs: T0 - 2 * HOUR, toMs: T0, tradesPerSec: 0.5 };

  it('is the range at the asked rate, oldest first, with contiguous ids just below the live ones', () => {
    const past = pastTrades(LIVE, range);
    expect(past.map((p) => p.spec.symbol)).toEqual(LIVE.symbols);
    const total = past.reduce((n, p) => n + p.trades.length, 0);
    expect(total).toBeGreaterThan(0.5 * 7200 * 0.7);
    expect(total).toBeLessThan(0.5 * 7200 * 1.3);
    for (const { spec, trades } of past) {
      expect(trades.length, spec.symbol).toBeGreaterThan(300);
      const live = firstIds(spec.symbol, LIVE.idOffset);
      expect(BigInt(trades[trades.length - 1]!.id)).toBe(BigInt(Math.min(live.agg, live.trade) - 1));
      const price = new RegExp(`^\\d+\\.\\d{${spec.priceDp}}$`);
      const bad = trades.filter((t, i) => {
        const prev = trades[i - 1];
        const inRange = t.ts >= range.fromMs && t.ts < range.toMs;
        const ordered = !prev || (Number(t.id) === Number(prev.id) + 1 && t.ts >= prev.ts);
        return !(inRange && ordered && price.test(t.price) && /^\d+(\.\d+)?$/.test(t.qty));
      });
      expect(bad, spec.symbol).toEqual([]);
    }
    // the same options give the same past
    expect(JSON.stringify(pastTrades(LIVE, range))).toBe(JSON.stringify(past));
  });

  it('ends where the live market starts: the first live trades are within a few bps of the last past ones', () => {
    const past = pastTrades(LIVE, range);
    const firstLive = new Map<string, string>();
    const market = new SyntheticMarket(LIVE, 1000, (ev) => {
      if (ev.kind === 'trade' && !firstLive.has(ev.spec.symbol)) firstLive.set(ev.spec.symbol, fixed((ev as TradeEvent).fills[0]!.price, ev.spec.priceDp));
    });
    for (let t = T0; t <= T0 + 5000; t += 50) market.tick(t);
    for (const { spec, trades } of past) {
      const last = Number(trades[trades.length - 1]!.price);
      const live = Number(firstLive.get(spec.symbol));
      expect(Math.abs(live / last - 1) * 1e4, spec.symbol).toBeLessThan(15);
    }
    // ... while two hours earlier the price was elsewhere (the fair price moves)
    const btc = past[0]!.trades;
    expect(btc[0]!.price).not.toBe(btc[btc.length - 1]!.price);
  });
});
