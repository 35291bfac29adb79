import type { DepthChange, DepthLevels } from '../../simulate/depth.js';
import { fixed, padded, type MarketEvent, type SymbolSpec } from '../../simulate/market.js';
import { isoMicros, type ClientRequest, type OutFrame, type SimClient, type SubscribeRequest, type VenueContext } from '../kit/simulator.js';

/**
 * Coinbase Advanced Trade `level2` + `heartbeats` on the simulator (the book connections speak it
 * on the same path as the Exchange feed; a request with `channel` instead of `channels` is one).
 * Every Advanced Trade message a client gets carries that connection's `sequence_num`, assigned when
 * it is written (`render`), so a lost, repeated or reordered message shows as a sequence break.
 * Books come from the market's true book: a snapshot on subscribe, one update per market event.
 */

export interface CoinbaseBookSim {
  /** An Advanced Trade request, or null for the Exchange protocol. */
  parse(msg: Record<string, unknown>, known: (productId: string) => boolean): ClientRequest | null;
  ack(client: SimClient, req: SubscribeRequest): string[] | null;
  snapshot(topic: string): OutFrame | null;
  events(ev: MarketEvent): OutFrame[];
  heartbeat(client: SimClient): string[];
  render(client: SimClient, frame: OutFrame): string;
}

const L2 = 'l2:';
const HEARTBEATS = 'heartbeats:';
/** Placeholder of `sequence_num` in a frame rendered for every client. */
const SEQ = '"sequence_num":"#"';

export function coinbaseBookSim(ctx: VenueContext, venueSymbol: (s: SymbolSpec) => string, products: ReadonlyMap<string, SymbolSpec>): CoinbaseBookSim {
  const sequence = new WeakMap<SimClient, number>();
  const next = (c: SimClient): number => {
    const n = sequence.get(c) ?? 0;
    sequence.set(c, n + 1);
    return n;
  };
  const now = () => new Date().toISOString().replace('Z', '000Z');
  const message = (channel: string, events: string) => `{"channel":"${channel}","client_id":"","timestamp":"${now()}",${SEQ},"events":[${events}]}`;
  const px = (s: SymbolSpec, t: number) => fixed(t, s.priceDp);
  const size = (s: SymbolSpec, t: number) => (t === 0 ? '0' : padded(t, s.qtyDp, 8));
  const update = (s: SymbolSpec, side: 'bid' | 'ask', p: number, q: number, at: string) =>
    `{"side":"${side === 'bid' ? 'bid' : 'offer'}","event_time":"${at}","price_level":"${px(s, p)}","new_quantity":"${size(s, q)}"}`;
  const levels = (s: SymbolSpec, side: 'bid' | 'ask', l: DepthLevels, at: string) => l.map(([p, q]) => update(s, side, p, q, at));
  const changes = (s: SymbolSpec, c: DepthChange[], at: string) => c.map((x) => update(s, x.side, x.price, x.qty, at)).join(',');

  return {
    parse(msg, known) {
      if (typeof msg.channel !== 'string') return null;
      const type = msg.type;
      const fail = (reason: string): ClientRequest => ({ op: 'reply', frames: [JSON.stringify({ type: 'error', message: 'Failed to subscribe', reason })] });
      if (type !== 'subscribe' && type !== 'unsubscribe') return fail('Type has to be either subscribe or unsubscribe');
      if (msg.channel === 'heartbeats') return { op: type, topics: [HEARTBEATS], raw: 'advanced' };
      if (msg.channel !== 'level2') return fail(`${msg.channel} is not a channel this simulator serves on Advanced Trade`);
      const ids = Array.isArray(msg.product_ids) ? msg.product_ids : [];
      if (ids.length === 0) return fail('No product ids provided');
      for (const id of ids) if (typeof id !== 'string' || !known(id)) return fail(`${String(id)} is not a valid product`);
      return { op: type, topics: (ids as string[]).map((id) => L2 + id), raw: 'advanced' };
    },

    ack(client, req) {
      if (req.raw !== 'advanced') return null;
      const level2 = [...client.topics].filter((t) => t.startsWith(L2)).map((t) => t.slice(L2.length));
      const subs: Record<string, string[]> = {};
      if (level2.length > 0) subs.level2 = level2;
      if (client.topics.has(HEARTBEATS)) subs.heartbeats = ['heartbeats'];
      return [message('subscriptions', JSON.stringify({ subscriptions: subs })).replace(SEQ, `"sequence_num":${next(client)}`)];
    },

    snapshot(topic) {
      if (!topic.startsWith(L2) || !ctx.market) return null;
      const spec = products.get(topic.slice(L2.length));
      if (!spec) return null;
      const view = ctx.market.depth.view(spec.symbol, Number.MAX_SAFE_INTEGER);
      const at = now();
      const updates = [...levels(spec, 'bid', view.bids, at), ...levels(spec, 'ask', view.asks, at)].join(',');
      return { topic, text: message('l2_data', `{"type":"snapshot","product_id":"${venueSymbol(spec)}","updates":[${updates}]}`), symbol: spec.symbol, trades: 0, quote: false };
    },

    events(ev) {
      const spec = ev.spec;
      const at = isoMicros(ev.ts, ev.seq);
      return [
        {
          topic: L2 + venueSymbol(spec),
          text: message('l2_data', `{"type":"update","product_id":"${venueSymbol(spec)}","updates":[${changes(spec, ev.depth, at)}]}`),
          symbol: spec.symbol,
          trades: 0,
          quote: false,
          bookDelta: true,
        },
      ];
    },

    heartbeat(client) {
      if (!client.topics.has(HEARTBEATS)) return [];
      const n = next(client);
      return [message('heartbeats', `{"current_time":"${now()}","heartbeat_counter":${n}}`).replace(SEQ, `"sequence_num":${n}`)];
    },

    render(client, frame) {
      return frame.text.includes(SEQ) ? frame.text.replace(SEQ, `"sequence_num":${next(client)}`) : frame.text;
    },
  };
}
