import { describe, expect, it } from 'vitest';
import { AppliedFilter, type AppliedView } from '../../actors/replay/applied.js';
import { TradeGuard } from '../../actors/symbol/trade-guard.js';
import type { Trade } from '../../schemas/trade.js';

const trade = (id: number, ts: number, symbol = 'BTC-USDT'): Trade => ({ venue: 'binance', symbol, venueSymbol: symbol.replace('-', ''), id: String(id), price: '1', qty: '1', side: 'buy', ts, recvTs: ts });

/** A symbol that applied ids 100..199, the last at t = 10,000. */
function applied(): AppliedView {
  const g = new TradeGuard();
  for (let id = 100; id < 200; id++) g.admit(String(id));
  return { lastTrade: { id: '199', ts: 10_000 }, guard: g.toSnapshot() };
}

describe('AppliedFilter: what a replay does with each trade, given the symbol actors\' snapshots', () => {
  it('passes over applied ids, refuses unseen trades older than the last applied minus the grace, publishes the rest', async () => {
    const loads: string[] = [];
    const filter = new AppliedFilter(async (venue, symbol) => {
      loads.push(`${venue}:${symbol}`);
      return symbol === 'BTC-USDT' ? applied() : null;
    }, 2_000);
    expect(await filter.classify(trade(150, 5_000))).toBe('applied'); // a re-run: already in the snapshot
    expect(filter.classify(trade(50, 5_000))).toBe('too-old'); // history older than the live state
    expect(filter.classify(trade(60, 8_500))).toBe('new'); // within the grace: still lands in open bars
    expect(filter.classify(trade(200, 10_001))).toBe('new');
    expect(filter.classify(trade(200, 10_001))).toBe('applied'); // the same line twice in a file
    expect(await filter.classify(trade(1, 0, 'ETH-USDT'))).toBe('new'); // nothing applied yet
    expect(filter.classify(trade(2, 0, 'ETH-USDT'))).toBe('new');
    expect(loads).toEqual(['binance:BTC-USDT', 'binance:ETH-USDT']); // read once per symbol
    expect(filter.horizons()).toEqual([{ symbol: 'binance:BTC-USDT', before: 8_000 }]);
  });
});
