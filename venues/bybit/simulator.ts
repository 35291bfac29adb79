import { fixed, trimmed, type BookTop, type MarketEvent, type SymbolSpec } from '../../simulate/market.js';
import {
  intParam,
  isObject,
  parseJson,
  simLimits,
  type ClientRequest,
  type OutFrame,
  type RestReply,
  type SimClient,
  type VenueContext,
  type VenueProtocol,
} from '../kit/simulator.js';
import { bybitBookSim } from './book-simulator.js';
import { bybitDerivsSim } from './derivs-simulator.js';
import { linearSymbolOf } from './derivs.js';
import { SimHistory } from '../kit/history-sim.js';

/**
 * Bybit v5 public streams (`/v5/public/spot`, `/v5/public/linear`, `/v5/public/inverse`):
 * `{"op":"subscribe","args":[...],"req_id"}` → `{"success":true,"ret_msg":"subscribe",...}`;
 * `publicTrade.<S>` batches the fills of one taker order; `orderbook.1.<S>` sends a snapshot on
 * subscribe, then deltas; `{"op":"ping"}` → pong. Spot allows 10 args per request.
 * One id format for every category: numeric strings, increasing per symbol.
 *
 * `BTCUSDT` names BTC-USDT on spot and BTC-USDT-PERP on linear (USDC perpetuals `BTCPERP`): a
 * perpetual's topics are kept under `linear|<topic>`, so a market with both serves each endpoint
 * its own instrument. A symbol the client's endpoint lacks falls back to the other one's (a market
 * of spot symbols only answers on linear too, as it always did).
 */

const isPerp = (s: SymbolSpec) => s.symbol.endsWith('-PERP');
const venueSymbol = (s: SymbolSpec) => (isPerp(s) ? linearSymbolOf(s.symbol) : s.base + s.quote);
const LINEAR = 'linear|';
/** The key a frame of `spec` on `topic` is delivered under (a client's subscription keys are the same). */
const keyOf = (spec: SymbolSpec, topic: string) => (isPerp(spec) ? LINEAR + topic : topic);
const TOPIC = /^(publicTrade|orderbook\.(?:1|50|200|500)|tickers|allLiquidation|kline\.[0-9A-Z]+)\.([A-Z0-9]+)$/;
const ID_BASE = 2_290_000_000_000_000_000n;

