import { TickworkError } from '../../runtime/errors.js';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { guardedDerivsParse, PERP_SUFFIX, splitPerp, type DerivPatch, type DerivsAdapter, type DerivsOutput, type DerivsRestPoll, type VenueDerivs } from '../kit/derivs.js';
import { BAD_JSON, control, isObject, isZeroDecimal, parseJson, reject, schemaReject, symbolReject } from '../kit/frame.js';
import { PositiveDecimal, VenueDecimal, VenueMs, VenueSymbolText } from '../kit/raw.js';
import { longestFirst, SymbolMap, splitByQuoteSuffix } from '../kit/symbols.js';
import type { FrameClass } from '../kit/types.js';

/**
 * Binance USD-M derivatives (`binance-futures`), on the `/market` endpoint since the 2026-04-23
 * URL split (developers.binance.com, USD-M WebSocket market streams):
 * - `<s>@markPrice@1s`: `p` mark, `i` index, `r` funding rate, `T` next funding time; `r=""` or
 *   `T=0` means the symbol has no funding (delivery contracts): both become null;
 * - `<s>@forceOrder`: the latest liquidation order per symbol per second (a sample: `sampled`);
 *   `S` is the order side, quantities are base units;
 * - open interest is not streamed: REST `GET /fapi/v1/openInterest?symbol=` (weight 1), polled.
 */

const MarkPriceUpdate = Type.Object({
  e: Type.Literal('markPriceUpdate'),
  E: VenueMs,
  s: VenueSymbolText,
  p: VenueDecimal,
  i: Type.Optional(VenueDecimal),
  P: Type.Optional(Type.Union([VenueDecimal, Type.Literal('')])),
  /** Signed decimal, or "" for no funding. */
  r: Type.Union([Type.String({ pattern: '^-?[0-9]{1,20}(\\.[0-9]{1,20})?$', maxLength: 44 }), Type.Literal('')]),
  T: VenueMs,
});
export type BinanceMarkPriceUpdate = Static<typeof MarkPriceUpdate>;
const MarkPriceUpdateCheck = TypeCompiler.Compile(MarkPriceUpdate);

const ForceOrder = Type.Object({
  e: Type.Literal('forceOrder'),
  E: VenueMs,
  o: Type.Object({
    s: VenueSymbolText,
    S: Type.Union([Type.Literal('BUY'), Type.Literal('SELL')]),
    q: PositiveDecimal,
    p: VenueDecimal,
    ap: Type.Optional(VenueDecimal),
    X: Type.Optional(Type.String({ maxLength: 32 })),
    z: Type.Optional(VenueDecimal),
    T: VenueMs,
  }),
});
const ForceOrderCheck = TypeCompiler.Compile(ForceOrder);

const OpenInterestBody = Type.Object({ openInterest: VenueDecimal, symbol: VenueSymbolText, time: VenueMs });
const OpenInterestCheck = TypeCompiler.Compile(OpenInterestBody);

const Result = Type.Object({ result: Type.Union([Type.Null(), Type.Array(Type.String()), Type.Boolean()]), id: Type.Unknown() });
const ResultCheck = TypeCompiler.Compile(Result);

const QUOTES = longestFirst(['USDT', 'USDC', 'BUSD', 'FDUSD']);
const VENUE = 'binance-futures';

export class BinanceDerivsAdapter implements DerivsAdapter {
  readonly venue = VENUE;
  private readonly symbols = new SymbolMap((s) => {
    const c = splitByQuoteSuffix(s, QUOTES);
    return c === null ? null : c + PERP_SUFFIX;
  });

  toVenueSymbol(symbol: string): string {
    const p = splitPerp(symbol);
    return p ? p[0] + p[1] : symbol.replace(/-/g, '');
  }

  subscribeFrames(symbols: readonly string[], nextReqId: () => number): string[] {
    return this.requests('SUBSCRIBE', symbols, nextReqId);
  }

  unsubscribeFrames(symbols: readonly string[], nextReqId: () => number): string[] {
    return this.requests('UNSUBSCRIBE', symbols, nextReqId);
  }

  private requests(method: string, symbols: readonly string[], nextReqId: () => number): string[] {
    const params: string[] = [];
    for (const s of symbols) {
      const vs = this.toVenueSymbol(s);
      this.symbols.learn(vs, s);
      params.push(`${vs.toLowerCase()}@markPrice@1s`, `${vs.toLowerCase()}@forceOrder`);
    }
    return params.length === 0 ? [] : [JSON.stringify({ method, params, id: nextReqId() })];
  }

