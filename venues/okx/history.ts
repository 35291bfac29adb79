import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { TickworkError } from '../../runtime/errors.js';
import type { Trade } from '../../schemas/trade.js';
import { forwardById } from '../kit/history.js';
import { IdString, VenueDecimal, VenueMsString, VenueSymbolText } from '../kit/raw.js';
import type { RestTrades } from '../kit/types.js';

/** `GET /api/v5/market/history-trades` answer: individual fills, newest first. */
const OkxRestTrades = Type.Object({
  code: Type.String(),
  msg: Type.String(),
  data: Type.Array(
    Type.Object({
      instId: VenueSymbolText,
      tradeId: IdString,
      px: VenueDecimal,
      sz: VenueDecimal,
      side: Type.Union([Type.Literal('buy'), Type.Literal('sell')]),
      ts: VenueMsString,
    }),
    { maxItems: 500 },
  ),
});
const OkxRestTradesCheck = TypeCompiler.Compile(OkxRestTrades);

const seqOf = (t: Trade) => ({ first: Number(t.id), last: Number(t.id) });

/**
 * OKX `GET /api/v5/market/history-trades` (about three months back): up to 100 fills per request,
 * newest first; `type=1` pages by trade id (`after`: older than that id), `type=2` by time
 * (`after`: older than that ms). 20 requests per 2 s per IP. Fill ids are contiguous per
 * instrument, so `after = fromId + limit` is exactly the fills [fromId, fromId + limit − 1]. The
 * live `trades` channel aggregates fills (id = last fill, `count`): a gap is filled with fills.
 */
export const historyTrades: RestTrades = {
  maxPerRequest: 100,
  weight: 1,
  rate: { count: 20, perMs: 2_000 },
  path: (instId, fromId, limit) => `/api/v5/market/history-trades?instId=${encodeURIComponent(instId)}&type=1&after=${fromId + limit}&limit=${limit}`,
  parse(body, like, recvTs) {
    const msg: unknown = JSON.parse(body);
    if (!OkxRestTradesCheck.Check(msg)) {
      const e = OkxRestTradesCheck.Errors(msg).First();
      throw new TickworkError('VENUE_RESPONSE_INVALID', `okx history-trades response invalid at ${e?.path ?? ''}: ${e?.message ?? 'unknown'}`);
    }
    if (msg.code !== '0') throw new TickworkError('VENUE_RESPONSE_INVALID', `okx history-trades answered code ${msg.code}: ${msg.msg.slice(0, 200)}`);
    const out: Trade[] = msg.data.map((r) => ({
      venue: like.venue,
      symbol: like.symbol,
      venueSymbol: like.venueSymbol,
      id: r.tradeId,
      price: r.px,
      qty: r.sz,
      side: r.side,
      ts: Number(r.ts),
      recvTs,
    }));
    return out.reverse();
  },
  // The newest fill before the range locates its first id; then forward by id.
  async *range(get, like, fromMs, toMs) {
    const I = encodeURIComponent(like.venueSymbol);
    const { body, recvTs } = await get(`/api/v5/market/history-trades?instId=${I}&type=2&after=${fromMs}&limit=1`);
    const [before] = this.parse(body, like, recvTs);
    if (!before) {
      throw new TickworkError('HISTORY_UNAVAILABLE', `okx history-trades has no trade of ${like.venueSymbol} before ${new Date(fromMs).toISOString()} (it keeps about three months): use --source file or archive`);
    }
    yield* forwardById(this, get, like, Number(before.id) + 1, fromMs, toMs, seqOf);
  },
};
