import type { DepthChange, DepthLevels } from '../../simulate/depth.js';
import { fixed, trimmed, type MarketEvent, type SymbolSpec } from '../../simulate/market.js';
import type { OutFrame, VenueContext } from '../kit/simulator.js';
import { BOOK_DEPTH } from './adapter.js';

/**
 * Bybit `orderbook.50.<S>` on the simulator, spot and linear alike, from the market's true book: a
 * `snapshot` on subscribe, then one `delta` per market event whose `u` is the previous one + 1 (per
 * symbol, shared by every client, so a snapshot's `u` continues into the next delta). Linear sizes
 * are base units, as Bybit's are.
 */

export interface BybitBookSim {
  /** The snapshot a new subscription to `topic` (of `spec`) gets, or null for another topic. */
  snapshot(topic: string, spec: SymbolSpec): OutFrame | null;
  events(ev: MarketEvent): OutFrame[];
}

/** `keyOf`: the key a frame of a symbol's topic is delivered under (linear topics apart from spot's). */
export function bybitBookSim(ctx: VenueContext, venueSymbol: (s: SymbolSpec) => string, keyOf: (spec: SymbolSpec, topic: string) => string): BybitBookSim {
  const updateIds = new Map<string, number>();
  let seq = 1_000_000;
  const level = (s: SymbolSpec, p: number, q: number) => `["${fixed(p, s.priceDp)}","${q === 0 ? '0' : trimmed(q, s.qtyDp)}"]`;
  const side = (s: SymbolSpec, l: DepthLevels) => l.map(([p, q]) => level(s, p, q)).join(',');
  const changes = (s: SymbolSpec, c: DepthChange[], which: 'bid' | 'ask') =>
    c
      .filter((x) => x.side === which)
      .map((x) => level(s, x.price, x.qty))
      .join(',');
  const frame = (spec: SymbolSpec, type: 'snapshot' | 'delta', b: string, a: string, u: number, cts: number): OutFrame => {
    const S = venueSymbol(spec);
    const topic = `orderbook.${BOOK_DEPTH}.${S}`;
    return {
      topic: keyOf(spec, topic),
      text: `{"topic":"${topic}","type":"${type}","ts":${Date.now()},"data":{"s":"${S}","b":[${b}],"a":[${a}],"u":${u},"seq":${++seq}},"cts":${cts}}`,
      symbol: spec.symbol,
      trades: 0,
      quote: false,
      ...(type === 'delta' ? { bookDelta: true } : {}),
    };
  };

  return {
    snapshot(topic, spec) {
      if (topic !== `orderbook.${BOOK_DEPTH}.${venueSymbol(spec)}` || !ctx.market) return null;
      const view = ctx.market.depth.view(spec.symbol, BOOK_DEPTH);
      return frame(spec, 'snapshot', side(spec, view.bids), side(spec, view.asks), updateIds.get(spec.symbol) ?? 1, Date.now());
    },

    events(ev) {
      const spec = ev.spec;
      const u = (updateIds.get(spec.symbol) ?? 1) + 1;
      updateIds.set(spec.symbol, u);
      return [frame(spec, 'delta', changes(spec, ev.depth, 'bid'), changes(spec, ev.depth, 'ask'), u, ev.ts)];
    },
  };
}
