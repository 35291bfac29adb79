import { OkxBooksCheck } from './book-schemas.js';
import { OkxBboCheck, OkxTickersCheck, OkxTradesCheck } from './schemas.js';
import type { Trade } from '../../schemas/trade.js';
import { joinSymbol, VenueAdapterBase, type SubscribeAction } from '../kit/adapter.js';
import { BAD_JSON, control, isObject, parseJson, reject, schemaReject, symbolReject } from '../kit/frame.js';
import { isCanonical, SymbolMap } from '../kit/symbols.js';
import type { ControlKind, FeedChannel, FrameClass, ParseOutput, TradeSeq, VenueLimits } from '../kit/types.js';

/**
 * OKX v5 public. Trades: `trades` (`side` = taker; `tradeId` sequential per instrument; newer
 * feeds aggregate fills of one taker order into one push with `count`, `tradeId` being the last
 * of them). Quotes: `bbo-tbt` (tick-by-tick best bid/offer); `tickers` frames are understood too.
 * Only spot instruments (`BASE-QUOTE`) map to canonical symbols: swaps and futures
 * (`BTC-USD-SWAP`, `BTC-USD-220527`) are not `BASE-QUOTE` and are classified
 * `ignored:unsupported-instrument`. Keep-alive: text `ping` → `pong` well within 30 s.
 */

// Source: okx.com/docs-v5/en/#overview-websocket-connect ("Connection limit: 3 requests per second
// (based on IP)", "subscribe/unsubscribe/login: 480 times per hour per connection", "total length of
// multiple channels cannot exceed 64 KB", "no data for 30 s disconnects; send 'ping'").
export const LIMITS: VenueLimits = {
  connectsPerIp: { count: 3, perMs: 1_000 },
  subscribesPerConnection: { count: 480, perMs: 3_600_000 },
  idleTimeoutMs: 30_000,
  source: 'OKX v5 WebSocket overview: 3 connection requests/s per IP, 480 subscribe/unsubscribe/login requests per hour per connection, request args ≤ 64 KB, idle cut-off 30 s',
};

/** The request size cap (64 KB) expressed in characters, with headroom. */
const MAX_REQUEST_CHARS = 60_000;

const CHANNEL_OF: Record<FeedChannel, string> = { trades: 'trades', quotes: 'bbo-tbt', books: 'books' };

const IGNORED_EVENTS: ReadonlyMap<string, ControlKind> = new Map<string, ControlKind>([
  ['subscribe', 'ack'],
  ['unsubscribe', 'ack'],
  ['error', 'venue-error'],
  ['channel-conn-count-error', 'venue-error'],
  ['notice', 'info'],
  ['channel-conn-count', 'info'],
  ['login', 'info'],
]);

/** Channels we receive but do not consume, by name prefix (books, books5, books-l2-tbt, candle1m, ...). */
const IGNORED_CHANNEL_PREFIXES: readonly [string, ControlKind][] = [
  ['books', 'ignored:books'],
  ['candle', 'ignored:candle'],
  ['mark-price', 'ignored:mark-price'],
  ['index-', 'ignored:index'],
  ['funding-rate', 'ignored:funding-rate'],
  ['open-interest', 'ignored:open-interest'],
  ['price-limit', 'ignored:price-limit'],
  ['liquidation-orders', 'ignored:liquidation-orders'],
  ['instruments', 'ignored:instruments'],
  ['status', 'ignored:status'],
];

export class OkxAdapter extends VenueAdapterBase {
  readonly venue = 'okx';
  readonly appPing = { intervalMs: 20_000, frame: (): string => 'ping' };
  protected readonly symbols = new SymbolMap((s) => (isCanonical(s) ? s : null));

  toVenueSymbol(symbol: string): string {
    return joinSymbol(symbol, '-');
  }

  /** As few requests as the 64 KB cap allows: each request spends one of 480 per hour. */
  protected requests(op: SubscribeAction, symbols: readonly string[], channels: readonly FeedChannel[], nextReqId: () => number): string[] {
    const frames: string[] = [];
    let args: { channel: string; instId: string }[] = [];
    let size = 0;
    const flush = (): void => {
      if (args.length > 0) frames.push(JSON.stringify({ id: String(nextReqId()), op, args }));
      args = [];
      size = 0;
    };
    for (const symbol of symbols) {
      const instId = this.toVenueSymbol(symbol);
      for (const ch of channels) {
        const arg = { channel: CHANNEL_OF[ch], instId };
        const len = JSON.stringify(arg).length + 1;
        if (size + len > MAX_REQUEST_CHARS) flush();
        args.push(arg);
        size += len;
      }
    }
    flush();
    return frames;
  }

  parseFrame(raw: string, recvTs: number, out: ParseOutput): FrameClass {
    if (raw === 'pong') return control(out, 'pong');
    const msg = parseJson(raw, out);
    if (msg === BAD_JSON) return 'reject';
    if (!isObject(msg)) return reject(out, 'unknown-frame', '', 'not a JSON object', raw);

    if (typeof msg.event === 'string') {
      const kind = IGNORED_EVENTS.get(msg.event);
      return kind ? control(out, kind) : reject(out, 'unknown-frame', '/event', `unknown event ${msg.event.slice(0, 40)}`, raw);
    }
    const arg = msg.arg;
    if (!isObject(arg) || typeof arg.channel !== 'string') return reject(out, 'unknown-frame', '/arg', 'push without arg.channel', raw);
    const channel = arg.channel;
    if (channel === 'trades') return this.trades(msg, recvTs, raw, out);
    if (channel === 'bbo-tbt') return this.bbo(msg, recvTs, raw, out);
    if (channel === 'tickers') return this.tickers(msg, recvTs, raw, out);
    if (channel === 'books') return this.books(msg, raw, out);
    for (const [prefix, kind] of IGNORED_CHANNEL_PREFIXES) if (channel.startsWith(prefix)) return control(out, kind);
    return reject(out, 'unknown-frame', '/arg/channel', `unknown channel ${channel.slice(0, 40)}`, raw);
  }

