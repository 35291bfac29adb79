import {
  BinanceAggTradeCheck,
  BinanceBookTickerCheck,
  BinanceRestAggTradesCheck,
  BinanceResultCheck,
  BinanceTradeCheck,
} from '../../../schemas/venues/binance.js';
import type { Trade } from '../../../schemas/trade.js';
import { adapterFactory, joinSymbol, VenueAdapterBase, type SubscribeAction } from './adapter.js';
import { BAD_JSON, control, isObject, parseJson, reject, schemaReject, symbolReject } from './frame.js';
import { longestFirst, SymbolMap, splitByQuoteSuffix } from './symbols.js';
import type {
  ControlKind,
  FeedChannel,
  FrameClass,
  ParseOutput,
  TradeBackfill,
  TradeSeq,
  VenueAdapterFactory,
  VenueLimits,
} from './types.js';

/**
 * Binance spot and Binance.US (same protocol, different hosts). Connects to the combined-stream
 * endpoint and subscribes with JSON `SUBSCRIBE`; payloads then arrive as
 * `{"stream":"btcusdt@aggTrade","data":{...}}` (raw single-stream payloads are accepted too).
 * Trades come from `aggTrade` (id = aggregate id `a`, count = l − f + 1, sequential per symbol,
 * what `/api/v3/aggTrades` backfills); `trade` frames are understood as well (id = `t`).
 * Quotes come from `bookTicker`, which carries no event time on spot: ts = receipt time.
 * Keep-alive is WS-level: the server pings every 20 s and `ws` answers with pongs.
 */

const HOSTS = {
  binance: { ws: 'wss://stream.binance.com:9443/stream', rest: 'https://api.binance.com' },
  'binance-us': { ws: 'wss://stream.binance.us:9443/stream', rest: 'https://api.binance.us' },
} as const;

type BinanceVenue = keyof typeof HOSTS;

// Source: developers.binance.com/docs/binance-spot-api-docs/web-socket-streams ("WebSocket Limits");
// Binance.US documents the same numbers (docs.binance.us, WebSocket streams).
const LIMITS: VenueLimits = {
  maxStreamsPerConnection: 1024,
  messagesPerConnection: { count: 5, perMs: 1_000 },
  connectsPerIp: { count: 300, perMs: 300_000 },
  maxConnectionAgeMs: 24 * 60 * 60 * 1_000,
  restWeightPerMin: 6_000,
  source:
    'Binance spot WebSocket Streams docs: 5 incoming msgs/s per connection (incl. ping/pong/SUBSCRIBE), 1024 streams per connection, 300 connections per 5 min per IP, 24 h connection validity; REST: 6000 request weight per minute per IP, aggTrades weight 4',
};

/**
 * Quote assets, needed because 'BTCUSDT' has no separator. Longest suffix wins ('XRPBUSD' is
 * XRP-BUSD, not XRPB-USD). Subscribed symbols are learnt exactly and never go through this.
 */
const QUOTES = longestFirst([
  'USDT', 'BUSD', 'USDC', 'TUSD', 'FDUSD', 'USDP', 'USDS', 'DAI', 'PAX', 'UST', 'VAI', 'AEUR', 'EURI',
  'USD', 'EUR', 'GBP', 'AUD', 'BRL', 'TRY', 'RUB', 'UAH', 'NGN', 'ZAR', 'JPY', 'ARS', 'PLN', 'RON',
  'MXN', 'COP', 'CZK', 'IDRT', 'BIDR', 'BKRW', 'BVND',
  'BTC', 'ETH', 'BNB', 'XRP', 'TRX', 'DOGE', 'DOT', 'SOL',
]);

/** Event types we receive but do not consume. */
const IGNORED_EVENTS: ReadonlyMap<string, ControlKind> = new Map<string, ControlKind>([
  ['depthUpdate', 'ignored:depth'],
  ['kline', 'ignored:kline'],
  ['24hrTicker', 'ignored:ticker'],
  ['24hrMiniTicker', 'ignored:ticker'],
  ['1hTicker', 'ignored:ticker'],
  ['4hTicker', 'ignored:ticker'],
  ['1dTicker', 'ignored:ticker'],
  ['avgPrice', 'ignored:avgPrice'],
]);

const STREAM_OF: Record<FeedChannel, string> = { trades: 'aggTrade', quotes: 'bookTicker' };

/** `GET /api/v3/aggTrades?fromId=` returns aggregate trades by id, up to 1000 per request. */
const AGG_TRADES_BACKFILL: TradeBackfill = {
  maxPerRequest: 1000,
  weight: 4,
  path: (venueSymbol, fromId, limit) =>
    `/api/v3/aggTrades?symbol=${encodeURIComponent(venueSymbol)}&fromId=${fromId}&limit=${limit}`,
  parse(body, like, recvTs) {
    const rows: unknown = JSON.parse(body);
    if (!BinanceRestAggTradesCheck.Check(rows)) {
      const e = BinanceRestAggTradesCheck.Errors(rows).First();
      throw new Error(`aggTrades response invalid at ${e?.path ?? ''}: ${e?.message ?? 'unknown'}`);
    }
    const bad = rows.findIndex((r) => r.l < r.f);
    if (bad >= 0) throw new Error(`aggTrades response invalid at /${bad}/l: below f`);
    return rows.map((r) => ({
      venue: like.venue,
      symbol: like.symbol,
      venueSymbol: like.venueSymbol,
      id: String(r.a),
      price: r.p,
      qty: r.q,
      side: r.m ? 'sell' : 'buy',
      ts: r.T,
      recvTs,
      count: r.l - r.f + 1,
    }));
  },
};

