import { decodeKrakenV2Book, KrakenV2BookCheck } from './book-schemas.js';
import { KrakenV1SpreadCheck, KrakenV1TradeCheck, KrakenV2TickerCheck, KrakenV2TradeCheck } from './schemas.js';
import type { Trade } from '../../schemas/trade.js';
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
  secondsTextToMs,
  symbolReject,
} from '../kit/frame.js';
import { canonicalOf, SymbolMap } from '../kit/symbols.js';
import type { ControlKind, FeedChannel, FrameClass, ParseOutput, TradeSeq, VenueLimits } from '../kit/types.js';

/**
 * Kraken spot WebSocket v2 (`wss://ws.kraken.com/v2`). Trades: `trade` channel (snapshot of the
 * last 50 trades on subscribe, then updates; `side` = taker; `trade_id` sequential per pair).
 * Quotes: `ticker` with `event_trigger: "bbo"`. v2 sends decimals as JSON NUMBERS: trade and
 * ticker frames are rewritten so those fields hold their exact source text before JSON.parse.
 * Also understood: v1 positional arrays (recordings): `trade` and `spread`; v1 trades have no id,
 * so one is built deterministically (see `v1TradeId`) and is not sequential.
 * Kraken's `XBT` is `BTC` and `XDG` is `DOGE` (v1 names; v2 already says BTC/DOGE).
 */

// Source: docs.kraken.com/api/docs/guides/spot-ws-ratelimits and the v1 "General considerations":
// about 150 connection attempts per rolling 10 minutes per IP (Cloudflare), message rate is
// dynamic and answered with "Exceeded msg rate" rather than documented as a number.
export const LIMITS: VenueLimits = {
  connectsPerIp: { count: 150, perMs: 600_000 },
  source: 'Kraken spot WebSocket docs: ~150 connection attempts per rolling 10 min per IP; per-connection message rate is dynamic (not a fixed number); heartbeat every second while subscribed',
};

const CHANNEL_OF: Record<FeedChannel, string> = { trades: 'trade', quotes: 'ticker', books: 'book' };

/** Depth of the `books` channel (book.ts truncates to it): 100 serves a top-50 with room. */
export const BOOK_DEPTH = 100;
const V2_BOOK = /"channel"\s*:\s*"book"/;

/** Kraken's historic asset codes → the canonical ones. */
const ALIASES: Readonly<Record<string, string>> = { XBT: 'BTC', XDG: 'DOGE' };

const V2_DECIMALS = /"channel"\s*:\s*"(?:trade|ticker)"/;
const V2_NUMBER_FIELDS = numberFieldsPattern(['price', 'qty', 'bid', 'bid_qty', 'ask', 'ask_qty']);

const V2_IGNORED: ReadonlyMap<string, ControlKind> = new Map<string, ControlKind>([
  ['level3', 'ignored:level3'],
  ['ohlc', 'ignored:ohlc'],
  ['instrument', 'ignored:instrument'],
]);

function fromPair(pair: string): string | null {
  const slash = pair.indexOf('/');
  if (slash <= 0 || slash !== pair.lastIndexOf('/')) return null;
  const base = pair.slice(0, slash);
  const quote = pair.slice(slash + 1);
  return canonicalOf(ALIASES[base] ?? base, ALIASES[quote] ?? quote);
}

/**
 * v1 trades carry no id. The id is built from what identifies a fill in the frame, the same on
 * every connection: `<time digits>-<FNV-1a of price|volume|side|n>`, n counting earlier entries of
 * the frame with the same time/price/volume/side (two identical fills in one microsecond).
 */
