import type { MarketEvent, SymbolSpec } from '../../simulate/market.js';
import { DerivsModel, Throttle } from '../kit/derivs-sim.js';
import type { OutFrame, RestReply, VenueContext } from '../kit/simulator.js';

/**
 * Binance USD-M derivatives on the simulator (`binance-futures`, perpetual symbols): `<s>@markPrice@1s`
 * once a second per symbol, `<s>@forceOrder` for each liquidation (the market's sweeps), and REST
 * `GET /fapi/v1/openInterest?symbol=` (weight 1). Values come from venues/kit/derivs-sim.ts.
 */
export interface BinanceDerivsSim {
  events(ev: MarketEvent): OutFrame[];
  rest(path: string, q: URLSearchParams): RestReply | null;
}

export function binanceDerivsSim(ctx: VenueContext, venueSymbol: (s: SymbolSpec) => string, symbols: ReadonlyMap<string, SymbolSpec>): BinanceDerivsSim {
  const model = new DerivsModel(ctx.market);
  const marks = new Throttle(1000);
  const frame = (spec: SymbolSpec, topic: string, text: string): OutFrame => ({ topic, text, symbol: spec.symbol, trades: 0, quote: false });
  return {
    events(ev) {
      const spec = ev.spec;
      if (!spec.symbol.endsWith('-PERP')) return [];
      const S = venueSymbol(spec);
      const s = S.toLowerCase();
      const out: OutFrame[] = [];
      const v = marks.ok(spec.symbol, ev.ts) ? model.values(spec, ev.ts) : null;
      if (v) {
        out.push(frame(spec, `${s}@markPrice@1s`, `{"e":"markPriceUpdate","E":${ev.ts},"s":"${S}","p":"${v.mark}","i":"${v.index}","P":"${v.index}","r":"${v.rate}","T":${v.next}}`));
      }
      const l = model.liquidation(ev);
      if (l) {
        out.push(
          frame(
            spec,
            `${s}@forceOrder`,
            `{"e":"forceOrder","E":${ev.ts},"o":{"s":"${S}","S":"${l.side.toUpperCase()}","o":"LIMIT","f":"IOC","q":"${l.qty}","p":"${l.price}","ap":"${l.price}","X":"FILLED","l":"${l.qty}","z":"${l.qty}","T":${l.ts}}}`,
          ),
        );
      }
      return out;
    },

    rest(path, q) {
      if (path !== '/fapi/v1/openInterest') return null;
      const spec = symbols.get(q.get('symbol') ?? '');
      if (!spec) return { status: 400, body: { code: -1121, msg: 'Invalid symbol.' }, weight: 1 };
      const now = Date.now();
      const v = model.values(spec, now);
      if (!v) return { status: 400, body: { code: -1121, msg: 'Invalid symbol.' }, weight: 1 };
      return { status: 200, body: { openInterest: v.oi, symbol: venueSymbol(spec), time: now }, weight: 1 };
    },
  };
}
