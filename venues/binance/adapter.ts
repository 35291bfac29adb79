import {
  BinanceAggTradeCheck,
  BinanceBookTickerCheck,
  BinanceResultCheck,
  BinanceTradeCheck,
} from './schemas.js';
import { BinanceDepthUpdateCheck } from './book-schemas.js';
import type { Trade } from '../../schemas/trade.js';
import { joinSymbol, VenueAdapterBase, type SubscribeAction } from '../kit/adapter.js';
import { BAD_JSON, control, isObject, parseJson, reject, schemaReject, symbolReject } from '../kit/frame.js';
import { longestFirst, SymbolMap, splitByQuoteSuffix } from '../kit/symbols.js';
import type {
  ControlKind,
  FeedChannel,
  FrameClass,
  ParseOutput,
  TradeSeq,
  VenueLimits,
} from '../kit/types.js';

/**
 * Binance spot and Binance.US (same protocol, different hosts, see index.ts). Connects to the combined-stream
 * endpoint and subscribes with JSON `SUBSCRIBE`; payloads then arrive as
 * `{"stream":"btcusdt@aggTrade","data":{...}}` (raw single-stream payloads are accepted too).
 * Trades come from `aggTrade` (id = aggregate id `a`, count = l − f + 1, sequential per symbol,
 * what `/api/v3/aggTrades` serves, see history.ts); `trade` frames are understood as well (id = `t`).
 * Quotes come from `bookTicker`, which carries no event time on spot: ts = receipt time.
 * Books: `<s>@depth@100ms` diffs go to `ParseOutput.books` for the depth sync (book.ts).
 * USD-M futures (`binance-futures`) speak the same protocol with `BASE-QUOTE-PERP` symbols and
 * `"e":"bookTicker"` on their bookTicker frames.
 * Keep-alive is WS-level: the server pings every 20 s and `ws` answers with pongs.
 */

// Source: developers.binance.com/docs/binance-spot-api-docs/web-socket-streams ("WebSocket Limits");
// Binance.US documents the same numbers (docs.binance.us, WebSocket streams).
export const LIMITS: VenueLimits = {
  maxStreamsPerConnection: 1024,
  messagesPerConnection: { count: 5, perMs: 1_000 },
  connectsPerIp: { count: 300, perMs: 300_000 },
  maxConnectionAgeMs: 24 * 60 * 60 * 1_000,
  restWeightPerMin: 6_000,
  source:
    'Binance spot WebSocket Streams docs: 5 incoming msgs/s per connection (incl. ping/pong/SUBSCRIBE), 1024 streams per connection, 300 connections per 5 min per IP, 24 h connection validity; REST: 6000 request weight per minute per IP, aggTrades weight 4',
};

// Source: developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams and
// .../general-info: 10 incoming msgs/s per connection, 1024 streams, 24 h validity; REST 2400 weight/min per IP.
export const FUTURES_LIMITS: VenueLimits = {
  maxStreamsPerConnection: 1024,
  messagesPerConnection: { count: 10, perMs: 1_000 },
  connectsPerIp: { count: 300, perMs: 300_000 },
  maxConnectionAgeMs: 24 * 60 * 60 * 1_000,
  restWeightPerMin: 2_400,
  source:
    'Binance USD-M WebSocket Market Streams docs: 10 incoming msgs/s per connection, 1024 streams per connection, 24 h connection validity; REST general info: 2400 request weight per minute per IP, depth limit 1000 weight 20',
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
  ['kline', 'ignored:kline'],
  ['24hrTicker', 'ignored:ticker'],
  ['24hrMiniTicker', 'ignored:ticker'],
  ['1hTicker', 'ignored:ticker'],
  ['4hTicker', 'ignored:ticker'],
  ['1dTicker', 'ignored:ticker'],
  ['avgPrice', 'ignored:avgPrice'],
]);

const STREAM_OF: Record<FeedChannel, string> = { trades: 'aggTrade', quotes: 'bookTicker', books: 'depth@100ms' };

const PERP = '-PERP';

export class BinanceAdapter extends VenueAdapterBase {
  protected readonly symbols: SymbolMap;

  /**
   * `binance`, `binance-us` or `binance-futures`: one protocol, the id stamped on every event.
   * `perp`: the venue lists perpetuals only, so `BTCUSDT` is `BTC-USDT-PERP`.
   */
  constructor(
    readonly venue: string,
    private readonly perp = false,
  ) {
    super();
    this.symbols = new SymbolMap((s) => {
      const c = splitByQuoteSuffix(s, QUOTES);
      return c !== null && perp ? c + PERP : c;
    });
  }

  toVenueSymbol(symbol: string): string {
    return joinSymbol(this.perp && symbol.endsWith(PERP) ? symbol.slice(0, -PERP.length) : symbol, '');
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
    if (e === 'depthUpdate') return this.depth(d, at, raw, out);
    if (e === 'bookTicker') return this.bookTicker(d, at, recvTs, raw, out);
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

  /** A depth diff for the symbol's book sync; checked here, applied by the book feed. */
  private depth(d: Record<string, unknown>, at: string, raw: string, out: ParseOutput): FrameClass {
    if (!BinanceDepthUpdateCheck.Check(d)) return schemaReject(out, BinanceDepthUpdateCheck, d, at, raw);
    const symbol = this.symbols.get(d.s);
    if (symbol === null) return symbolReject(out, `${at}/s`, d.s, raw);
    out.books.push({ symbol, msg: d });
    return 'book';
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
