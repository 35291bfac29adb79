import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { TickworkError } from '../../runtime/errors.js';
import type { Trade } from '../../schemas/trade.js';
import { rfc3339ToMs } from '../kit/frame.js';
import { forwardById, locateById } from '../kit/history.js';
import { Rfc3339, SafeId, VenueDecimal } from '../kit/raw.js';
import type { RestTrades } from '../kit/types.js';

/** `GET /products/<id>/trades` answer: newest first; `side` is the MAKER's (as in `match`). */
const CoinbaseRestTrades = Type.Array(
  Type.Object({
    time: Rfc3339,
    trade_id: SafeId,
    price: VenueDecimal,
    size: VenueDecimal,
    side: Type.Union([Type.Literal('buy'), Type.Literal('sell')]),
  }),
  { maxItems: 1000 },
);
const CoinbaseRestTradesCheck = TypeCompiler.Compile(CoinbaseRestTrades);

const seqOf = (t: Trade) => ({ first: Number(t.id), last: Number(t.id) });

/**
 * Coinbase Exchange `GET /products/<id>/trades`: up to 1000 trades per request, newest first,
 * paged by trade id only (`after=X`: the trades older than X). Public endpoints allow 10
 * requests/s per IP. Trade ids are contiguous per product, so `after = fromId + limit` is exactly
 * [fromId, fromId + limit − 1]; a time range is located by galloping and bisecting on ids.
 */
export const productTrades: RestTrades = {
  maxPerRequest: 1000,
  weight: 1,
  rate: { count: 10, perMs: 1_000 },
  path: (product, fromId, limit) => `/products/${encodeURIComponent(product)}/trades?after=${fromId + limit}&limit=${limit}`,
  parse(body, like, recvTs) {
    const rows: unknown = JSON.parse(body);
    if (!CoinbaseRestTradesCheck.Check(rows)) {
      const e = CoinbaseRestTradesCheck.Errors(rows).First();
      throw new TickworkError('VENUE_RESPONSE_INVALID', `coinbase trades response invalid at ${e?.path ?? ''}: ${e?.message ?? 'unknown'}`);
    }
    const out: Trade[] = [];
    for (let i = rows.length - 1; i >= 0; i--) {
      const r = rows[i]!;
      const ts = rfc3339ToMs(r.time);
      if (Number.isNaN(ts)) throw new TickworkError('VENUE_RESPONSE_INVALID', `coinbase trades response invalid at /${i}/time: ${r.time.slice(0, 40)}`);
      out.push({
        venue: like.venue,
        symbol: like.symbol,
        venueSymbol: like.venueSymbol,
        id: String(r.trade_id),
        price: r.price,
        qty: r.size,
        side: r.side === 'buy' ? 'sell' : 'buy',
        ts,
        recvTs,
      });
    }
    return out;
  },
  async *range(get, like, fromMs, toMs) {
    const P = encodeURIComponent(like.venueSymbol);
    const one = async (query: string): Promise<Trade | null> => {
      const { body, recvTs } = await get(`/products/${P}/trades?${query}limit=1`);
      return this.parse(body, like, recvTs)[0] ?? null;
    };
    const newest = await one('');
    if (newest === null) return;
    const first = await locateById((id) => one(`after=${id + 1}&`), newest, fromMs);
    if (first === null) return;
    yield* forwardById(this, get, like, first, fromMs, toMs, seqOf);
  },
};
