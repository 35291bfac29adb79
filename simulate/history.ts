import { firstIds, fixed, SyntheticMarket, type SymbolSpec } from './market.js';
import type { SyntheticOptions } from './types.js';

/** A past trade of a synthetic venue, in the decimal strings a feed would publish. */
export interface PastTrade {
  id: string;
  price: string;
  qty: string;
  side: 'buy' | 'sell';
  ts: number;
}

export interface PastRange {
  fromMs: number;
  toMs: number;
  /** Trades per second across the venue's symbols: a day needs far fewer than live to draw candles. */
  tradesPerSec: number;
}

/** Simulated time per generator step: under the market's 2 s catch-up limit. */
const STEP_MS = 1000;

/**
 * What a synthetic venue traded over a past range: the same market model as its live simulator
 * (symbols, seed, start prices, fair price: a pure function of time, so the day ends where live
 * begins), at `tradesPerSec`. Ids count up to just below the live market's first ids (same
 * `idOffset`), so history and live never share an id. Per symbol, oldest first.
 */
export function pastTrades(live: SyntheticOptions, range: PastRange): { spec: SymbolSpec; trades: PastTrade[] }[] {
  const bySymbol = new Map<string, { spec: SymbolSpec; trades: PastTrade[] }>();
  const market = new SyntheticMarket(
    { ...live, tradesPerSec: range.tradesPerSec, quotesPerSec: Math.max(1, range.tradesPerSec), idOffset: 0, trueBook: false },
    0,
    (ev) => {
      if (ev.kind !== 'trade' || ev.ts >= range.toMs) return;
      let out = bySymbol.get(ev.spec.symbol);
      if (!out) bySymbol.set(ev.spec.symbol, (out = { spec: ev.spec, trades: [] }));
      for (const f of ev.fills) {
        out.trades.push({ id: '', price: fixed(f.price, ev.spec.priceDp), qty: fixed(f.qty, ev.spec.qtyDp), side: f.side, ts: f.ts });
      }
    },
  );
  for (let t = range.fromMs; t < range.toMs; t += STEP_MS) market.tick(Math.min(t, range.toMs - 1));
  market.tick(range.toMs - 1);
  for (const { spec, trades } of bySymbol.values()) {
    const below = Math.min(firstIds(spec.symbol, live.idOffset ?? 0).agg, firstIds(spec.symbol, live.idOffset ?? 0).trade);
    trades.forEach((t, i) => (t.id = String(below - trades.length + i)));
  }
  return market.specs.map((spec) => bySymbol.get(spec.symbol) ?? { spec, trades: [] });
}
