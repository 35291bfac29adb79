import { TickworkError } from '../../runtime/errors.js';
import { forwardById } from '../kit/history.js';
import type { RestTrades } from '../kit/types.js';
import { BinanceRestAggTradesCheck } from './schemas.js';

const HOUR = 3_600_000;
const seqOf = (t: { id: string }) => ({ first: Number(t.id), last: Number(t.id) });

/**
 * `GET /api/v3/aggTrades` returns aggregate trades by id (`fromId`) or by time (`startTime` and
 * `endTime`, at most an hour apart), up to 1000 per request, weight 4 (of 6000 per minute).
 */
export const aggTrades: RestTrades = {
  maxPerRequest: 1000,
  weight: 4,
  path: (venueSymbol, fromId, limit) =>
    `/api/v3/aggTrades?symbol=${encodeURIComponent(venueSymbol)}&fromId=${fromId}&limit=${limit}`,
  parse(body, like, recvTs) {
    const rows: unknown = JSON.parse(body);
    if (!BinanceRestAggTradesCheck.Check(rows)) {
      const e = BinanceRestAggTradesCheck.Errors(rows).First();
      throw new TickworkError('VENUE_RESPONSE_INVALID', `aggTrades response invalid at ${e?.path ?? ''}: ${e?.message ?? 'unknown'}`);
    }
    const bad = rows.findIndex((r) => r.l < r.f);
    if (bad >= 0) throw new TickworkError('VENUE_RESPONSE_INVALID', `aggTrades response invalid at /${bad}/l: below f`);
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
  // The first aggregate trade of the range (hour by hour: the time query spans at most one), then by id.
  async *range(get, like, fromMs, toMs) {
    const S = encodeURIComponent(like.venueSymbol);
    for (let start = fromMs; start < toMs; start += HOUR) {
      const end = Math.min(toMs, start + HOUR) - 1;
      const { body, recvTs } = await get(`/api/v3/aggTrades?symbol=${S}&startTime=${start}&endTime=${end}&limit=1`);
      const [first] = this.parse(body, like, recvTs);
      if (first) {
        yield* forwardById(this, get, like, Number(first.id), fromMs, toMs, seqOf);
        return;
      }
    }
  },
};