function v1TradeId(time: string, price: string, volume: string, side: string, n: number): string {
  const key = `${price}|${volume}|${side}|${n}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return `${time.replace('.', '')}-${(h >>> 0).toString(16).padStart(8, '0')}`;
}

export class KrakenAdapter extends VenueAdapterBase {
  readonly venue = 'kraken';
  readonly appPing = { intervalMs: 30_000, frame: (): string => '{"method":"ping"}' };
  protected readonly symbols = new SymbolMap(fromPair);

  toVenueSymbol(symbol: string): string {
    return joinSymbol(symbol, '/');
  }

  /** One request per channel; ticker fires on best-bid/offer changes, trades come with a snapshot. */
  protected requests(method: SubscribeAction, symbols: readonly string[], channels: readonly FeedChannel[], nextReqId: () => number): string[] {
    if (symbols.length === 0) return [];
    const pairs = symbols.map((s) => {
      const vs = this.toVenueSymbol(s);
      this.symbols.learn(vs, s);
      return vs;
    });
    return channels.map((ch) => {
      const params: Record<string, unknown> = { channel: CHANNEL_OF[ch], symbol: pairs };
      if (method === 'subscribe') {
        params.snapshot = true;
        if (ch === 'quotes') params.event_trigger = 'bbo';
        if (ch === 'books') params.depth = BOOK_DEPTH;
      }
      return JSON.stringify({ method, params, req_id: nextReqId() });
    });
  }

  parseFrame(raw: string, recvTs: number, out: ParseOutput): FrameClass {
    if (V2_BOOK.test(raw)) return this.v2Book(raw, out);
    const text = V2_DECIMALS.test(raw) ? quoteNumberFields(raw, V2_NUMBER_FIELDS) : raw;
    const msg = parseJson(text, out, raw);
    if (msg === BAD_JSON) return 'reject';
    if (Array.isArray(msg)) return this.v1Channel(msg, recvTs, raw, out);
    if (!isObject(msg)) return reject(out, 'unknown-frame', '', 'neither a JSON object nor a v1 array', raw);

    const channel = msg.channel;
    if (typeof channel === 'string') {
      if (channel === 'trade') return this.v2Trade(msg, recvTs, raw, out);
      if (channel === 'ticker') return this.v2Ticker(msg, recvTs, raw, out);
      if (channel === 'heartbeat') return control(out, 'heartbeat');
      if (channel === 'status') return control(out, 'info');
      const ignored = V2_IGNORED.get(channel);
      if (ignored) return control(out, ignored);
      return reject(out, 'unknown-frame', '/channel', `unknown channel ${channel.slice(0, 40)}`, raw);
    }
    if (typeof msg.method === 'string') {
      if (msg.method === 'pong') return control(out, 'pong');
      if (msg.success === false || msg.error !== undefined) return control(out, 'venue-error');
      if (msg.method === 'subscribe' || msg.method === 'unsubscribe') return control(out, 'ack');
      return control(out, 'info');
    }
    if (typeof msg.event === 'string') return this.v1Event(msg, raw, out);
    return reject(out, 'unknown-frame', '', 'no channel, method or event', raw);
  }

  /**
   * A v2 `book` message for the pairs' book syncs: decoded so prices and quantities keep the text
   * the checksum is computed over, checked here, applied by the book feed.
   */
  private v2Book(raw: string, out: ParseOutput): FrameClass {
    let msg: unknown;
    try {
      msg = decodeKrakenV2Book(raw);
    } catch (err) {
      return reject(out, 'json', '', err instanceof Error ? err.message : 'unparseable', raw);
    }
    if (!KrakenV2BookCheck.Check(msg)) return schemaReject(out, KrakenV2BookCheck, msg, '', raw);
    for (let i = 0; i < msg.data.length; i++) {
      const d = msg.data[i]!;
      const symbol = this.symbols.get(d.symbol);
      if (symbol === null) return symbolReject(out, `/data/${i}/symbol`, d.symbol, raw);
      out.books.push({ symbol, msg: { type: msg.type, data: d } });
    }
    return 'book';
  }

  private v2Trade(msg: Record<string, unknown>, recvTs: number, raw: string, out: ParseOutput): FrameClass {
    if (!KrakenV2TradeCheck.Check(msg)) return schemaReject(out, KrakenV2TradeCheck, msg, '', raw);
    const data = msg.data;
    for (let i = 0; i < data.length; i++) {
      const t = data[i]!;
      const ts = rfc3339ToMs(t.timestamp);
      if (Number.isNaN(ts)) return dateReject(out, `/data/${i}/timestamp`, t.timestamp, raw);
      const symbol = this.symbols.get(t.symbol);
      if (symbol === null) return symbolReject(out, `/data/${i}/symbol`, t.symbol, raw);
      out.trades.push({
        venue: this.venue,
        symbol,
        venueSymbol: t.symbol,
        id: String(t.trade_id),
        price: t.price,
        qty: t.qty,
        side: t.side,
        ts,
        recvTs,
      });
    }
    return data.length > 0 ? 'data' : control(out, 'ignored:empty');
  }

  private v2Ticker(msg: Record<string, unknown>, recvTs: number, raw: string, out: ParseOutput): FrameClass {
    if (!KrakenV2TickerCheck.Check(msg)) return schemaReject(out, KrakenV2TickerCheck, msg, '', raw);
    const data = msg.data;
    const start = out.quotes.length;
    for (let i = 0; i < data.length; i++) {
      const t = data[i]!;
      const ts = t.timestamp === undefined ? recvTs : rfc3339ToMs(t.timestamp);
      if (Number.isNaN(ts)) return dateReject(out, `/data/${i}/timestamp`, t.timestamp, raw);
      const symbol = this.symbols.get(t.symbol);
      if (symbol === null) return symbolReject(out, `/data/${i}/symbol`, t.symbol, raw);
      if (isZeroDecimal(t.bid) || isZeroDecimal(t.ask)) continue;
      out.quotes.push({
        venue: this.venue,
        symbol,
        venueSymbol: t.symbol,
        bidPrice: t.bid,
        bidQty: t.bid_qty,
        askPrice: t.ask,
        askQty: t.ask_qty,
        ts,
        recvTs,
      });
    }
    if (data.length === 0) return control(out, 'ignored:empty');
    return out.quotes.length > start ? 'data' : control(out, 'ignored:book-one-sided');
  }

  /** v1 `event` objects: heartbeat, systemStatus, subscriptionStatus, pong. */
  private v1Event(msg: Record<string, unknown>, raw: string, out: ParseOutput): FrameClass {
    switch (msg.event) {
      case 'heartbeat':
        return control(out, 'heartbeat');
      case 'pong':
        return control(out, 'pong');
      case 'systemStatus':
        return control(out, 'info');
      case 'subscriptionStatus':
        if (msg.status === 'subscribed') return control(out, 'subscribed');
        if (msg.status === 'unsubscribed') return control(out, 'unsubscribed');
        return control(out, 'venue-error');
      case 'error':
        return control(out, 'venue-error');
      default:
        return reject(out, 'unknown-frame', '/event', `unknown event ${String(msg.event).slice(0, 40)}`, raw);
    }
  }

  /** v1 arrays: `[channelID, payload..., channelName, pair]`. */
  private v1Channel(msg: unknown[], recvTs: number, raw: string, out: ParseOutput): FrameClass {
    const name = msg[msg.length - 2];
    if (name === 'trade') return this.v1Trade(msg, recvTs, raw, out);
    if (name === 'spread') return this.v1Spread(msg, recvTs, raw, out);
    if (typeof name === 'string') {
      if (name.startsWith('book')) return control(out, 'ignored:book');
      if (name.startsWith('ohlc')) return control(out, 'ignored:ohlc');
      if (name === 'ticker') return control(out, 'ignored:ticker');
    }
    return reject(out, 'unknown-frame', `/${Math.max(0, msg.length - 2)}`, 'unknown v1 channel', raw);
  }

  private v1Trade(msg: unknown[], recvTs: number, raw: string, out: ParseOutput): FrameClass {
    if (!KrakenV1TradeCheck.Check(msg)) return schemaReject(out, KrakenV1TradeCheck, msg, '', raw);
    const [, entries, , pair] = msg;
    const symbol = this.symbols.get(pair);
    if (symbol === null) return symbolReject(out, '/3', pair, raw);
    for (let i = 0; i < entries.length; i++) {
      const [price, volume, time, side] = entries[i]!;
      let n = 0;
      for (let j = 0; j < i; j++) {
        const e = entries[j]!;
        if (e[0] === price && e[1] === volume && e[2] === time && e[3] === side) n++;
      }
      out.trades.push({
        venue: this.venue,
        symbol,
        venueSymbol: pair,
        id: v1TradeId(time, price, volume, side, n),
        price,
        qty: volume,
        side: side === 'b' ? 'buy' : 'sell',
        ts: secondsTextToMs(time),
        recvTs,
      });
    }
    return entries.length > 0 ? 'data' : control(out, 'ignored:empty');
  }

  private v1Spread(msg: unknown[], recvTs: number, raw: string, out: ParseOutput): FrameClass {
    if (!KrakenV1SpreadCheck.Check(msg)) return schemaReject(out, KrakenV1SpreadCheck, msg, '', raw);
    const [, [bid, ask, time, bidQty, askQty], , pair] = msg;
    const symbol = this.symbols.get(pair);
    if (symbol === null) return symbolReject(out, '/3', pair, raw);
    // An empty side (v1 sends an all-zero spread, dated 1970, when the book is empty) is not a quote.
    if (isZeroDecimal(bid) || isZeroDecimal(ask)) return control(out, 'ignored:book-one-sided');
    out.quotes.push({
      venue: this.venue,
      symbol,
      venueSymbol: pair,
      bidPrice: bid,
      bidQty,
      askPrice: ask,
      askQty,
      ts: secondsTextToMs(time),
      recvTs,
    });
    return 'data';
  }

  /** v2 trade ids are sequential per pair; v1 synthetic ids are not numbers and yield null. */
  tradeSeq(trade: Trade): TradeSeq | null {
    if (!/^[0-9]{1,15}$/.test(trade.id)) return null;
    const n = Number(trade.id);
    return { first: n, last: n };
  }
}
