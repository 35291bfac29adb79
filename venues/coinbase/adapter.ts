import { CoinbaseL2DataCheck, CoinbaseSequencedCheck } from './book-schemas.js';
import { CoinbaseMatchCheck, CoinbaseTickerCheck } from './schemas.js';
import type { Trade } from '../../schemas/trade.js';
import { joinSymbol, VenueAdapterBase, type SubscribeAction } from '../kit/adapter.js';
import { BAD_JSON, control, dateReject, isObject, parseJson, reject, rfc3339ToMs, schemaReject, symbolReject } from '../kit/frame.js';
import { isCanonical, SymbolMap } from '../kit/symbols.js';
import type { ControlKind, FeedChannel, FrameClass, ParseOutput, TradeSeq, VenueLimits } from '../kit/types.js';

/**
 * Coinbase Exchange feed. Trades: `match` and `last_match` (the last trade, sent once on
 * subscribing); `side` there is the MAKER's side, so the taker side is its opposite. trade_id is
 * sequential per product. Quotes: `ticker` best bid/ask with sizes; captures from before sizes
 * existed are classified `ignored:ticker-without-sizes` rather than given a made-up quantity.
 * Liveness: the `heartbeat` channel (one per product per second), subscribed with the data.
 * Books: Advanced Trade `level2` (pushed as `l2_data`) with `heartbeats`, on connections of their
 * own (their `sequence_num` counts every message of the connection; book.ts checks it). Every
 * Advanced Trade message goes to `ParseOutput.books` for that check.
 */

// Source: docs.cdp.coinbase.com/exchange/websocket-feed/rate-limits ("Limits", "Subscription Limits").
export const LIMITS: VenueLimits = {
  connectsPerIp: { count: 8, perMs: 1_000 },
  messagesPerIp: { count: 100, perMs: 1_000 },
  source: 'Coinbase Exchange WebSocket rate limits: 8 requests/s per IP (bursts to 20), 100 client messages/s per IP, 10 subscriptions per product per channel',
};

const CHANNEL_OF: Record<FeedChannel, string> = { trades: 'matches', quotes: 'ticker', books: 'level2' };

/** Message types we receive but do not consume. */
const IGNORED_TYPES: ReadonlyMap<string, ControlKind> = new Map<string, ControlKind>([
  ['snapshot', 'ignored:level2'],
  ['l2update', 'ignored:level2'],
  ['received', 'ignored:full'],
  ['open', 'ignored:full'],
  ['done', 'ignored:full'],
  ['change', 'ignored:full'],
  ['activate', 'ignored:full'],
  ['ticker_batch', 'ignored:ticker_batch'],
  ['status', 'ignored:status'],
  ['auction', 'ignored:auction'],
  ['rfq_match', 'ignored:rfq_match'],
]);

export class CoinbaseAdapter extends VenueAdapterBase {
  readonly venue = 'coinbase';
  protected readonly symbols = new SymbolMap((s) => (isCanonical(s) ? s : null));

  toVenueSymbol(symbol: string): string {
    return joinSymbol(symbol, '-');
  }

  /** No request ids in this protocol; heartbeat rides along so the watchdog hears every product. */
  protected requests(type: SubscribeAction, symbols: readonly string[], channels: readonly FeedChannel[]): string[] {
    if (symbols.length === 0 || channels.length === 0) return [];
    const productIds = symbols.map((s) => this.toVenueSymbol(s));
    const exchange = channels.filter((c) => c !== 'books');
    const frames = exchange.length > 0 ? [JSON.stringify({ type, product_ids: productIds, channels: [...exchange.map((c) => CHANNEL_OF[c]), 'heartbeat'] })] : [];
    if (channels.includes('books')) {
      // Advanced Trade: one channel per request; heartbeats stay on (they carry the sequence and keep the socket open)
      frames.push(JSON.stringify({ type, product_ids: productIds, channel: CHANNEL_OF.books }));
      if (type === 'subscribe') frames.push(JSON.stringify({ type, channel: 'heartbeats' }));
    }
    return frames;
  }

