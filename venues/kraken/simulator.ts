import { fixed, padded, trimmed, type BookTop, type SymbolSpec, type TickerStats, type TradeRecord } from '../../simulate/market.js';
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
  type SimClient,
  type SubscribeRequest,
  type VenueContext,
  type VenueProtocol,
} from '../kit/simulator.js';
import { krakenBookSim } from './book-simulator.js';
import { endpointRate, SimHistory } from '../kit/history-sim.js';
import { publicTrades } from './history.js';

/**
 * Kraken WebSocket v2 (`/v2`): a `status` frame on connect; `{"method":"subscribe","params":
 * {"channel":"trade"|"ticker","symbol":["BTC/USD"]}}` → one ack per symbol; `trade` batches the
 * fills of one taker order; `ticker` fires on trades (or on every best bid/offer change with
 * `event_trigger: "bbo"`); `{"channel":"heartbeat"}` after a quiet second. Prices and sizes are
 * JSON numbers, symbols use BTC (v2 refuses XBT).
 */

const CHANNELS = new Set(['trade', 'ticker', 'book', 'ohlc', 'instrument', 'level3']);
const venueSymbol = (s: SymbolSpec) => `${s.base}/${s.quote}`;

export function simulator(ctx: VenueContext): VenueProtocol {
  const pairs = symbolIndex(ctx.market, venueSymbol);
  const books = krakenBookSim(ctx, venueSymbol, pairs);
  // REST trade history: the market's trades preceded by a computed past; public calls ~1/s.
  const history = ctx.market ? new SimHistory(ctx.market) : null;
  const historyRate = endpointRate(publicTrades.rate);
  // REST pair names: BTCUSD, XBTUSD, BTC/USD, XBT/USD, XXBTZUSD all name one market.
  const restPairs = new Map<string, SymbolSpec>();
  for (const s of pairs.values()) {
    for (const b of s.base === 'BTC' ? ['BTC', 'XBT'] : [s.base]) {
      for (const name of [`${b}${s.quote}`, `${b}/${s.quote}`, `X${b}Z${s.quote}`]) restPairs.set(name, s);
    }
  }
  const wantSnapshot = new WeakMap<SimClient, Set<string>>();
  const stamp = () => {
    const t = new Date().toISOString().replace('Z', '000Z');
    return { time_in: t, time_out: t };
  };
  const num = (t: number | bigint, dp: number) => trimmed(t, dp);

  const tickerData = (spec: SymbolSpec, b: BookTop, t: TickerStats) => {
    const vwap = t.volume > 0n ? t.quoteVolume / t.volume : BigInt(t.last);
    const change = t.last - t.open;
    const pct = Math.round((change * 10000) / t.open);
    return `{"symbol":"${venueSymbol(spec)}","bid":${num(b.bid, spec.priceDp)},"bid_qty":${num(b.bidQty, spec.qtyDp)},"ask":${num(b.ask, spec.priceDp)},"ask_qty":${num(b.askQty, spec.qtyDp)},"last":${num(t.last, spec.priceDp)},"volume":${num(t.volume, spec.qtyDp)},"vwap":${num(vwap, spec.priceDp)},"low":${num(t.low, spec.priceDp)},"high":${num(t.high, spec.priceDp)},"change":${num(change, spec.priceDp)},"change_pct":${trimmed(pct, 2)}}`;
  };
  const trade = (spec: SymbolSpec, f: TradeRecord) =>
    `{"symbol":"${venueSymbol(spec)}","side":"${f.side}","price":${num(f.price, spec.priceDp)},"qty":${num(f.qty, spec.qtyDp)},"ord_type":"market","trade_id":${f.id},"timestamp":"${isoMicros(f.ts, f.id)}"}`;
  const tickerFrame = (trigger: string, type: string, spec: SymbolSpec, b: BookTop, t: TickerStats): OutFrame => ({
    topic: `ticker:${trigger}:${venueSymbol(spec)}`,
    text: `{"channel":"ticker","type":"${type}","data":[${tickerData(spec, b, t)}]}`,
    symbol: spec.symbol,
    trades: 0,
    quote: true,
  });
  const fail = (error: string, method: string, reqId: unknown, symbol?: string): string =>
    JSON.stringify({ error, method, success: false, ...(symbol ? { symbol } : {}), ...stamp(), ...(reqId !== undefined ? { req_id: reqId } : {}) });

  /** `GET /0/public/Trades?pair=&since=&count=`: up to 1000 trades after `since` (s, or ns when that large), oldest first. */
  const tradesRest = (q: URLSearchParams): RestReply => {
    const ok = (result: unknown): RestReply => ({ status: 200, body: { error: [], result } });
    if (!historyRate()) return { status: 200, body: { error: ['EGeneral:Too many requests'] }, violation: 'rest-rate' };
    const pair = q.get('pair') ?? '';
    const spec = restPairs.get(pair);
    if (!spec) return { status: 200, body: { error: ['EQuery:Unknown asset pair'] } };
    const count = intParam(q, 'count') ?? 1000;
    const sinceText = q.get('since');
    const since = sinceText && /^\d+(\.\d+)?$/.test(sinceText) ? Number(sinceText) : undefined;
    // `since` is seconds, or nanoseconds when it is that large.
    const sinceMs = since === undefined ? undefined : since >= 1e15 ? Math.floor(since / 1e6) : Math.floor(since * 1000);
    const rows = history!.trades(spec.symbol, { ...(sinceMs === undefined ? {} : { startTime: sinceMs + 1 }), limit: Math.min(1000, Math.max(1, count || 1000)) });
    const list = rows.map((t) => [fixed(t.price, spec.priceDp), padded(t.qty, spec.qtyDp, 8), t.ts / 1000, t.side === 'buy' ? 'b' : 's', 'm', '', t.id]);
    const lastTs = rows.length > 0 ? rows[rows.length - 1]!.ts : (sinceMs ?? Date.now());
    return ok({ [pair]: list, last: `${lastTs}000000` });
  };

  return {
    limits: simLimits({ connect: { limit: 150, windowMs: 600_000 }, banMs: 600_000 }),
    banStatus: 429,
    pingMs: null,
    maxConnectionMs: null,
    heartbeatMs: 1000,
    criticalKeys: ['price', 'qty', 'side', 'trade_id', 'timestamp', 'symbol', 'bid', 'ask', 'bid_qty', 'ask_qty'],
    rateClose: { frames: [JSON.stringify({ error: 'Exceeded msg rate', success: false })], code: 1008, reason: 'Exceeded msg rate' },

    accept: (url) => (/^\/(v2)?\/?$/.test(url.pathname) ? { topics: [] } : null),

    open: (client) => [
      `{"channel":"status","type":"update","data":[{"version":"2.0.10","system":"online","api_version":"v2","connection_id":${8_000_000_000_000_000 + client.id}}]}`,
    ],

    parse(client, text): ClientRequest {
      const parsed = parseJson(text);
      if (!parsed.ok || !isObject(parsed.value)) return { op: 'reply', frames: [fail('Malformed request', 'error', undefined)] };
      const msg = parsed.value;
      const reqId = msg.req_id;
      if (msg.method === 'ping') return { op: 'reply', frames: [JSON.stringify({ method: 'pong', ...(reqId !== undefined ? { req_id: reqId } : {}), ...stamp() })] };
      if (msg.method !== 'subscribe' && msg.method !== 'unsubscribe') return { op: 'reply', frames: [fail(`Method ${String(msg.method)} not found`, String(msg.method), reqId)] };
      const method = msg.method;
      const params = msg.params;
      if (!isObject(params)) return { op: 'reply', frames: [fail('Missing params', method, reqId)] };
      const channel = params.channel;
      if (typeof channel !== 'string' || !CHANNELS.has(channel)) return { op: 'reply', frames: [fail(`Channel ${String(channel)} not supported`, method, reqId)] };
      const syms = params.symbol;
      if (!Array.isArray(syms) || syms.length === 0 || !syms.every((s) => typeof s === 'string')) {
        return { op: 'reply', frames: [fail('Missing or invalid field: symbol', method, reqId)] };
      }
      for (const s of syms as string[]) {
        if (ctx.market && !pairs.has(s)) return { op: 'reply', frames: [fail(`Currency pair not supported ${s}`, method, reqId, s)] };
      }
      const trigger = params.event_trigger === 'bbo' ? 'bbo' : 'trades';
      const snapshot = typeof params.snapshot === 'boolean' ? params.snapshot : channel === 'ticker';
      const topics: string[] = [];
      for (const s of syms as string[]) {
        if (channel === 'ticker') {
          if (method === 'unsubscribe') topics.push(`ticker:trades:${s}`, `ticker:bbo:${s}`);
          else topics.push(`ticker:${trigger}:${s}`);
        } else topics.push(`${channel}:${s}`);
      }
      if (method === 'subscribe' && snapshot) {
        const want = wantSnapshot.get(client) ?? new Set<string>();
        for (const t of topics) if (!client.topics.has(t)) want.add(t);
        wantSnapshot.set(client, want);
      }
      return { op: method, topics, id: reqId, raw: { channel, syms, snapshot, trigger } };
    },

    ack(_client, req) {
      if (req.op === 'list') return [];
      const { channel, syms, snapshot, trigger } = req.raw as { channel: string; syms: string[]; snapshot: boolean; trigger: string };
      return syms.map((symbol) =>
        JSON.stringify({
          method: req.op,
          result: { channel, ...(channel === 'ticker' ? { event_trigger: trigger } : {}), snapshot, symbol },
          success: true,
          ...stamp(),
          ...(req.id !== undefined ? { req_id: req.id } : {}),
        }),
      );
    },

    reject: (_client, req: SubscribeRequest, breach) => [fail(breach, req.op, req.id)],

    snapshot(client, added) {
      const want = wantSnapshot.get(client);
      if (!want || !ctx.market) return [];
      const out: OutFrame[] = [];
      for (const t of added) {
        if (!want.delete(t)) continue;
        const depth = books.snapshot(t);
        if (depth) {
          out.push(depth);
          continue;
        }
        const m = /^(trade|ticker:(?:trades|bbo)):(.+)$/.exec(t);
        const spec = m ? pairs.get(m[2]!) : undefined;
        if (!m || !spec) continue;
        if (m[1] === 'trade') {
          const last = ctx.market.trades(spec.symbol, { limit: 50 });
          if (last.length > 0) {
            out.push({ topic: t, text: `{"channel":"trade","type":"snapshot","data":[${last.map((f) => trade(spec, f)).join(',')}]}`, symbol: spec.symbol, trades: last.length, quote: false });
          }
        } else {
          out.push({ ...tickerFrame(m[1]!.slice(7), 'snapshot', spec, ctx.market.book(spec.symbol)!, ctx.market.ticker(spec.symbol)!), topic: t });
        }
      }
      return out;
    },

    render: (_client, frame) => frame.text,

    events(ev) {
      const spec = ev.spec;
      const out: OutFrame[] = [];
      if (ev.kind === 'trade') {
        out.push({
          topic: `trade:${venueSymbol(spec)}`,
          text: `{"channel":"trade","type":"update","data":[${ev.fills.map((f) => trade(spec, f)).join(',')}]}`,
          symbol: spec.symbol,
          trades: ev.fills.length,
          quote: false,
        });
        out.push(tickerFrame('trades', 'update', spec, ev.book, ev.ticker));
      }
      const b = ev.book;
      const p = ev.prevBook;
      if (b.bid !== p.bid || b.ask !== p.ask || b.bidQty !== p.bidQty || b.askQty !== p.askQty) out.push(tickerFrame('bbo', 'update', spec, b, ev.ticker));
      out.push(...books.events(ev));
      return out;
    },

    heartbeat: (client, _now, idleMs) => (client.topics.size > 0 && idleMs >= 1000 ? ['{"channel":"heartbeat"}'] : []),

    rest(path, q): RestReply | null {
      const ok = (result: unknown): RestReply => ({ status: 200, body: { error: [], result } });
      if (path === '/0/public/Time') {
        const now = Date.now();
        return ok({ unixtime: Math.floor(now / 1000), rfc1123: new Date(now).toUTCString() });
      }
      if (path === '/0/public/AssetPairs') {
        const result: Record<string, unknown> = {};
        for (const s of pairs.values()) {
          const b = s.base === 'BTC' ? 'XBT' : s.base;
          result[`${b}${s.quote}`] = {
            altname: `${b}${s.quote}`,
            wsname: `${b}/${s.quote}`,
            base: b,
            quote: s.quote,
            pair_decimals: s.priceDp,
            lot_decimals: 8,
            tick_size: fixed(1, s.priceDp),
            status: 'online',
          };
        }
        return ok(result);
      }
      if (path === '/0/public/Trades') return tradesRest(q);
      return null;
    },
  };
}

