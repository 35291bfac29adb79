import { fixed, trimmed, type MarketEvent, type SymbolSpec } from '../../simulate/market.js';
import { DerivsModel } from '../kit/derivs-sim.js';
import type { OutFrame, VenueContext } from '../kit/simulator.js';

/**
 * Bybit v5 linear derivatives on the simulator (perpetual symbols): `tickers.<S>` sends a full
 * snapshot on subscribe, then deltas holding only the fields that changed (the partial updates a
 * client must merge); `allLiquidation.<S>` one entry per liquidation, `S` the liquidated POSITION's
 * side (a sell order closes a long: `Buy`). Values come from venues/kit/derivs-sim.ts.
 */
export interface BybitDerivsSim {
  /** The snapshot a new subscription to `topic` (of `spec`) gets, or null for another topic. */
  snapshot(topic: string, spec: SymbolSpec): OutFrame | null;
  events(ev: MarketEvent): OutFrame[];
}

type Fields = Record<string, string>;

/** `keyOf`: the key a frame of a symbol's topic is delivered under (linear topics apart from spot's). */
export function bybitDerivsSim(ctx: VenueContext, venueSymbol: (s: SymbolSpec) => string, keyOf: (spec: SymbolSpec, topic: string) => string): BybitDerivsSim {
  const model = new DerivsModel(ctx.market);
  /** What the last frame of each symbol said, for the deltas. */
  const sent = new Map<string, Fields>();

  const fields = (spec: SymbolSpec, now: number): Fields | null => {
    const v = model.values(spec, now);
    const b = ctx.market?.book(spec.symbol);
    const t = ctx.market?.ticker(spec.symbol);
    if (!v || !b || !t) return null;
    return {
      lastPrice: fixed(t.last, spec.priceDp),
      markPrice: v.mark,
      indexPrice: v.index,
      openInterest: v.oi,
      openInterestValue: v.oiValue,
      nextFundingTime: String(v.next),
      // the venue's style: no trailing zeros ("-0.000212")
      fundingRate: v.rate.replace(/0+$/, '').replace(/\.$/, ''),
      bid1Price: fixed(b.bid, spec.priceDp),
      bid1Size: trimmed(b.bidQty, spec.qtyDp),
      ask1Price: fixed(b.ask, spec.priceDp),
      ask1Size: trimmed(b.askQty, spec.qtyDp),
    };
  };
  const frame = (spec: SymbolSpec, type: 'snapshot' | 'delta', f: Fields, ts: number): OutFrame => {
    const S = venueSymbol(spec);
    return {
      topic: keyOf(spec, `tickers.${S}`),
      text: JSON.stringify({ topic: `tickers.${S}`, type, data: { symbol: S, ...f }, cs: ts, ts }),
      symbol: spec.symbol,
      trades: 0,
      quote: false,
    };
  };

  return {
    snapshot(topic, spec) {
      if (topic !== `tickers.${venueSymbol(spec)}` || !spec.symbol.endsWith('-PERP')) return null;
      const now = Date.now();
      const f = fields(spec, now);
      if (!f) return null;
      sent.set(spec.symbol, f);
      return frame(spec, 'snapshot', f, now);
    },

    events(ev) {
      const spec = ev.spec;
      if (!spec.symbol.endsWith('-PERP')) return [];
      const out: OutFrame[] = [];
      const f = fields(spec, ev.ts);
      if (f) {
        const last = sent.get(spec.symbol) ?? {};
        const changed: Fields = {};
        for (const [k, v] of Object.entries(f)) if (last[k] !== v) changed[k] = v;
        if (Object.keys(changed).length > 0) out.push(frame(spec, 'delta', changed, ev.ts));
        sent.set(spec.symbol, f);
      }
      const l = model.liquidation(ev);
      if (l) {
        const S = venueSymbol(spec);
        // a sell order closes a long: the position side is the other one
        const position = l.side === 'sell' ? 'Buy' : 'Sell';
        out.push({
          topic: keyOf(spec, `allLiquidation.${S}`),
          text: `{"topic":"allLiquidation.${S}","type":"snapshot","ts":${ev.ts},"data":[{"T":${l.ts},"s":"${S}","S":"${position}","v":"${l.qty}","p":"${l.price}"}]}`,
          symbol: spec.symbol,
          trades: 0,
          quote: false,
        });
      }
      return out;
    },
  };
}
