import { crc32 } from 'node:zlib';
import type { DepthChange, DepthLevels } from '../../simulate/depth.js';
import { fixed, type MarketEvent, type SymbolSpec } from '../../simulate/market.js';
import { isoMicros, type OutFrame, type VenueContext } from '../kit/simulator.js';

/**
 * Kraken v2 `book` on the simulator, from the market's true book: a snapshot on subscribe, then one
 * update per market event, each with the CRC32 of the top 10 asks and bids after it, computed over
 * the very text sent (prices and quantities are JSON numbers with the pair's decimals).
 */

export interface KrakenBookSim {
  snapshot(topic: string): OutFrame | null;
  events(ev: MarketEvent): OutFrame[];
}

/** Kraken's checksum text of one value: the dot removed, then leading zeros. */
const checksumText = (s: string): string => s.replace('.', '').replace(/^0+(?=.)/, '');

export function krakenBookSim(ctx: VenueContext, venueSymbol: (s: SymbolSpec) => string, pairs: ReadonlyMap<string, SymbolSpec>): KrakenBookSim {
  const px = (s: SymbolSpec, t: number) => fixed(t, s.priceDp);
  const qty = (s: SymbolSpec, t: number) => fixed(t, s.qtyDp);
  const levels = (s: SymbolSpec, l: DepthLevels) => l.map(([p, q]) => `{"price":${px(s, p)},"qty":${qty(s, q)}}`).join(',');
  const checksum = (spec: SymbolSpec): number => {
    const view = ctx.market!.depth.view(spec.symbol, 10);
    let text = '';
    for (const [p, q] of view.asks) text += checksumText(px(spec, p)) + checksumText(qty(spec, q));
    for (const [p, q] of view.bids) text += checksumText(px(spec, p)) + checksumText(qty(spec, q));
    return crc32(text);
  };
  const changes = (s: SymbolSpec, c: DepthChange[], which: 'bid' | 'ask') =>
    c
      .filter((x) => x.side === which)
      .map((x) => `{"price":${px(s, x.price)},"qty":${qty(s, x.qty)}}`)
      .join(',');

  return {
    snapshot(topic) {
      if (!topic.startsWith('book:') || !ctx.market) return null;
      const spec = pairs.get(topic.slice(5));
      if (!spec) return null;
      const view = ctx.market.depth.view(spec.symbol);
      return {
        topic,
        text: `{"channel":"book","type":"snapshot","data":[{"symbol":"${venueSymbol(spec)}","bids":[${levels(spec, view.bids)}],"asks":[${levels(spec, view.asks)}],"checksum":${checksum(spec)}}]}`,
        symbol: spec.symbol,
        trades: 0,
        quote: false,
      };
    },

    events(ev) {
      const spec = ev.spec;
      const sum = checksum(spec);
      const head = `{"channel":"book","type":"update","data":[{"symbol":"${venueSymbol(spec)}","bids":[${changes(spec, ev.depth, 'bid')}],"asks":[${changes(spec, ev.depth, 'ask')}],"checksum":`;
      const tail = `,"timestamp":"${isoMicros(ev.ts, ev.seq)}"}]}`;
      return [
        {
          topic: `book:${venueSymbol(spec)}`,
          text: head + sum + tail,
          symbol: spec.symbol,
          trades: 0,
          quote: false,
          bookDelta: true,
          corrupt: head + ((sum + 1) >>> 0) + tail,
        },
      ];
    },
  };
}