export function simulator(ctx: VenueContext): VenueProtocol {
  const specs = ctx.market?.specs ?? [];
  const spot = new Map(specs.filter((s) => !isPerp(s)).map((s) => [venueSymbol(s), s]));
  const linear = new Map(specs.filter(isPerp).map((s) => [venueSymbol(s), s]));
  /** The instrument `venueSym` names on the client's endpoint (spot first on spot, perpetuals first elsewhere). */
  const specFor = (onSpot: boolean, venueSym: string) => (onSpot ? (spot.get(venueSym) ?? linear.get(venueSym)) : (linear.get(venueSym) ?? spot.get(venueSym)));
  /** A subscription key → its topic and instrument. */
  const resolve = (key: string): { topic: string; spec: SymbolSpec | undefined } => {
    const perp = key.startsWith(LINEAR);
    const topic = perp ? key.slice(LINEAR.length) : key;
    const m = TOPIC.exec(topic);
    return { topic, spec: m ? (perp ? linear : spot).get(m[2]!) : undefined };
  };
  const books = bybitBookSim(ctx, venueSymbol, keyOf);
  const derivs = bybitDerivsSim(ctx, venueSymbol, keyOf);
  // REST trade history: only the latest trades (recent-trade), the market's preceded by a computed past.
  const history = ctx.market ? new SimHistory(ctx.market) : null;
  const lastPrice = new Map<string, { price: number; dir: string }>();
  const isSpot = (c: SimClient) => !/\/(linear|inverse|option)\b/.test(c.url.pathname);
  const reply = (c: SimClient, op: string, success: boolean, retMsg: string, reqId: unknown) =>
    JSON.stringify({ success, ret_msg: retMsg, conn_id: c.connId, req_id: typeof reqId === 'string' ? reqId : reqId === undefined ? '' : String(reqId), op });

  const px = (s: SymbolSpec, t: number) => fixed(t, s.priceDp);
  const qty = (s: SymbolSpec, t: number) => trimmed(t, s.qtyDp);
  const level = (s: SymbolSpec, p: number, q: number) => `["${px(s, p)}","${q === 0 ? '0' : qty(s, q)}"]`;

  const bookFrame = (spec: SymbolSpec, type: 'snapshot' | 'delta', b: BookTop, prev: BookTop | null, seq: number, ts: number): OutFrame | null => {
    const side = (p: number, q: number, pp: number | undefined, pq: number | undefined): string[] => {
      if (pp === undefined) return [level(spec, p, q)];
      if (p !== pp) return [level(spec, p, q), level(spec, pp, 0)];
      return q !== pq ? [level(spec, p, q)] : [];
    };
    const bids = side(b.bid, b.bidQty, prev?.bid, prev?.bidQty);
    const asks = side(b.ask, b.askQty, prev?.ask, prev?.askQty);
    if (bids.length === 0 && asks.length === 0) return null;
    const S = venueSymbol(spec);
    return {
      topic: keyOf(spec, `orderbook.1.${S}`),
      text: `{"topic":"orderbook.1.${S}","type":"${type}","ts":${Date.now()},"data":{"s":"${S}","b":[${bids.join(',')}],"a":[${asks.join(',')}],"u":${b.updateId},"seq":${seq}},"cts":${ts}}`,
      symbol: spec.symbol,
      trades: 0,
      quote: true,
    };
  };

  const tickDirection = (symbol: string, price: number): string => {
    const last = lastPrice.get(symbol);
    let dir = 'ZeroPlusTick';
    if (last) dir = price > last.price ? 'PlusTick' : price < last.price ? 'MinusTick' : last.dir.replace(/^(Plus|Minus)/, 'Zero$1');
    lastPrice.set(symbol, { price, dir });
    return dir;
  };

  return {
    limits: simLimits({ connect: { limit: 500, windowMs: 300_000 }, banMs: 600_000, maxArgsPerRequest: 10 }),
    banStatus: 403,
    pingMs: null,
    maxConnectionMs: null,
    heartbeatMs: null,
    criticalKeys: ['p', 'v', 'T', 'S', 'i', 'b', 'a', 'u'],
    rateClose: { frames: [], code: 1008, reason: 'too many requests' },

    accept(url) {
      return /^\/(v5\/public\/(spot|linear|inverse|option))?\/?$/.test(url.pathname) ? { topics: [] } : null;
    },

    open: () => [],

    // Spot takes at most 10 args per request; the derivative categories have no per-request count.
    argsLimit: (client, configured) => (isSpot(client) ? configured : null),

    parse(client, text): ClientRequest {
      const parsed = parseJson(text);
      if (!parsed.ok || !isObject(parsed.value)) return { op: 'reply', frames: [reply(client, '', false, 'error:request not json', undefined)] };
      const msg = parsed.value;
      const op = msg.op;
      if (op === 'ping') return { op: 'reply', frames: [reply(client, 'ping', true, 'pong', msg.req_id)] };
      if (op !== 'subscribe' && op !== 'unsubscribe') {
        return { op: 'reply', frames: [reply(client, String(op ?? ''), false, `error:handler not found,op:${String(op)}`, msg.req_id)] };
      }
      const args = msg.args;
      if (!Array.isArray(args) || args.length === 0 || !args.every((a) => typeof a === 'string')) {
        return { op: 'reply', frames: [reply(client, op, false, 'error:args must be a non-empty array of topics', msg.req_id)] };
      }
      const keys: string[] = [];
      for (const t of args as string[]) {
        const m = TOPIC.exec(t);
        if (!m) return { op: 'reply', frames: [reply(client, op, false, `error:handler not found,topic:${t}`, msg.req_id)] };
        const spec = specFor(isSpot(client), m[2]!);
        if (ctx.market && !spec) return { op: 'reply', frames: [reply(client, op, false, `Invalid symbol :[${t}]`, msg.req_id)] };
        keys.push(spec ? keyOf(spec, t) : isSpot(client) ? t : LINEAR + t);
      }
      return { op, topics: keys, id: msg.req_id };
    },

    ack(client, req) {
      if (req.op === 'list') return [];
      return [reply(client, req.op, true, req.op === 'subscribe' ? 'subscribe' : '', req.id)];
    },

    reject(client, req, breach) {
      const msg = breach === 'args-limit' ? 'args size >10' : `error:${breach}`;
      return [reply(client, req.op, false, msg, req.id)];
    },

    snapshot(_client, added) {
      const out: OutFrame[] = [];
      for (const key of added) {
        const { topic, spec } = resolve(key);
        if (!spec || !ctx.market) continue;
        const depth = books.snapshot(topic, spec) ?? derivs.snapshot(topic, spec);
        if (depth) out.push(depth);
        if (!topic.startsWith('orderbook.1.')) continue;
        const b = ctx.market.book(spec.symbol)!;
        const f = bookFrame(spec, 'snapshot', b, null, b.updateId, Date.now());
        if (f) out.push(f);
      }
      return out;
    },

    render: (_client, frame) => frame.text,

    events(ev: MarketEvent) {
      const spec = ev.spec;
      const out: OutFrame[] = [];
      if (ev.kind === 'trade') {
        const S = venueSymbol(spec);
        const side = ev.side === 'buy' ? 'Buy' : 'Sell';
        const data = ev.fills.map(
          (f) =>
            `{"T":${f.ts},"s":"${S}","S":"${side}","v":"${qty(spec, f.qty)}","p":"${px(spec, f.price)}","L":"${tickDirection(spec.symbol, f.price)}","i":"${ID_BASE + BigInt(f.id)}","BT":false,"seq":${ev.seq}}`,
        );
        out.push({
          topic: keyOf(spec, `publicTrade.${S}`),
          text: `{"topic":"publicTrade.${S}","type":"snapshot","ts":${Date.now()},"data":[${data.join(',')}]}`,
          symbol: spec.symbol,
          trades: ev.fills.length,
          quote: false,
        });
      }
      const book = bookFrame(spec, 'delta', ev.book, ev.prevBook, ev.seq, ev.ts);
      if (book) out.push(book);
      out.push(...books.events(ev), ...derivs.events(ev));
      return out;
    },

    heartbeat: () => [],

    rest(path, q) {
      const envelope = (result: unknown, retCode = 0, retMsg = 'OK'): RestReply => ({
        status: 200,
        body: { retCode, retMsg, result, retExtInfo: {}, time: Date.now() },
      });
      const category = q.get('category') ?? '';
      if (path === '/v5/market/time') {
        const now = Date.now();
        return envelope({ timeSecond: String(Math.floor(now / 1000)), timeNano: `${now}000000` });
      }
      // spot answers spot symbols; the derivative categories the perpetuals (spot ones where there are none, as before)
      const symbols = category === 'spot' || linear.size === 0 ? spot : linear;
      if (path === '/v5/market/instruments-info') {
        if (!category) return envelope({}, 10001, 'category is required');
        const sym = q.get('symbol');
        const list = [...symbols.values()]
          .filter((s) => !sym || venueSymbol(s) === sym)
          .map((s) => ({
            symbol: venueSymbol(s),
            baseCoin: s.base,
            quoteCoin: s.quote,
            status: 'Trading',
            lotSizeFilter: { basePrecision: fixed(1, s.qtyDp), minOrderQty: fixed(1, s.qtyDp) },
            priceFilter: { tickSize: fixed(1, s.priceDp) },
          }));
        return envelope({ category, list });
      }
      if (path === '/v5/market/recent-trade') {
        const spec = specFor(category === 'spot', q.get('symbol') ?? '');
        if (!category || !spec) return envelope({}, 10001, 'Not supported symbols');
        const limit = intParam(q, 'limit') ?? (category === 'spot' ? 60 : 500);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return envelope({}, 10001, 'limit out of range');
        const rows = history!.trades(spec.symbol, { limit }).reverse();
        const list = rows.map((t) => ({
          execId: String(ID_BASE + BigInt(t.id)),
          symbol: venueSymbol(spec),
          price: px(spec, t.price),
          size: qty(spec, t.qty),
          side: t.side === 'buy' ? 'Buy' : 'Sell',
          time: String(t.ts),
          isBlockTrade: false,
        }));
        return envelope({ category, list });
      }
      return null;
    },
  };
}
