import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { TickworkError } from '../../runtime/errors.js';
import type { Trade } from '../../schemas/trade.js';
import { IdString, VenueDecimal, VenueMsString, VenueSymbolText } from '../kit/raw.js';
import type { RestTrades } from '../kit/types.js';

const BybitRecentTrades = Type.Object({
  retCode: Type.Integer(),
  retMsg: Type.String(),
  result: Type.Object({
    list: Type.Optional(
      Type.Array(
        Type.Object({
          execId: IdString,
          symbol: VenueSymbolText,
          price: VenueDecimal,
          size: VenueDecimal,
          side: Type.Union([Type.Literal('Buy'), Type.Literal('Sell')]),
          time: VenueMsString,
        }),
        { maxItems: 1000 },
      ),
    ),
  }),
});
const BybitRecentTradesCheck = TypeCompiler.Compile(BybitRecentTrades);
const SPOT_MAX = 60;

/**
 * Bybit `GET /v5/market/recent-trade`: only the latest trades (60 on spot), newest first, with ids
 * that are not sequential. It cannot fill a gap by id (the feed has no `tradeSeq` for Bybit,
 * so it never asks) and backs a backfill only of the last few trades; older ranges come from
 * Bybit's daily trade files through `--source file`.
 */
export const recentTrades: RestTrades = {
  maxPerRequest: SPOT_MAX,
  weight: 1,
  rate: { count: 120, perMs: 1_000 },
  path: (symbol, _fromId, limit) => `/v5/market/recent-trade?category=spot&symbol=${encodeURIComponent(symbol)}&limit=${Math.min(limit, SPOT_MAX)}`,
  parse(body, like, recvTs) {
    const msg: unknown = JSON.parse(body);
    if (!BybitRecentTradesCheck.Check(msg)) {
      const e = BybitRecentTradesCheck.Errors(msg).First();
      throw new TickworkError('VENUE_RESPONSE_INVALID', `bybit recent-trade response invalid at ${e?.path ?? ''}: ${e?.message ?? 'unknown'}`);
    }
    if (msg.retCode !== 0) throw new TickworkError('VENUE_RESPONSE_INVALID', `bybit recent-trade answered retCode ${msg.retCode}: ${msg.retMsg.slice(0, 200)}`);
    const out: Trade[] = (msg.result.list ?? []).map((r) => ({
      venue: like.venue,
      symbol: like.symbol,
      venueSymbol: like.venueSymbol,
      id: r.execId,
      price: r.price,
      qty: r.size,
      side: r.side === 'Buy' ? 'buy' : 'sell',
      ts: Number(r.time),
      recvTs,
    }));
    return out.reverse();
  },
  async *range(get, like, fromMs, toMs) {
    const { body, recvTs } = await get(this.path(like.venueSymbol, 0, SPOT_MAX));
    const page = this.parse(body, like, recvTs);
    const oldest = page[0];
    if (!oldest || oldest.ts > fromMs) {
      throw new TickworkError(
        'HISTORY_UNAVAILABLE',
        `bybit's REST history holds only its last ${SPOT_MAX} spot trades${oldest ? ` (from ${new Date(oldest.ts).toISOString()})` : ''}, not ${new Date(fromMs).toISOString()}: backfill from Bybit's trade files with --source file`,
      );
    }
    const out = page.filter((t) => t.ts >= fromMs && t.ts < toMs);
    if (out.length) yield out;
  },
};
