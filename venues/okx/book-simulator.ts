import { crc32 } from 'node:zlib';
import type { DepthChange, DepthLevels } from '../../simulate/depth.js';
import { trimmed, type MarketEvent, type SymbolSpec } from '../../simulate/market.js';
import type { OutFrame, VenueContext } from '../kit/simulator.js';

/**
 * OKX `books` on the simulator, from the market's true book: a snapshot on subscribe
 * (`prevSeqId` −1), then one update per market event with `prevSeqId` = the previous `seqId` (per
 * instrument, shared by every client) and the signed CRC32 of the top 25 per side, interleaved,
 * over the text sent. Swap sizes are contracts, as OKX's: one contract is one quantity tick (the
 * `ctVal` of derivs-simulator.ts's instruments), so a size is the quantity in ticks.
 */

export interface OkxBookSim {
  snapshot(topic: string): OutFrame | null;
  events(ev: MarketEvent): OutFrame[];
}

export function okxBookSim(ctx: VenueContext, venueSymbol: (s: SymbolSpec) => string, insts: ReadonlyMap<string, SymbolSpec>): OkxBookSim {
  const seqIds = new Map<string, number>();
  const px = (s: SymbolSpec, t: number) => trimmed(t, s.priceDp);
  const sz = (s: SymbolSpec, t: number) => (t === 0 ? '0' : s.symbol.endsWith('-PERP') ? String(t) : trimmed(t, s.qtyDp));
  const level = (s: SymbolSpec, p: number, q: number) => `["${px(s, p)}","${sz(s, q)}","0","${q === 0 ? 0 : 1 + (p % 7)}"]`;
  const levels = (s: SymbolSpec, l: DepthLevels) => l.map(([p, q]) => level(s, p, q)).join(',');
  const changes = (s: SymbolSpec, c: DepthChange[], which: 'bid' | 'ask') =>
    c
      .filter((x) => x.side === which)
      .map((x) => level(s, x.price, x.qty))
      .join(',');
  const checksum = (spec: SymbolSpec): number => {
    const { bids, asks } = ctx.market!.depth.view(spec.symbol, 25);
    const parts: string[] = [];
    for (let i = 0; i < Math.max(bids.length, asks.length); i++) {
      if (i < bids.length) parts.push(px(spec, bids[i]![0]), sz(spec, bids[i]![1]));
      if (i < asks.length) parts.push(px(spec, asks[i]![0]), sz(spec, asks[i]![1]));
    }
    return crc32(parts.join(':')) | 0;
  };
  const head = (spec: SymbolSpec, action: string) => `{"arg":{"channel":"books","instId":"${venueSymbol(spec)}"},"action":"${action}","data":[`;

  return {
    snapshot(topic) {
      if (!topic.startsWith('books:') || !ctx.market) return null;
      const spec = insts.get(topic.slice(6));
      if (!spec) return null;
      const view = ctx.market.depth.view(spec.symbol, 400);
      const seqId = seqIds.get(spec.symbol) ?? 1;
      return {
        topic,
        text: `${head(spec, 'snapshot')}{"asks":[${levels(spec, view.asks)}],"bids":[${levels(spec, view.bids)}],"ts":"${Date.now()}","checksum":${checksum(spec)},"prevSeqId":-1,"seqId":${seqId}}]}`,
        symbol: spec.symbol,
        trades: 0,
        quote: false,
      };
    },

    events(ev) {
      const spec = ev.spec;
      const prev = seqIds.get(spec.symbol) ?? 1;
      const seqId = prev + 1 + (ev.seq % 3);
      seqIds.set(spec.symbol, seqId);
      const sum = checksum(spec);
      const start = `${head(spec, 'update')}{"asks":[${changes(spec, ev.depth, 'ask')}],"bids":[${changes(spec, ev.depth, 'bid')}],"ts":"${ev.ts}","checksum":`;
      const end = `,"prevSeqId":${prev},"seqId":${seqId}}]}`;
      return [{ topic: `books:${venueSymbol(spec)}`, text: start + sum + end, symbol: spec.symbol, trades: 0, quote: false, bookDelta: true, corrupt: start + (sum ^ 1) + end }];
    },
  };
}
