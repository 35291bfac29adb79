import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { TickworkError } from '../../runtime/errors.js';
import type { Trade } from '../../schemas/trade.js';
import { secondsTextToMs } from '../kit/frame.js';
import { SafeId, VenueDecimal } from '../kit/raw.js';
import type { RestTrades } from '../kit/types.js';

/** A row of `GET /0/public/Trades`: [price, volume, time (s), side b|s, type m|l, misc, trade_id]. */
const KrakenRestTrade = Type.Tuple([
  VenueDecimal,
  VenueDecimal,
  Type.Number({ minimum: 0 }),
  Type.Union([Type.Literal('b'), Type.Literal('s')]),
  Type.String(),
  Type.String(),
  SafeId,
]);
const KrakenRestTrades = Type.Object({
  error: Type.Array(Type.String()),
  result: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(KrakenRestTrade, { maxItems: 1000 })]))),
});
const KrakenRestTradesCheck = TypeCompiler.Compile(KrakenRestTrades);

/** Nanoseconds since the epoch, as Kraken's `since` takes them, of the millisecond before `ms`. */
const sinceBefore = (ms: number): string => `${Math.max(0, ms - 1)}000000`;

/** `BTC/USD` (v2 WebSocket) → `XBTUSD`, the REST pair name Kraken has always accepted. */
const restPair = (venueSymbol: string): string => {
  const [base = '', quote = ''] = venueSymbol.split('/');
  return `${base === 'BTC' ? 'XBT' : base === 'DOGE' ? 'XDG' : base}${quote}`;
};

/**
 * Kraken `GET /0/public/Trades?pair=&since=&count=`: up to 1000 trades since a time (ns),
 * oldest first, the whole history back; public calls are limited to about one per second.
 * Trade ids are sequential per pair, but the endpoint pages by time: gap filling asks from just
 * before the last trade seen and skips what it already has.
 */
export const publicTrades: RestTrades = {
  maxPerRequest: 1000,
  weight: 1,
  rate: { count: 1, perMs: 1_000 },
  // Always a full page: trades of the same millisecond as `sinceTs` come first and would use up a small count.
  path: (pair, _fromId, _limit, sinceTs) =>
    `/0/public/Trades?pair=${encodeURIComponent(restPair(pair))}&count=1000${sinceTs !== undefined ? `&since=${sinceBefore(sinceTs)}` : ''}`,
  parse(body, like, recvTs) {
    const msg: unknown = JSON.parse(body);
    if (!KrakenRestTradesCheck.Check(msg)) {
      const e = KrakenRestTradesCheck.Errors(msg).First();
      throw new TickworkError('VENUE_RESPONSE_INVALID', `kraken Trades response invalid at ${e?.path ?? ''}: ${e?.message ?? 'unknown'}`);
    }
    if (msg.error.length > 0 || !msg.result) throw new TickworkError('VENUE_RESPONSE_INVALID', `kraken Trades answered ${msg.error.join('; ').slice(0, 200) || 'no result'}`);
    const rows = Object.entries(msg.result).find(([k, v]) => k !== 'last' && Array.isArray(v))?.[1];
    if (!Array.isArray(rows)) return [];
    return rows.map(([price, qty, time, side, , , id]) => ({
      venue: like.venue,
      symbol: like.symbol,
      venueSymbol: like.venueSymbol,
      id: String(id),
      price,
      qty,
      side: side === 'b' ? 'buy' : 'sell',
      ts: secondsTextToMs(String(time)),
      recvTs,
    }));
  },
  // Forward by time from just before the range; each next page from just before the last trade read.
  async *range(get, like, fromMs, toMs) {
    let since = fromMs;
    let lastId = -1;
    for (;;) {
      const { body, recvTs } = await get(this.path(like.venueSymbol, 0, this.maxPerRequest, since));
      const page = this.parse(body, like, recvTs);
      const out: Trade[] = [];
      let done = page.length < this.maxPerRequest;
      for (const t of page) {
        const id = Number(t.id);
        if (id <= lastId || t.ts < fromMs) continue;
        if (t.ts >= toMs) {
          done = true;
          break;
        }
        out.push(t);
        lastId = id;
      }
      if (out.length) yield out;
      const next = out.length ? out[out.length - 1]!.ts : since;
      // A page of one millisecond's trades only would ask for the same page again: move past it.
      since = next > since ? next : since + 1;
      if (done) return;
    }
  },
};
