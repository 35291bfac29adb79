import { BybitOrderbookCheck, BybitPublicTradeCheck, BybitV2TradeCheck, type BybitOrderbook } from './schemas.js';
import { joinSymbol, VenueAdapterBase, type SubscribeAction } from '../kit/adapter.js';
import {
  BAD_JSON,
  control,
  dateReject,
  isObject,
  isZeroDecimal,
  numberFieldsPattern,
  parseJson,
  quoteNumberFields,
  reject,
  rfc3339ToMs,
  schemaReject,
  symbolReject,
} from '../kit/frame.js';
import { longestFirst, SymbolMap, splitByQuoteSuffix } from '../kit/symbols.js';
import type { ControlKind, FeedChannel, FrameClass, ParseOutput, VenueLimits } from '../kit/types.js';

/**
 * Bybit v5 public streams (spot `/v5/public/spot` by default; linear via `BYBIT_WS_URL`).
 * Trades: `publicTrade.<S>` (`S` = taker side, id `i`: digits on spot, UUID on linear, so ids
 * are NOT sequential and the adapter has no `tradeSeq`). Quotes: `orderbook.1.<S>`; Bybit sends
 * depth 1 as snapshots only, but deltas are applied too, which is why an instance keeps the last
 * best bid/ask per symbol (one instance per connection). Keep-alive: `{"op":"ping"}` every 20 s.
 * Also understood: the older v2 `realtime_public` `trade.<S>` topic of recordings, whose `size`
 * (and on inverse `price`) are JSON numbers, rewritten to their exact text before parsing.
 */

// Source: bybit-exchange.github.io/docs/v5/ws/connect ("How to Send the Heartbeat Packet",
// "Connection limit": ≤500 connections per 5 min per IP and per market; spot: ≤10 args per
// subscription request; no ping/pong and no data for 10 min closes the connection).
export const LIMITS: VenueLimits = {
  maxArgsPerRequest: 10,
  connectsPerIp: { count: 500, perMs: 300_000 },
  idleTimeoutMs: 600_000,
  source: 'Bybit v5 WebSocket Connect docs: 500 connections per 5 min per IP (per market), spot max 10 args per subscribe request, ping every 20 s recommended, idle cut-off 10 min',
};

const QUOTES = longestFirst(['USDT', 'USDC', 'USDE', 'USD', 'EUR', 'BRL', 'TRY', 'PLN', 'BRZ', 'BTC', 'ETH', 'DAI', 'MNT']);

/** Topic prefixes we receive but do not consume. */
const IGNORED_TOPICS: ReadonlyMap<string, ControlKind> = new Map<string, ControlKind>([
  ['orderBookL2_25', 'ignored:orderBookL2'],
  ['orderBookL2_200', 'ignored:orderBookL2'],
  ['orderBook_200', 'ignored:orderBookL2'],
  ['tickers', 'ignored:tickers'],
  ['kline', 'ignored:kline'],
  ['candle', 'ignored:kline'],
  ['liquidation', 'ignored:liquidation'],
  ['allLiquidation', 'ignored:liquidation'],
  ['instrument_info', 'ignored:instrument_info'],
  ['insurance', 'ignored:insurance'],
]);

/** Book depth of the `books` channel: 50 levels every 20 ms on spot and linear (book.ts). */
export const BOOK_DEPTH = 50;
const TOPIC_OF: Record<FeedChannel, string> = { trades: 'publicTrade', quotes: 'orderbook.1', books: `orderbook.${BOOK_DEPTH}` };
const BOOK_TOPIC = `orderbook.${BOOK_DEPTH}.`;

/** v2 trade frames carry JSON-number decimals; only they get the exact-text rewrite. */
const V2_TRADE_TOPIC = /"topic"\s*:\s*"trade\./;
const V2_NUMBER_FIELDS = numberFieldsPattern(['price', 'size']);

interface Best {
  bidPrice: string | null;
  bidQty: string;
  askPrice: string | null;
  askQty: string;
}