class BinanceAdapter extends VenueAdapterBase {
  readonly wsUrl: string;
  readonly restUrl: string;
  readonly limits = LIMITS;
  readonly backfill = AGG_TRADES_BACKFILL;
  protected readonly symbols = new SymbolMap((s) => splitByQuoteSuffix(s, QUOTES));

  constructor(readonly venue: BinanceVenue) {
    super();
    this.wsUrl = HOSTS[venue].ws;
    this.restUrl = HOSTS[venue].rest;
  }

  toVenueSymbol(symbol: string): string {
    return joinSymbol(symbol, '');
  }

  /** One message may carry many streams; split only at the per-connection stream cap. */
  protected requests(action: SubscribeAction, symbols: readonly string[], channels: readonly FeedChannel[], nextReqId: () => number): string[] {
    const method = action.toUpperCase();
    const params: string[] = [];
    for (const symbol of symbols) {
      const vs = this.toVenueSymbol(symbol);
      this.symbols.learn(vs, symbol);
      for (const ch of channels) params.push(`${vs.toLowerCase()}@${STREAM_OF[ch]}`);
    }
    const frames: string[] = [];
    for (let i = 0; i < params.length; i += LIMITS.maxStreamsPerConnection!) {
      frames.push(JSON.stringify({ method, params: params.slice(i, i + LIMITS.maxStreamsPerConnection!), id: nextReqId() }));
    }
    return frames;
  }

  parseFrame(raw: string, recvTs: number, out: ParseOutput): FrameClass {
    const msg = parseJson(raw, out);
    if (msg === BAD_JSON) return 'reject';
    if (!isObject(msg)) return reject(out, 'unknown-frame', '', 'not a JSON object', raw);

    let d = msg;
    let at = '';
    if (typeof msg.stream === 'string') {
      if (!isObject(msg.data)) return reject(out, 'schema', '/data', 'combined-stream payload is not an object', raw);
      d = msg.data;
      at = '/data';
    } else if ('id' in msg && ('result' in msg || 'error' in msg || 'code' in msg)) {
      return this.reply(msg, raw, out);
    }

    const e = d.e;
    if (e === 'aggTrade') {
      if (!BinanceAggTradeCheck.Check(d)) return schemaReject(out, BinanceAggTradeCheck, d, at, raw);
      if (d.l < d.f) return reject(out, 'schema', `${at}/l`, 'last trade id l is below first trade id f', raw);
      const symbol = this.symbols.get(d.s);
      if (symbol === null) return symbolReject(out, `${at}/s`, d.s, raw);
      out.trades.push({
        venue: this.venue,
        symbol,
        venueSymbol: d.s,
        id: String(d.a),
        price: d.p,
        qty: d.q,
        side: d.m ? 'sell' : 'buy',
        ts: d.T,
        recvTs,
        count: d.l - d.f + 1,
      });
      return 'data';
    }
    if (e === 'trade') {
      if (!BinanceTradeCheck.Check(d)) return schemaReject(out, BinanceTradeCheck, d, at, raw);
      const symbol = this.symbols.get(d.s);
      if (symbol === null) return symbolReject(out, `${at}/s`, d.s, raw);
      out.trades.push({
        venue: this.venue,
        symbol,
        venueSymbol: d.s,
        id: String(d.t),
        price: d.p,
        qty: d.q,
        side: d.m ? 'sell' : 'buy',
        ts: d.T,
        recvTs,
      });
      return 'data';
    }
    if (e === undefined) {
      if ('u' in d && 'b' in d) return this.bookTicker(d, at, recvTs, raw, out);
      if ('lastUpdateId' in d) return control(out, 'ignored:depth');
      return reject(out, 'unknown-frame', at, 'payload without event type', raw);
    }
    const ignored = typeof e === 'string' ? IGNORED_EVENTS.get(e) : undefined;
    if (ignored) return control(out, ignored);
    return reject(out, 'unknown-frame', `${at}/e`, `unknown event type ${String(e).slice(0, 40)}`, raw);
  }

  private bookTicker(d: Record<string, unknown>, at: string, recvTs: number, raw: string, out: ParseOutput): FrameClass {
    if (!BinanceBookTickerCheck.Check(d)) return schemaReject(out, BinanceBookTickerCheck, d, at, raw);
    const symbol = this.symbols.get(d.s);
    if (symbol === null) return symbolReject(out, `${at}/s`, d.s, raw);
    out.quotes.push({
      venue: this.venue,
      symbol,
      venueSymbol: d.s,
      bidPrice: d.b,
      bidQty: d.B,
      askPrice: d.a,
      askQty: d.A,
      updateId: String(d.u),
      ts: d.E ?? recvTs,
      recvTs,
    });
    return 'data';
  }

  /** `{"result":null,"id":1}` acks (un)subscribe; a list answers LIST_SUBSCRIPTIONS; errors carry code/msg. */
  private reply(msg: Record<string, unknown>, raw: string, out: ParseOutput): FrameClass {
    if ('error' in msg || 'code' in msg) return control(out, 'venue-error');
    if (!BinanceResultCheck.Check(msg)) return schemaReject(out, BinanceResultCheck, msg, '', raw);
    return control(out, msg.result === null ? 'ack' : 'info');
  }

  tradeSeq(trade: Trade): TradeSeq | null {
    const n = Number(trade.id);
    return Number.isSafeInteger(n) ? { first: n, last: n } : null;
  }
}

export const binance: VenueAdapterFactory = adapterFactory(['binance', 'binance-us'], (venue) => new BinanceAdapter(venue));
