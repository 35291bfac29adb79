import { fixed, padded, type SymbolSpec, type TradeRecord } from '../../simulate/market.js';
import { hash32 } from '../../simulate/random.js';
import {
  intParam,
  isObject,
  isoMicros,
  parseJson,
  simLimits,
  symbolIndex,
  type ClientRequest,
  type OutFrame,
  type RestReply,
  type VenueContext,
  type VenueProtocol,
} from '../kit/simulator.js';
import { coinbaseBookSim } from './book-simulator.js';
import { endpointRate, SimHistory } from '../kit/history-sim.js';
import { productTrades } from './history.js';

/**
 * Coinbase Exchange feed (`wss://ws-feed.exchange.coinbase.com`, path `/`): `subscribe` with
 * product_ids and channels (names or `{name, product_ids}`) → a `subscriptions` message listing
 * everything held; `matches` (one `match` per fill, `side` is the MAKER's; `last_match` on
 * subscribe), `ticker` after each taker order, `heartbeat` each second per product.
 */

const CHANNELS = new Set(['heartbeat', 'status', 'ticker', 'ticker_batch', 'level2', 'level2_batch', 'matches', 'full', 'auctionfeed', 'rfq_matches']);
const venueSymbol = (s: SymbolSpec) => `${s.base}-${s.quote}`;
const opposite = (side: 'buy' | 'sell') => (side === 'buy' ? 'sell' : 'buy');

function uuid(a: number, salt: string): string {
  const h = (s: string, n: number) => hash32(`${s}:${a}`).toString(16).padStart(8, '0').slice(0, n);
  return `${h(salt + 'a', 8)}-${h(salt + 'b', 4)}-4${h(salt + 'c', 3)}-a${h(salt + 'd', 3)}-${h(salt + 'e', 8)}${h(salt + 'f', 4)}`;
}

