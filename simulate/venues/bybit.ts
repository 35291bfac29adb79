import { fixed, trimmed, type BookTop, type MarketEvent, type SymbolSpec } from '../market.js';
import {
  intParam,
  isObject,
  parseJson,
  symbolIndex,
  type ClientRequest,
  type OutFrame,
  type RestReply,
  type SimClient,
  type VenueContext,
  type VenueProtocol,
} from './protocol.js';
import { simLimits } from '../types.js';

/**
 * Bybit v5 public streams (`/v5/public/spot`, `/v5/public/linear`, `/v5/public/inverse`):
 * `{"op":"subscribe","args":[...],"req_id"}` → `{"success":true,"ret_msg":"subscribe",...}`;
 * `publicTrade.<S>` batches the fills of one taker order; `orderbook.1.<S>` sends a snapshot on
 * subscribe, then deltas; `{"op":"ping"}` → pong. Spot allows 10 args per request.
 * One id format for every category: numeric strings, increasing per symbol.
 */

const venueSymbol = (s: SymbolSpec) => s.base + s.quote;
const TOPIC = /^(publicTrade|orderbook\.(?:1|50|200|500)|tickers|kline\.[0-9A-Z]+)\.([A-Z0-9]+)$/;
const ID_BASE = 2_290_000_000_000_000_000n;

export function bybit(ctx: VenueContext): VenueProtocol {
  const symbols = symbolIndex(ctx.market, venueSymbol);
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
      topic: `orderbook.1.${S}`,
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
    wsPath: '/v5/public/spot',
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
      for (const t of args as string[]) {
        const m = TOPIC.exec(t);
        if (!m) return { op: 'reply', frames: [reply(client, op, false, `error:handler not found,topic:${t}`, msg.req_id)] };
        if (ctx.market && !symbols.has(m[2]!)) return { op: 'reply', frames: [reply(client, op, false, `Invalid symbol :[${t}]`, msg.req_id)] };
      }
      return { op, topics: args as string[], id: msg.req_id };
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
      for (const t of added) {
        const m = /^orderbook\.1\.([A-Z0-9]+)$/.exec(t);
        const spec = m ? symbols.get(m[1]!) : undefined;
        if (!spec || !ctx.market) continue;
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
          topic: `publicTrade.${S}`,
          text: `{"topic":"publicTrade.${S}","type":"snapshot","ts":${Date.now()},"data":[${data.join(',')}]}`,
          symbol: spec.symbol,
          trades: ev.fills.length,
          quote: false,
        });
      }
      const book = bookFrame(spec, 'delta', ev.book, ev.prevBook, ev.seq, ev.ts);
      if (book) out.push(book);
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
        const spec = symbols.get(q.get('symbol') ?? '');
        if (!category || !spec) return envelope({}, 10001, 'Not supported symbols');
        const limit = intParam(q, 'limit') ?? (category === 'spot' ? 60 : 500);
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return envelope({}, 10001, 'limit out of range');
        const rows = ctx.market!.trades(spec.symbol, { limit }).reverse();
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
