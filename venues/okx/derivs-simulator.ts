import { fixed, type MarketEvent, type SymbolSpec } from '../../simulate/market.js';
import { DerivsModel, FUNDING_INTERVAL_MS, Throttle, type SimLiquidation } from '../kit/derivs-sim.js';
import type { OutFrame, RestReply, VenueContext } from '../kit/simulator.js';

/**
 * OKX v5 swap derivatives on the simulator (perpetual symbols as `BASE-QUOTE-SWAP`): `funding-rate`
 * (`fundingTime` the next settlement, `nextFundingTime` the one after), `open-interest` (`oi` in
 * contracts, `oiCcy` in base units), `mark-price` and `index-tickers` (on `BASE-QUOTE`), each at most
 * once a second per instrument and at once on subscribe; `liquidation-orders` per instType, whose
 * first push after subscribing replays recent liquidations (as OKX does); REST instruments of type
 * SWAP with their contract value (one quantity tick, linear: sizes in contracts are quantity ticks).
 */
export interface OkxDerivsSim {
  /** The topic an arg subscribes (`channel:instId`, `liquidation-orders:SWAP`), null for a derivatives arg naming nothing known, undefined for other channels. */
  topic(arg: Record<string, unknown>): string | null | undefined;
  snapshot(topic: string): OutFrame | null;
  events(ev: MarketEvent): OutFrame[];
  rest(path: string, q: URLSearchParams): RestReply | null;
}

const CHANNELS = new Set(['funding-rate', 'open-interest', 'mark-price', 'index-tickers']);
const swapOf = (s: SymbolSpec) => `${s.base}-${s.quote}-SWAP`;
const indexOf = (s: SymbolSpec) => `${s.base}-${s.quote}`;

export function okxDerivsSim(ctx: VenueContext): OkxDerivsSim {
  const model = new DerivsModel(ctx.market);
  const perps = (ctx.market?.specs ?? []).filter((s) => s.symbol.endsWith('-PERP'));
  const bySwap = new Map(perps.map((s) => [swapOf(s), s]));
  const byIndex = new Map(perps.map((s) => [indexOf(s), s]));
  const throttles = new Map([...CHANNELS].map((c) => [c, new Throttle(1000)]));
  const recent: { spec: SymbolSpec; l: SimLiquidation }[] = [];

  const push = (channel: string, instId: string, spec: SymbolSpec, data: unknown[]): OutFrame => ({
    topic: `${channel}:${instId}`,
    text: JSON.stringify({ arg: { channel, instId }, data }),
    symbol: spec.symbol,
    trades: 0,
    quote: false,
  });
  const liqPush = (items: { spec: SymbolSpec; l: SimLiquidation }[]): OutFrame => ({
    topic: 'liquidation-orders:SWAP',
    text: JSON.stringify({
      arg: { channel: 'liquidation-orders', instType: 'SWAP' },
      data: items.map(({ spec, l }) => ({
        details: [{ bkLoss: '0', bkPx: l.price, ccy: '', posSide: l.side === 'sell' ? 'long' : 'short', side: l.side, sz: String(l.qtyTicks), ts: String(l.ts) }],
        instFamily: indexOf(spec),
        instId: swapOf(spec),
        instType: 'SWAP',
        uly: indexOf(spec),
      })),
    }),
    symbol: items[0]?.spec.symbol ?? '',
    trades: 0,
    quote: false,
  });
  const channelFrame = (channel: string, spec: SymbolSpec, ts: number): OutFrame | null => {
    const v = model.values(spec, ts);
    if (!v) return null;
    const instId = swapOf(spec);
    switch (channel) {
      case 'funding-rate':
        return push(channel, instId, spec, [
          { instId, instType: 'SWAP', method: 'current_period', formulaType: 'noRate', fundingRate: v.rate, fundingTime: String(v.next), nextFundingTime: String(v.next + FUNDING_INTERVAL_MS), nextFundingRate: '', ts: String(ts) },
        ]);
      case 'open-interest':
        return push(channel, instId, spec, [{ instId, instType: 'SWAP', oi: String(v.oiTicks), oiCcy: v.oi, oiUsd: v.oiValue, ts: String(ts) }]);
      case 'mark-price':
        return push(channel, instId, spec, [{ instId, instType: 'SWAP', markPx: v.mark, ts: String(ts) }]);
      case 'index-tickers':
        return push(channel, indexOf(spec), spec, [{ instId: indexOf(spec), idxPx: v.index, high24h: v.index, low24h: v.index, open24h: v.index, sodUtc0: v.index, sodUtc8: v.index, ts: String(ts) }]);
      default:
        return null;
    }
  };

  return {
    topic(arg) {
      const channel = arg.channel;
      if (channel === 'liquidation-orders') return arg.instType === 'SWAP' ? 'liquidation-orders:SWAP' : null;
      if (typeof channel !== 'string' || !CHANNELS.has(channel)) return undefined;
      const instId = typeof arg.instId === 'string' ? arg.instId : '';
      if (!ctx.market) return `${channel}:${instId}`;
      if (channel === 'index-tickers') return byIndex.has(instId) ? `${channel}:${instId}` : instId.endsWith('-SWAP') ? null : undefined;
      return bySwap.has(instId) ? `${channel}:${instId}` : instId.endsWith('-SWAP') ? null : undefined;
    },

    snapshot(topic) {
      if (topic === 'liquidation-orders:SWAP') {
        // the replay of recent liquidations every subscription starts with (stale ones if none yet)
        const old = Date.now() - 3_600_000;
        const items = recent.length > 0 ? recent.slice(-5) : perps.map((spec) => ({ spec, l: { side: 'sell' as const, price: fixed(ctx.market!.book(spec.symbol)!.bid, spec.priceDp), qty: fixed(1, spec.qtyDp), qtyTicks: 1, ts: old } }));
        return items.length > 0 ? liqPush(items) : null;
      }
      const i = topic.indexOf(':');
      const channel = topic.slice(0, i);
      const instId = topic.slice(i + 1);
      const spec = channel === 'index-tickers' ? byIndex.get(instId) : bySwap.get(instId);
      return spec && CHANNELS.has(channel) ? channelFrame(channel, spec, Date.now()) : null;
    },

    events(ev) {
      const spec = ev.spec;
      if (!spec.symbol.endsWith('-PERP')) return [];
      const out: OutFrame[] = [];
      for (const channel of CHANNELS) {
        if (!throttles.get(channel)!.ok(spec.symbol, ev.ts)) continue;
        const f = channelFrame(channel, spec, ev.ts);
        if (f) out.push(f);
      }
      const l = model.liquidation(ev);
      if (l) {
        recent.push({ spec, l });
        if (recent.length > 50) recent.shift();
        out.push(liqPush([{ spec, l }]));
      }
      return out;
    },

    rest(path, q) {
      if (path !== '/api/v5/public/instruments' || q.get('instType') !== 'SWAP') return null;
      return {
        status: 200,
        body: {
          code: '0',
          msg: '',
          data: perps.map((s) => ({
            instType: 'SWAP',
            instId: swapOf(s),
            uly: indexOf(s),
            instFamily: indexOf(s),
            settleCcy: s.quote,
            ctVal: fixed(1, s.qtyDp),
            ctValCcy: s.base,
            ctType: 'linear',
            ctMult: '1',
            tickSz: fixed(1, s.priceDp),
            lotSz: '1',
            minSz: '1',
            state: 'live',
          })),
        },
      };
    },
  };
}