export function simulator(ctx: VenueContext): VenueProtocol {
  const products = symbolIndex(ctx.market, venueSymbol);
  const books = coinbaseBookSim(ctx, venueSymbol, products);
  // REST trade history: the market's trades preceded by a computed past; public calls 10/s.
  const history = ctx.market ? new SimHistory(ctx.market) : null;
  const historyRate = endpointRate(productTrades.rate);
  const lastSeq = new Map<string, number>();
  const px = (s: SymbolSpec, t: number) => fixed(t, s.priceDp);
  const size = (s: SymbolSpec, t: number) => padded(t, s.qtyDp, 8);
  const error = (message: string, reason: string): ClientRequest => ({ op: 'reply', frames: [JSON.stringify({ type: 'error', message, reason })] });

  const match = (type: 'match' | 'last_match', spec: SymbolSpec, f: TradeRecord, seq: number, takerOrder: string) =>
    `{"type":"${type}","trade_id":${f.id},"maker_order_id":"${uuid(f.id, 'm')}","taker_order_id":"${takerOrder}","side":"${opposite(f.side)}","size":"${size(spec, f.qty)}","price":"${px(spec, f.price)}","product_id":"${venueSymbol(spec)}","sequence":${seq},"time":"${isoMicros(f.ts, f.id)}"}`;

  /** `GET /products/<id>/trades`: up to 1000, newest first; `after` pages to older trades (id < after), `before` to newer (id > before). */
  const tradesRest = (spec: SymbolSpec, q: URLSearchParams): RestReply => {
    if (!historyRate()) return { status: 429, body: { message: 'Public rate limit exceeded' }, violation: 'rest-rate' };
    const limit = intParam(q, 'limit') ?? 1000;
    const after = intParam(q, 'after');
    const before = intParam(q, 'before');
    if (![limit, after ?? 0, before ?? 0].every(Number.isInteger) || limit < 1 || limit > 1000) {
      return { status: 400, body: { message: 'Invalid pagination parameters' } };
    }
    const rows =
      before !== undefined
        ? history!.trades(spec.symbol, { fromId: before + 1, limit })
        : history!.trades(spec.symbol, { ...(after !== undefined ? { beforeId: after } : {}), limit });
    const body = rows.reverse().map((t) => ({ time: isoMicros(t.ts, t.id), trade_id: t.id, price: px(spec, t.price), size: size(spec, t.qty), side: opposite(t.side) }));
    return { status: 200, body };
  };

  return {
    limits: simLimits({ connect: { capacity: 20, refillPerSec: 8 }, banMs: 60_000, ipMessages: { capacity: 100, refillPerSec: 100 } }),
    banStatus: 429,
    pingMs: null,
    maxConnectionMs: null,
    heartbeatMs: 1000,
    connectionSequenced: true,
    criticalKeys: ['price', 'size', 'side', 'trade_id', 'time', 'product_id', 'best_bid', 'best_ask', 'best_bid_size', 'best_ask_size'],
    rateClose: { frames: [JSON.stringify({ type: 'error', message: 'rate limit exceeded' })], code: 1008, reason: 'rate limit exceeded' },

    accept: (url) => (url.pathname === '/' ? { topics: [] } : null),

    open: () => [],

    parse(_client, text) {
      const parsed = parseJson(text);
      if (!parsed.ok || !isObject(parsed.value)) return error('Malformed JSON', parsed.ok ? 'expected an object' : parsed.error);
      const msg = parsed.value;
      const advanced = books.parse(msg, (id) => !ctx.market || products.has(id));
      if (advanced) return advanced;
      if (msg.type !== 'subscribe' && msg.type !== 'unsubscribe') {
        return error('Failed to subscribe', 'Type has to be either subscribe or unsubscribe');
      }
      const top = Array.isArray(msg.product_ids) ? msg.product_ids : [];
      if (!Array.isArray(msg.channels) || msg.channels.length === 0) return error('Failed to subscribe', 'No channels provided');
      const topics: string[] = [];
      for (const ch of msg.channels as unknown[]) {
        const name = typeof ch === 'string' ? ch : isObject(ch) ? ch.name : undefined;
        const ids = isObject(ch) && Array.isArray(ch.product_ids) ? ch.product_ids : top;
        if (typeof name !== 'string' || !CHANNELS.has(name)) return error('Failed to subscribe', `${String(name)} is not a valid channel`);
        if (ids.length === 0 && name !== 'status') return error('Failed to subscribe', 'No product ids provided');
        for (const id of ids) {
          if (typeof id !== 'string' || (ctx.market && !products.has(id))) return error('Failed to subscribe', `${String(id)} is not a valid product`);
          topics.push(`${name}:${id}`);
        }
        if (name === 'status') topics.push('status:');
      }
      return { op: msg.type, topics };
    },

    ack(client, req) {
      const advanced = req.op === 'list' ? null : books.ack(client, req);
      if (advanced) return advanced;
      const byChannel = new Map<string, string[]>();
      for (const t of client.topics) {
        const [name, id] = t.split(':') as [string, string];
        const list = byChannel.get(name) ?? [];
        if (id) list.push(id);
        byChannel.set(name, list);
      }
      const channels = [...byChannel].map(([name, product_ids]) => ({ name, product_ids }));
      return [JSON.stringify({ type: 'subscriptions', channels })];
    },

    reject: (_client, _req, breach) => [JSON.stringify({ type: 'error', message: 'Failed to subscribe', reason: breach })],

    snapshot(_client, added) {
      const out: OutFrame[] = [];
      for (const t of added) {
        const depth = books.snapshot(t);
        if (depth) out.push(depth);
        if (!t.startsWith('matches:') || !ctx.market) continue;
        const spec = products.get(t.slice(8));
        const last = spec ? ctx.market.trades(spec.symbol, { limit: 1 })[0] : undefined;
        if (!spec || !last) continue;
        out.push({ topic: t, text: match('last_match', spec, last, lastSeq.get(spec.symbol) ?? 0, uuid(last.aggId, 't')), symbol: spec.symbol, trades: 1, quote: false });
      }
      return out;
    },

    render: (client, frame) => books.render(client, frame),

    events(ev) {
      lastSeq.set(ev.spec.symbol, ev.seq);
      if (ev.kind !== 'trade') return books.events(ev);
      const spec = ev.spec;
      const P = venueSymbol(spec);
      const taker = uuid(ev.fills[0]!.id, 't');
      const first = ev.seq - ev.fills.length;
      const out: OutFrame[] = ev.fills.map((f, i) => ({
        topic: `matches:${P}`,
        text: match('match', spec, f, first + i, taker),
        symbol: spec.symbol,
        trades: 1,
        quote: false,
      }));
      const last = ev.fills[ev.fills.length - 1]!;
      const t = ev.ticker;
      const b = ev.book;
      out.push({
        topic: `ticker:${P}`,
        text: `{"type":"ticker","sequence":${ev.seq},"product_id":"${P}","price":"${px(spec, last.price)}","open_24h":"${px(spec, t.open)}","volume_24h":"${padded(t.volume, spec.qtyDp, 8)}","low_24h":"${px(spec, t.low)}","high_24h":"${px(spec, t.high)}","volume_30d":"${padded(t.volume, spec.qtyDp, 8)}","best_bid":"${px(spec, b.bid)}","best_bid_size":"${size(spec, b.bidQty)}","best_ask":"${px(spec, b.ask)}","best_ask_size":"${size(spec, b.askQty)}","side":"${ev.side}","time":"${isoMicros(last.ts, last.id)}","trade_id":${last.id},"last_size":"${size(spec, last.qty)}"}`,
        symbol: spec.symbol,
        trades: 0,
        quote: true,
      });
      out.push(...books.events(ev));
      return out;
    },

    heartbeat(client) {
      if (!ctx.market) return [];
      const frames: string[] = [];
      const time = new Date().toISOString().replace('Z', '000Z');
      for (const t of client.topics) {
        if (!t.startsWith('heartbeat:')) continue;
        const spec = products.get(t.slice(10));
        if (!spec) continue;
        const lastTrade = ctx.market.ticker(spec.symbol)?.lastTradeId ?? 0;
        frames.push(`{"type":"heartbeat","last_trade_id":${lastTrade},"product_id":"${venueSymbol(spec)}","sequence":${lastSeq.get(spec.symbol) ?? 0},"time":"${time}"}`);
      }
      frames.push(...books.heartbeat(client));
      return frames;
    },

    rest(path, q): RestReply | null {
      const product = (s: SymbolSpec) => ({
        id: venueSymbol(s),
        base_currency: s.base,
        quote_currency: s.quote,
        quote_increment: fixed(1, s.priceDp),
        base_increment: fixed(1, Math.max(s.qtyDp, 8)),
        display_name: `${s.base}/${s.quote}`,
        min_market_funds: '1',
        margin_enabled: false,
        post_only: false,
        limit_only: false,
        cancel_only: false,
        status: 'online',
        status_message: '',
        trading_disabled: false,
        fx_stablecoin: false,
        auction_mode: false,
      });
      if (path === '/time') {
        const now = Date.now();
        return { status: 200, body: { iso: new Date(now).toISOString(), epoch: now / 1000 } };
      }
      if (path === '/products') return { status: 200, body: [...products.values()].map(product) };
      const m = /^\/products\/([A-Z0-9]+-[A-Z0-9]+)(\/trades)?$/.exec(path);
      if (!m) return null;
      const spec = products.get(m[1]!);
      if (!spec) return { status: 404, body: { message: 'NotFound' } };
      if (!m[2]) return { status: 200, body: product(spec) };
      return tradesRest(spec, q);
    },
  };
}
