import type { DepthChange, DepthLevels } from '../../simulate/depth.js';
import { padded, type MarketEvent, type SymbolSpec } from '../../simulate/market.js';
import { intParam, type OutFrame, type RestReply, type VenueContext } from '../kit/simulator.js';
import { binanceDepthSnapshot } from './book.js';

/**
 * Binance depth on the simulator, from the market's true book: one `depthUpdate` per market event
 * on `<s>@depth@100ms` (`U` = previous `u` + 1, so a lost diff is a gap; USD-M adds `pu` and `T`)
 * and the REST depth snapshot (`/api/v3/depth`, USD-M `/fapi/v1/depth`) at the current update id.
 */

const px = (s: SymbolSpec, ticks: number) => padded(ticks, s.priceDp, 8);
const qty = (s: SymbolSpec, ticks: number) => padded(ticks, s.qtyDp, 8);

export interface BinanceBookSim {
  events(ev: MarketEvent): OutFrame[];
  rest(path: string, q: URLSearchParams): RestReply | null;
}

export function binanceBookSim(ctx: VenueContext, venueSymbol: (s: SymbolSpec) => string, symbols: ReadonlyMap<string, SymbolSpec>, futures: boolean): BinanceBookSim {
  const venue = futures ? 'binance-futures' : 'binance';
  const path = futures ? '/fapi/v1/depth' : '/api/v3/depth';
  const levels = (spec: SymbolSpec, l: DepthLevels) => l.map(([p, q]) => [px(spec, p), qty(spec, q)]);
  const changes = (spec: SymbolSpec, c: DepthChange[], side: 'bid' | 'ask') =>
    c
      .filter((x) => x.side === side)
      .map((x) => `["${px(spec, x.price)}","${qty(spec, x.qty)}"]`)
      .join(',');

  return {
    events(ev) {
      const spec = ev.spec;
      const S = venueSymbol(spec);
      const U = ev.prevBook.updateId + 1;
      const u = ev.book.updateId;
      const E = Date.now();
      const extra = futures ? `"T":${ev.ts},` : '';
      const pu = futures ? `,"pu":${ev.prevBook.updateId}` : '';
      return [
        {
          topic: `${S.toLowerCase()}@depth@100ms`,
          text: `{"e":"depthUpdate","E":${E},${extra}"s":"${S}","U":${U},"u":${u}${pu},"b":[${changes(spec, ev.depth, 'bid')}],"a":[${changes(spec, ev.depth, 'ask')}]}`,
          symbol: spec.symbol,
          trades: 0,
          quote: false,
          bookDelta: true,
        },
      ];
    },

    rest(p, q) {
      if (p !== path || !ctx.market) return null;
      const limit = intParam(q, 'limit') ?? 100;
      const weight = binanceDepthSnapshot.weight(venue, Number.isInteger(limit) ? limit : 5000);
      const spec = symbols.get(q.get('symbol') ?? '');
      if (!spec) return { status: 400, body: { code: -1121, msg: 'Invalid symbol.' }, weight };
      if (!Number.isInteger(limit) || limit < 1 || limit > (futures ? 1000 : 5000)) {
        return { status: 400, body: { code: -1130, msg: "Data sent for parameter 'limit' is not valid." }, weight };
      }
      const view = ctx.market.depth.view(spec.symbol, limit);
      const body: Record<string, unknown> = { lastUpdateId: ctx.market.book(spec.symbol)!.updateId };
      if (futures) Object.assign(body, { E: Date.now(), T: Date.now() });
      body.bids = levels(spec, view.bids);
      body.asks = levels(spec, view.asks);
      return { status: 200, body, weight, depthSnapshot: true };
    },
  };
}