export class BybitAdapter extends VenueAdapterBase {
  readonly venue = 'bybit';
  readonly appPing = { intervalMs: 20_000, frame: (): string => '{"op":"ping"}' };
  protected readonly symbols = new SymbolMap((s) => splitByQuoteSuffix(s, QUOTES));
  /** Last best bid/ask per venue symbol (depth-1 book state). */
  private readonly books = new Map<string, Best>();

  toVenueSymbol(symbol: string): string {
    return joinSymbol(symbol, '');
  }

  override unsubscribeFrames(symbols: readonly string[], channels: readonly FeedChannel[], nextReqId: () => number): string[] {
    for (const s of symbols) this.books.delete(this.toVenueSymbol(s));
    return super.unsubscribeFrames(symbols, channels, nextReqId);
  }

  protected requests(op: SubscribeAction, symbols: readonly string[], channels: readonly FeedChannel[], nextReqId: () => number): string[] {
    const args: string[] = [];
    for (const symbol of symbols) {
      const vs = this.toVenueSymbol(symbol);
      this.symbols.learn(vs, symbol);
      for (const ch of channels) args.push(`${TOPIC_OF[ch]}.${vs}`);
    }
    const frames: string[] = [];
    for (let i = 0; i < args.length; i += LIMITS.maxArgsPerRequest!) {
      frames.push(JSON.stringify({ op, args: args.slice(i, i + LIMITS.maxArgsPerRequest!), req_id: String(nextReqId()) }));
    }
    return frames;
  }

  parseFrame(raw: string, recvTs: number, out: ParseOutput): FrameClass {
    const text = V2_TRADE_TOPIC.test(raw) ? quoteNumberFields(raw, V2_NUMBER_FIELDS) : raw;
    const msg = parseJson(text, out, raw);
    if (msg === BAD_JSON) return 'reject';
    if (!isObject(msg)) return reject(out, 'unknown-frame', '', 'not a JSON object', raw);

    const topic = msg.topic;
    if (typeof topic === 'string') {
      const dot = topic.indexOf('.');
      const head = dot < 0 ? topic : topic.slice(0, dot);
      if (head === 'publicTrade') return this.publicTrade(msg, recvTs, raw, out);
      if (head === 'orderbook') {
        if (topic.startsWith(BOOK_TOPIC)) return this.depth(msg, raw, out);
        if (!topic.startsWith('orderbook.1.')) return control(out, 'ignored:orderbook');
        return this.orderbook(msg, recvTs, raw, out);
      }
      if (head === 'trade') return this.v2Trade(msg, recvTs, raw, out);
      const ignored = IGNORED_TOPICS.get(head);
      if (ignored) return control(out, ignored);
      return reject(out, 'unknown-frame', '/topic', `unknown topic ${topic.slice(0, 60)}`, raw);
    }
    if (typeof msg.success === 'boolean' || typeof msg.op === 'string') return this.reply(msg, out);
    return reject(out, 'unknown-frame', '', 'neither a topic push nor an op reply', raw);
  }

  /** Replies: v5 `{"success":true,"ret_msg":"","op":"subscribe",...}`, v2 `{"success":true,"request":{"op":..}}`, pongs. */
  private reply(msg: Record<string, unknown>, out: ParseOutput): FrameClass {
    const op = typeof msg.op === 'string' ? msg.op : isObject(msg.request) ? msg.request.op : undefined;
    if (op === 'ping' || op === 'pong' || msg.ret_msg === 'pong') return control(out, 'pong');
    if (msg.success === false) return control(out, 'venue-error');
    if (op === 'subscribe' || op === 'unsubscribe') return control(out, 'ack');
    return control(out, 'info');
  }

  private publicTrade(msg: Record<string, unknown>, recvTs: number, raw: string, out: ParseOutput): FrameClass {
    if (!BybitPublicTradeCheck.Check(msg)) return schemaReject(out, BybitPublicTradeCheck, msg, '', raw);
    const data = msg.data;
    for (let i = 0; i < data.length; i++) {
      const t = data[i]!;
      const symbol = this.symbols.get(t.s);
      if (symbol === null) return symbolReject(out, `/data/${i}/s`, t.s, raw);
      out.trades.push({
        venue: this.venue,
        symbol,
        venueSymbol: t.s,
        id: t.i,
        price: t.p,
        qty: t.v,
        side: t.S === 'Buy' ? 'buy' : 'sell',
        ts: t.T,
        recvTs,
      });
    }
    return data.length > 0 ? 'data' : control(out, 'ignored:empty');
  }