  parse(raw: string, recvTs: number, out: DerivsOutput): FrameClass {
    return guardedDerivsParse((r, t, o) => this.parseFrame(r, t, o), raw, recvTs, out);
  }

  private parseFrame(raw: string, recvTs: number, out: DerivsOutput): FrameClass {
    const msg = parseJson(raw, out);
    if (msg === BAD_JSON) return 'reject';
    if (!isObject(msg)) return reject(out, 'unknown-frame', '', 'not a JSON object', raw);
    let d = msg;
    let at = '';
    if (typeof msg.stream === 'string') {
      if (!isObject(msg.data)) return reject(out, 'schema', '/data', 'combined-stream payload is not an object', raw);
      d = msg.data;
      at = '/data';
    } else if ('id' in msg && ('result' in msg || 'error' in msg || 'code' in msg)) {
      if ('error' in msg || 'code' in msg) return control(out, 'venue-error');
      if (!ResultCheck.Check(msg)) return schemaReject(out, ResultCheck, msg, '', raw);
      return control(out, msg.result === null ? 'ack' : 'info');
    }
    if (d.e === 'markPriceUpdate') {
      if (!MarkPriceUpdateCheck.Check(d)) return schemaReject(out, MarkPriceUpdateCheck, d, at, raw);
      const symbol = this.symbols.get(d.s);
      if (symbol === null) return symbolReject(out, `${at}/s`, d.s, raw);
      out.patches.push(markPricePatch(d, symbol, recvTs));
      return 'data';
    }
    if (d.e === 'forceOrder') {
      if (!ForceOrderCheck.Check(d)) return schemaReject(out, ForceOrderCheck, d, at, raw);
      const o = d.o;
      const symbol = this.symbols.get(o.s);
      if (symbol === null) return symbolReject(out, `${at}/o/s`, o.s, raw);
      // The average fill price and filled quantity once there are fills; the order's own before.
      const price = o.ap !== undefined && !isZeroDecimal(o.ap) ? o.ap : o.p;
      const qty = o.z !== undefined && !isZeroDecimal(o.z) ? o.z : o.q;
      if (isZeroDecimal(price)) return reject(out, 'schema', `${at}/o/p`, 'liquidation without a price', raw);
      out.liquidations.push({ venue: VENUE, symbol, venueSymbol: o.s, side: o.S === 'BUY' ? 'buy' : 'sell', price, qty, ts: o.T, recvTs, sampled: true });
      return 'data';
    }
    return reject(out, 'unknown-frame', `${at}/e`, `unknown event type ${String(d.e).slice(0, 40)}`, raw);
  }
}

/** `r=""` or `T=0`: no funding for this symbol (both null), not a zero rate. */
export function markPricePatch(d: BinanceMarkPriceUpdate, symbol: string, recvTs: number): DerivPatch {
  const funding = d.r !== '' && d.T !== 0;
  return {
    venue: VENUE,
    symbol,
    venueSymbol: d.s,
    values: {
      markPrice: d.p,
      ...(d.i !== undefined ? { indexPrice: d.i } : {}),
      fundingRate: funding ? d.r : null,
      nextFundingTime: funding ? d.T : null,
    },
    ts: d.E,
    recvTs,
  };
}

const openInterest: DerivsRestPoll = {
  path: (venueSymbol) => `/fapi/v1/openInterest?symbol=${encodeURIComponent(venueSymbol)}`,
  weight: 1,
  parse(body, symbol, venueSymbol, recvTs) {
    const v: unknown = JSON.parse(body);
    if (!OpenInterestCheck.Check(v)) {
      const e = OpenInterestCheck.Errors(v).First();
      throw new TickworkError('VENUE_RESPONSE_INVALID', `open interest body: ${e ? `${e.path} ${e.message}` : 'invalid'}`);
    }
    if (v.symbol !== venueSymbol) throw new TickworkError('VENUE_RESPONSE_INVALID', `open interest body: symbol ${v.symbol}, asked ${venueSymbol}`);
    return { venue: VENUE, symbol, venueSymbol, values: { openInterest: v.openInterest }, ts: v.time, recvTs };
  },
};

export const binanceFuturesDerivs: VenueDerivs = {
  createAdapter: () => new BinanceDerivsAdapter(),
  // two streams per symbol, 1024 streams per connection
  symbolsPerConnection: 500,
  openInterest,
  defaultFundingIntervalMs: 8 * 3_600_000,
  sampledLiquidations: true,
};