  /** Spot instIds are `BASE-QUOTE`; anything with more parts is a derivative we do not map. */
  private static isSpot(instId: string): boolean {
    return instId.indexOf('-') === instId.lastIndexOf('-');
  }

  /** The instruments whose `books` this adapter maps: spot here, swaps on the swap book connections (book.ts). */
  protected booksOf(instId: string): boolean {
    return OkxAdapter.isSpot(instId);
  }

  private trades(msg: Record<string, unknown>, recvTs: number, raw: string, out: ParseOutput): FrameClass {
    if (!OkxTradesCheck.Check(msg)) return schemaReject(out, OkxTradesCheck, msg, '', raw);
    const data = msg.data;
    const first = data[0];
    if (!first) return control(out, 'ignored:empty');
    if (!OkxAdapter.isSpot(msg.arg.instId ?? first.instId)) return control(out, 'ignored:unsupported-instrument');
    for (let i = 0; i < data.length; i++) {
      const t = data[i]!;
      const symbol = this.symbols.get(t.instId);
      if (symbol === null) return symbolReject(out, `/data/${i}/instId`, t.instId, raw);
      const trade: Trade = {
        venue: this.venue,
        symbol,
        venueSymbol: t.instId,
        id: t.tradeId,
        price: t.px,
        qty: t.sz,
        side: t.side,
        ts: Number(t.ts),
        recvTs,
      };
      if (t.count !== undefined) trade.count = Number(t.count);
      out.trades.push(trade);
    }
    return 'data';
  }

  private bbo(msg: Record<string, unknown>, recvTs: number, raw: string, out: ParseOutput): FrameClass {
    if (!OkxBboCheck.Check(msg)) return schemaReject(out, OkxBboCheck, msg, '', raw);
    const instId = msg.arg.instId;
    if (!OkxAdapter.isSpot(instId)) return control(out, 'ignored:unsupported-instrument');
    const symbol = this.symbols.get(instId);
    if (symbol === null) return symbolReject(out, '/arg/instId', instId, raw);
    const start = out.quotes.length;
    for (const d of msg.data) {
      const bid = d.bids[0];
      const ask = d.asks[0];
      if (!bid || !ask) continue;
      out.quotes.push({
        venue: this.venue,
        symbol,
        venueSymbol: instId,
        bidPrice: bid[0],
        bidQty: bid[1],
        askPrice: ask[0],
        askQty: ask[1],
        ...(d.seqId !== undefined ? { updateId: String(d.seqId) } : {}),
        ts: Number(d.ts),
        recvTs,
      });
    }
    return out.quotes.length > start ? 'data' : control(out, 'ignored:book-one-sided');
  }

  /** A `books` snapshot or update for the instrument's book sync; checked here, applied by the book feed. */
  private books(msg: Record<string, unknown>, raw: string, out: ParseOutput): FrameClass {
    if (!OkxBooksCheck.Check(msg)) return schemaReject(out, OkxBooksCheck, msg, '', raw);
    const instId = msg.arg.instId;
    if (!this.booksOf(instId)) return control(out, 'ignored:unsupported-instrument');
    const symbol = this.symbols.get(instId);
    if (symbol === null) return symbolReject(out, '/arg/instId', instId, raw);
    out.books.push({ symbol, msg });
    return 'book';
  }

  private tickers(msg: Record<string, unknown>, recvTs: number, raw: string, out: ParseOutput): FrameClass {
    if (!OkxTickersCheck.Check(msg)) return schemaReject(out, OkxTickersCheck, msg, '', raw);
    const data = msg.data;
    const first = data[0];
    if (!first) return control(out, 'ignored:empty');
    if (!OkxAdapter.isSpot(msg.arg.instId ?? first.instId)) return control(out, 'ignored:unsupported-instrument');
    const start = out.quotes.length;
    for (let i = 0; i < data.length; i++) {
      const t = data[i]!;
      const symbol = this.symbols.get(t.instId);
      if (symbol === null) return symbolReject(out, `/data/${i}/instId`, t.instId, raw);
      if (t.bidPx === '' || t.bidSz === '' || t.askPx === '' || t.askSz === '') continue;
      out.quotes.push({
        venue: this.venue,
        symbol,
        venueSymbol: t.instId,
        bidPrice: t.bidPx,
        bidQty: t.bidSz,
        askPrice: t.askPx,
        askQty: t.askSz,
        ts: Number(t.ts),
        recvTs,
      });
    }
    return out.quotes.length > start ? 'data' : control(out, 'ignored:book-one-sided');
  }

  /** `tradeId` is the last id of `count` aggregated fills. */
  tradeSeq(trade: Trade): TradeSeq | null {
    const last = Number(trade.id);
    if (!Number.isSafeInteger(last)) return null;
    return { first: last - (trade.count ?? 1) + 1, last };
  }
}
