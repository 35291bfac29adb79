import type { Trade } from '../../../schemas/trade.js';
import { VenueAdapterBase, type SubscribeAction } from '../../../venues/kit/adapter.js';
import { BAD_JSON, control, isObject, parseJson, reject, schemaReject } from '../../../venues/kit/frame.js';
import { canonicalOf, SymbolMap } from '../../../venues/kit/symbols.js';
import type { FeedChannel, FrameClass, ParseOutput, TradeSeq, VenueLimits } from '../../../venues/kit/types.js';
import { FakeTradeCheck } from './schemas.js';

export const LIMITS: VenueLimits = { source: 'a test venue: no limits' };

/** A minimal venue protocol: `{"op":"sub","symbols":[...]}` in, `{"op":"subbed"}` and trade frames out. */
export class FakeAdapter extends VenueAdapterBase {
  readonly venue = 'fake';
  protected readonly symbols = new SymbolMap((s) => {
    const [base, quote] = s.split('-');
    return base && quote ? canonicalOf(base, quote) : null;
  });

  toVenueSymbol(symbol: string): string {
    return symbol;
  }

  protected requests(action: SubscribeAction, symbols: readonly string[], _channels: readonly FeedChannel[], nextReqId: () => number): string[] {
    return [JSON.stringify({ op: action === 'subscribe' ? 'sub' : 'unsub', symbols, id: nextReqId() })];
  }

  parseFrame(raw: string, recvTs: number, out: ParseOutput): FrameClass {
    const msg = parseJson(raw, out);
    if (msg === BAD_JSON) return 'reject';
    if (!isObject(msg)) return reject(out, 'unknown-frame', '', 'not a JSON object', raw);
    if (msg.op === 'subbed') return control(out, 'ack');
    if (!FakeTradeCheck.Check(msg)) return schemaReject(out, FakeTradeCheck, msg, '', raw);
    out.trades.push({ venue: this.venue, symbol: msg.s, venueSymbol: msg.s, id: String(msg.i), price: msg.p, qty: msg.q, side: msg.side, ts: msg.ts, recvTs });
    return 'data';
  }

  tradeSeq(trade: Trade): TradeSeq | null {
    const n = Number(trade.id);
    return Number.isSafeInteger(n) ? { first: n, last: n } : null;
  }
}