  parseFrame(raw: string, recvTs: number, out: ParseOutput): FrameClass {
    const msg = parseJson(raw, out);
    if (msg === BAD_JSON) return 'reject';
    if (!isObject(msg)) return reject(out, 'unknown-frame', '', 'not a JSON object', raw);
    if (typeof msg.channel === 'string') return this.advancedTrade(msg, raw, out);
    const type = msg.type;
    if (type === 'match' || type === 'last_match') return this.match(msg, recvTs, raw, out);
    if (type === 'ticker') return this.ticker(msg, recvTs, raw, out);
    if (type === 'heartbeat') return control(out, 'heartbeat');
    if (type === 'subscriptions') return control(out, 'subscribed');
    if (type === 'error') return control(out, 'venue-error');
    const ignored = typeof type === 'string' ? IGNORED_TYPES.get(type) : undefined;
    if (ignored) return control(out, ignored);
    return reject(out, 'unknown-frame', '/type', `unknown message type ${String(type).slice(0, 40)}`, raw);
  }

  private match(msg: Record<string, unknown>, recvTs: number, raw: string, out: ParseOutput): FrameClass {
    if (!CoinbaseMatchCheck.Check(msg)) return schemaReject(out, CoinbaseMatchCheck, msg, '', raw);
    const ts = rfc3339ToMs(msg.time);
    if (Number.isNaN(ts)) return dateReject(out, '/time', msg.time, raw);
    const symbol = this.symbols.get(msg.product_id);
    if (symbol === null) return symbolReject(out, '/product_id', msg.product_id, raw);
    out.trades.push({
      venue: this.venue,
      symbol,
      venueSymbol: msg.product_id,
      id: String(msg.trade_id),
      price: msg.price,
      qty: msg.size,
      side: msg.side === 'buy' ? 'sell' : 'buy',
      ts,
      recvTs,
    });
    return 'data';
  }

  /**
   * Advanced Trade (the book connections): `l2_data` for the product syncs; every other channel's
   * `sequence_num` also goes to the book router, which checks the connection-wide counter.
   */
  private advancedTrade(msg: Record<string, unknown>, raw: string, out: ParseOutput): FrameClass {
    if (msg.channel === 'l2_data') {
      if (!CoinbaseL2DataCheck.Check(msg)) return schemaReject(out, CoinbaseL2DataCheck, msg, '', raw);
      for (let i = 0; i < msg.events.length; i++) {
        const id = msg.events[i]!.product_id;
        if (this.symbols.get(id) === null) return symbolReject(out, `/events/${i}/product_id`, id, raw);
      }
      out.books.push({ symbol: null, msg });
      return 'book';
    }
    if (!CoinbaseSequencedCheck.Check(msg)) return schemaReject(out, CoinbaseSequencedCheck, msg, '', raw);
    out.books.push({ symbol: null, msg: { sequence_num: msg.sequence_num } });
    if (msg.channel === 'heartbeats') return control(out, 'heartbeat');
    if (msg.channel === 'subscriptions') return control(out, 'subscribed');
    return control(out, 'info');
  }

  private ticker(msg: Record<string, unknown>, recvTs: number, raw: string, out: ParseOutput): FrameClass {
    if (!CoinbaseTickerCheck.Check(msg)) return schemaReject(out, CoinbaseTickerCheck, msg, '', raw);
    if (msg.best_bid_size === undefined || msg.best_ask_size === undefined) return control(out, 'ignored:ticker-without-sizes');
    const ts = msg.time === undefined ? recvTs : rfc3339ToMs(msg.time);
    if (Number.isNaN(ts)) return dateReject(out, '/time', msg.time, raw);
    const symbol = this.symbols.get(msg.product_id);
    if (symbol === null) return symbolReject(out, '/product_id', msg.product_id, raw);
    out.quotes.push({
      venue: this.venue,
      symbol,
      venueSymbol: msg.product_id,
      bidPrice: msg.best_bid,
      bidQty: msg.best_bid_size,
      askPrice: msg.best_ask,
      askQty: msg.best_ask_size,
      ...(msg.sequence !== undefined ? { updateId: String(msg.sequence) } : {}),
      ts,
      recvTs,
    });
    return 'data';
  }

  tradeSeq(trade: Trade): TradeSeq | null {
    const n = Number(trade.id);
    return Number.isSafeInteger(n) ? { first: n, last: n } : null;
  }
}