  private v2Trade(msg: Record<string, unknown>, recvTs: number, raw: string, out: ParseOutput): FrameClass {
    if (!BybitV2TradeCheck.Check(msg)) return schemaReject(out, BybitV2TradeCheck, msg, '', raw);
    const data = msg.data;
    for (let i = 0; i < data.length; i++) {
      const t = data[i]!;
      const ts = t.trade_time_ms !== undefined ? Number(t.trade_time_ms) : rfc3339ToMs(t.timestamp);
      if (Number.isNaN(ts)) return dateReject(out, `/data/${i}/timestamp`, t.timestamp, raw);
      const symbol = this.symbols.get(t.symbol);
      if (symbol === null) return symbolReject(out, `/data/${i}/symbol`, t.symbol, raw);
      out.trades.push({
        venue: this.venue,
        symbol,
        venueSymbol: t.symbol,
        id: t.trade_id,
        price: t.price,
        qty: t.size,
        side: t.side === 'Buy' ? 'buy' : 'sell',
        ts,
        recvTs,
      });
    }
    return data.length > 0 ? 'data' : control(out, 'ignored:empty');
  }

  /** An `orderbook.50` snapshot or delta for the symbol's book sync; checked here, applied by the book feed. */
  private depth(msg: Record<string, unknown>, raw: string, out: ParseOutput): FrameClass {
    if (!BybitOrderbookCheck.Check(msg)) return schemaReject(out, BybitOrderbookCheck, msg, '', raw);
    const symbol = this.symbols.get(msg.data.s);
    if (symbol === null) return symbolReject(out, '/data/s', msg.data.s, raw);
    out.books.push({ symbol, msg });
    return 'book';
  }

  private orderbook(msg: Record<string, unknown>, recvTs: number, raw: string, out: ParseOutput): FrameClass {
    if (!BybitOrderbookCheck.Check(msg)) return schemaReject(out, BybitOrderbookCheck, msg, '', raw);
    const d = msg.data;
    const symbol = this.symbols.get(d.s);
    if (symbol === null) return symbolReject(out, '/data/s', d.s, raw);
    const best = this.applyBook(msg);
    if (best.bidPrice === null || best.askPrice === null) return control(out, 'ignored:book-one-sided');
    out.quotes.push({
      venue: this.venue,
      symbol,
      venueSymbol: d.s,
      bidPrice: best.bidPrice,
      bidQty: best.bidQty,
      askPrice: best.askPrice,
      askQty: best.askQty,
      updateId: String(d.u),
      ts: msg.ts,
      recvTs,
    });
    return 'data';
  }

  /** Depth 1: a snapshot replaces both sides; a delta level with size 0 removes the best, else replaces it. */
  private applyBook(msg: BybitOrderbook): Best {
    const d = msg.data;
    let best = this.books.get(d.s);
    if (!best || msg.type === 'snapshot') {
      best = { bidPrice: null, bidQty: '0', askPrice: null, askQty: '0' };
      this.books.set(d.s, best);
    }
    if (msg.type === 'snapshot') {
      const b = d.b[0];
      const a = d.a[0];
      if (b && !isZeroDecimal(b[1])) [best.bidPrice, best.bidQty] = b;
      if (a && !isZeroDecimal(a[1])) [best.askPrice, best.askQty] = a;
      return best;
    }
    for (const [px, qty] of d.b) {
      if (!isZeroDecimal(qty)) [best.bidPrice, best.bidQty] = [px, qty];
      else if (px === best.bidPrice) best.bidPrice = null;
    }
    for (const [px, qty] of d.a) {
      if (!isZeroDecimal(qty)) [best.askPrice, best.askQty] = [px, qty];
      else if (px === best.askPrice) best.askPrice = null;
    }
    return best;
  }
}
