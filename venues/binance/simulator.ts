import { padded, trimmed, type MarketEvent, type SymbolSpec, type TradeRecord } from '../../simulate/market.js';
import {
  intParam,
  isObject,
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
import { binanceBookSim } from './book-simulator.js';
import { binanceDerivsSim } from './derivs-simulator.js';
import { SimHistory } from '../kit/history-sim.js';

/**
 * Binance spot / Binance.US market streams (same protocol): raw `/ws`, `/ws/<stream>`, combined
 * `/stream?streams=a/b` with the `{"stream","data"}` envelope; JSON SUBSCRIBE / UNSUBSCRIBE /
 * LIST_SUBSCRIPTIONS with ids; server pings every 20 s. Prices and sizes are 8-decimal strings.
 * REST: exchangeInfo, aggTrades, trades, historicalTrades, bookTicker, ping, time.
 */

const venueSymbol = (s: SymbolSpec) => s.base + s.quote;
// A stream is `<lowercase symbol>@<kind>`, or an all-market `!<kind>` stream.
const STREAM = /^([a-z0-9]+@[A-Za-z0-9_@]+|![A-Za-z0-9_@]+)$/;
const ID = (v: unknown) => (v === undefined ? 'null' : JSON.stringify(v));
const px = (s: SymbolSpec, ticks: number) => padded(ticks, s.priceDp, 8);
const qty = (s: SymbolSpec, ticks: number) => padded(ticks, s.qtyDp, 8);

export const simulator = (ctx: VenueContext): VenueProtocol => binanceProtocol(ctx, false);

/**
 * Binance USD-M (`binance-futures`): the same protocol on `/market/stream` and `/public/stream`
 * (either serves every stream here), `"e":"bookTicker"` frames with `E`/`T`, depth with `pu`,
 * REST `/fapi/v1/depth`; 10 incoming messages per second.
 */
export const futuresSimulator = (ctx: VenueContext): VenueProtocol => binanceProtocol(ctx, true);

function binanceProtocol(ctx: VenueContext, futures: boolean): VenueProtocol {
  const symbols = symbolIndex(ctx.market, venueSymbol);
  const books = binanceBookSim(ctx, venueSymbol, symbols, futures);
  const derivs = futures ? binanceDerivsSim(ctx, venueSymbol, symbols) : null;
  // REST trade history: the market's trades preceded by a computed past (backfill of past days).
  const history = ctx.market ? new SimHistory(ctx.market) : null;
  const combined = (c: SimClient) => c.url.pathname.startsWith('/stream');

  const bookTicker = (spec: SymbolSpec, ev: MarketEvent): OutFrame => {
    const b = ev.book;
    const S = venueSymbol(spec);
    return {
      topic: `${S.toLowerCase()}@bookTicker`,
      text: `{${futures ? `"e":"bookTicker","E":${Date.now()},"T":${ev.ts},` : ''}"u":${b.updateId},"s":"${S}","b":"${px(spec, b.bid)}","B":"${qty(spec, b.bidQty)}","a":"${px(spec, b.ask)}","A":"${qty(spec, b.askQty)}"}`,
      symbol: spec.symbol,
      trades: 0,
      quote: true,
    };
  };

  const error = (code: number, msg: string, id?: unknown): ClientRequest => ({
    op: 'reply',
    frames: [JSON.stringify(id === undefined ? { code, msg } : { code, msg, id })],
  });

  return {
    limits: simLimits({
      connect: { limit: 300, windowMs: 300_000 },
      connectBanAfter: 20,
      banMs: 120_000,
      messages: futures ? { capacity: 10, refillPerSec: 10 } : { capacity: 5, refillPerSec: 5 },
      maxStreams: 1024,
      restWeightPerMin: 6000,
    }),
    banStatus: 418,
    pingMs: 20_000,
    maxConnectionMs: 86_400_000,
    heartbeatMs: null,
    criticalKeys: ['p', 'q', 'T', 'a', 't', 'm', 'b', 'B', 'A', 'u'],
    rateClose: { frames: [], code: 1008, reason: 'Too many requests' },

    accept(url) {
      const p = futures ? url.pathname.replace(/^\/(public|market)(?=\/)/, '') : url.pathname;
      if (p === '/ws' || p === '/ws/') return { topics: [] };
      if (p.startsWith('/ws/')) return { topics: p.slice(4).split('/').filter((s) => STREAM.test(s)) };
      if (p === '/stream' || p === '/stream/') {
        const streams = url.searchParams.get('streams') ?? '';
        return { topics: streams.split('/').filter((s) => STREAM.test(s)) };
      }
      return null;
    },

    open: () => [],

    parse(_client, text) {
      const parsed = parseJson(text);
      if (!parsed.ok) return error(3, `Invalid JSON: ${parsed.error}`);
      const msg = parsed.value;
      if (!isObject(msg)) return error(2, 'Invalid request: expected a JSON object');
      const id = msg.id;
      const idOk =
        id === undefined ||
        id === null ||
        (typeof id === 'number' && Number.isInteger(id) && id >= 0) ||
        (typeof id === 'string' && /^[A-Za-z0-9-]{1,36}$/.test(id));
      if (!idOk) return error(2, 'Invalid request: request ID must be an unsigned integer or a string of at most 36 characters', null);
      switch (msg.method) {
        case 'SUBSCRIBE':
        case 'UNSUBSCRIBE': {
          const params = msg.params;
          if (!Array.isArray(params) || !params.every((s) => typeof s === 'string')) {
            return error(2, 'Invalid request: params must be an array of stream names', id ?? null);
          }
          const bad = params.find((s) => !STREAM.test(s));
          if (bad !== undefined) return error(2, `Invalid request: invalid stream name ${bad}`, id ?? null);
          return { op: msg.method === 'SUBSCRIBE' ? 'subscribe' : 'unsubscribe', topics: params as string[], id };
        }
        case 'LIST_SUBSCRIPTIONS':
          return { op: 'list', id };
        case 'SET_PROPERTY':
          return { op: 'reply', frames: [`{"result":null,"id":${ID(id)}}`] };
        case 'GET_PROPERTY':
          return { op: 'reply', frames: [`{"result":false,"id":${ID(id)}}`] };
        default:
          return error(
            2,
            `Invalid request: unknown variant \`${String(msg.method)}\`, expected one of \`SUBSCRIBE\`, \`UNSUBSCRIBE\`, \`LIST_SUBSCRIPTIONS\`, \`SET_PROPERTY\`, \`GET_PROPERTY\``,
            id ?? null,
          );
      }
    },

    ack(client, req) {
      if (req.op === 'list') return [JSON.stringify({ result: [...client.topics], id: req.id ?? null })];
      return [`{"result":null,"id":${ID(req.id)}}`];
    },

    reject(_client, req: SubscribeRequest, breach) {
      const msg = breach === 'stream-limit' ? 'Invalid request: too many streams (max 1024 per connection)' : `Invalid request: ${breach}`;
      return [JSON.stringify({ code: 2, msg, id: req.id ?? null })];
    },

    snapshot: () => [],

    render(client, frame) {
      if (!combined(client)) return frame.text;
      return (frame.alt ??= `{"stream":"${frame.topic}","data":${frame.text}}`);
    },

    events(ev) {
      const spec = ev.spec;
      if (ev.kind === 'quote') return [bookTicker(spec, ev), ...books.events(ev), ...(derivs?.events(ev) ?? [])];
      const S = venueSymbol(spec);
      const s = S.toLowerCase();
      const E = Date.now();
      const m = ev.side === 'sell';
      const out: OutFrame[] = [];
      for (const a of ev.aggs) {
        out.push({
          topic: `${s}@aggTrade`,
          text: `{"e":"aggTrade","E":${E},"s":"${S}","a":${a.id},"p":"${px(spec, a.price)}","q":"${qty(spec, a.qty)}","f":${a.firstId},"l":${a.lastId},"T":${a.ts},"m":${m},"M":true}`,
          symbol: spec.symbol,
          trades: 1,
          quote: false,
        });
      }
      for (const f of ev.fills) {
        out.push({
          topic: `${s}@trade`,
          text: `{"e":"trade","E":${E},"s":"${S}","t":${f.id},"p":"${px(spec, f.price)}","q":"${qty(spec, f.qty)}","T":${f.ts},"m":${m},"M":true}`,
          symbol: spec.symbol,
          trades: 1,
          quote: false,
        });
      }
      out.push(bookTicker(spec, ev), ...books.events(ev), ...(derivs?.events(ev) ?? []));
      return out;
    },

    heartbeat: () => [],

    rest(path, q) {
      const depth = books.rest(path, q) ?? derivs?.rest(path, q);
      if (depth) return depth;
      const bad = (code: number, msg: string, weight = 1): RestReply => ({ status: 400, body: { code, msg }, weight });
      const needSymbol = (weight: number): SymbolSpec | RestReply => {
        const sym = q.get('symbol');
        if (!sym) return bad(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.", weight);
        return symbols.get(sym) ?? bad(-1121, 'Invalid symbol.', weight);
      };
      const limitOf = (dflt: number, weight: number): number | RestReply => {
        const limit = intParam(q, 'limit') ?? dflt;
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return bad(-1130, "Data sent for parameter 'limit' is not valid.", weight);
        return limit;
      };
      const isReply = (v: unknown): v is RestReply => isObject(v) && 'status' in v;
      switch (path) {
        case '/api/v3/ping':
          return { status: 200, body: {} };
        case '/api/v3/time':
          return { status: 200, body: { serverTime: Date.now() } };
        case '/api/v3/exchangeInfo': {
          let list = [...symbols.values()];
          const one = q.get('symbol');
          const many = q.get('symbols');
          if (one) list = list.filter((s) => venueSymbol(s) === one);
          if (many) {
            const wanted = parseJson(many);
            if (!wanted.ok || !Array.isArray(wanted.value)) return bad(-1100, "Illegal characters found in parameter 'symbols'.", 20);
            list = list.filter((s) => (wanted.value as unknown[]).includes(venueSymbol(s)));
          }
          if ((one || many) && list.length === 0) return bad(-1121, 'Invalid symbol.', 20);
          return { status: 200, weight: 20, body: exchangeInfo(list) };
        }
        case '/api/v3/ticker/bookTicker': {
          const spec = needSymbol(2);
          if (isReply(spec)) return spec;
          const b = ctx.market!.book(spec.symbol)!;
          return {
            status: 200,
            weight: 2,
            body: { symbol: venueSymbol(spec), bidPrice: px(spec, b.bid), bidQty: qty(spec, b.bidQty), askPrice: px(spec, b.ask), askQty: qty(spec, b.askQty) },
          };
        }
        case '/api/v3/aggTrades': {
          const spec = needSymbol(4);
          if (isReply(spec)) return spec;
          const limit = limitOf(500, 4);
          if (isReply(limit)) return limit;
          const fromId = intParam(q, 'fromId');
          const startTime = intParam(q, 'startTime');
          const endTime = intParam(q, 'endTime');
          for (const [name, v] of Object.entries({ fromId, startTime, endTime })) {
            if (v !== undefined && (!Number.isInteger(v) || v < 0)) return bad(-1100, `Illegal characters found in parameter '${name}'.`, 4);
          }
          if (startTime !== undefined && endTime !== undefined && endTime - startTime > 3_600_000) {
            return bad(-1127, 'More than 1 hours between startTime and endTime.', 4);
          }
          const rows = history!.aggTrades(spec.symbol, { fromId, startTime, endTime, limit });
          const body = rows.map((a) => ({ a: a.id, p: px(spec, a.price), q: qty(spec, a.qty), f: a.firstId, l: a.lastId, T: a.ts, m: a.side === 'sell', M: true }));
          return { status: 200, weight: 4, body };
        }
        case '/api/v3/trades':
        case '/api/v3/historicalTrades': {
          const spec = needSymbol(25);
          if (isReply(spec)) return spec;
          const limit = limitOf(500, 25);
          if (isReply(limit)) return limit;
          const fromId = path === '/api/v3/historicalTrades' ? intParam(q, 'fromId') : undefined;
          if (fromId !== undefined && (!Number.isInteger(fromId) || fromId < 0)) return bad(-1100, "Illegal characters found in parameter 'fromId'.", 25);
          const rows = history!.trades(spec.symbol, { fromId, limit });
          return { status: 200, weight: 25, body: rows.map((t) => restTrade(spec, t)) };
        }
        default:
          return null;
      }
    },
  };
}

function restTrade(spec: SymbolSpec, t: TradeRecord) {
  return {
    id: t.id,
    price: px(spec, t.price),
    qty: qty(spec, t.qty),
    quoteQty: trimmed(BigInt(t.price) * BigInt(t.qty), spec.priceDp + spec.qtyDp),
    time: t.ts,
    isBuyerMaker: t.side === 'sell',
    isBestMatch: true,
  };
}

function exchangeInfo(list: SymbolSpec[]) {
  return {
    timezone: 'UTC',
    serverTime: Date.now(),
    rateLimits: [
      { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 6000 },
      { rateLimitType: 'RAW_REQUESTS', interval: 'MINUTE', intervalNum: 5, limit: 61000 },
    ],
    exchangeFilters: [],
    symbols: list.map((s) => ({
      symbol: venueSymbol(s),
      status: 'TRADING',
      baseAsset: s.base,
      baseAssetPrecision: 8,
      quoteAsset: s.quote,
      quotePrecision: 8,
      quoteAssetPrecision: 8,
      orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET', 'STOP_LOSS_LIMIT', 'TAKE_PROFIT_LIMIT'],
      icebergAllowed: true,
      ocoAllowed: true,
      isSpotTradingAllowed: true,
      isMarginTradingAllowed: false,
      filters: [
        { filterType: 'PRICE_FILTER', minPrice: px(s, 1), maxPrice: '1000000.00000000', tickSize: px(s, 1) },
        { filterType: 'LOT_SIZE', minQty: qty(s, 1), maxQty: '9000000.00000000', stepSize: qty(s, 1) },
      ],
      permissions: ['SPOT'],
    })),
  };
}
