import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { DerivValues } from '../kit/derivs.js';
import { guardedDerivsParse, PERP_SUFFIX, splitPerp, type DerivPatch, type DerivsAdapter, type DerivsOutput, type VenueDerivs } from '../kit/derivs.js';
import { BAD_JSON, control, isObject, isZeroDecimal, parseJson, reject, schemaReject, symbolReject } from '../kit/frame.js';
import { PositiveDecimal, VenueDecimal, VenueMs, VenueSymbolText } from '../kit/raw.js';
import { longestFirst, SymbolMap, splitByQuoteSuffix } from '../kit/symbols.js';
import type { FrameClass } from '../kit/types.js';

/**
 * Bybit v5 linear perpetuals (`wss://stream.bybit.com/v5/public/linear`, bybit-exchange.github.io
 * v5/websocket/public/ticker and all-liquidation):
 * - `tickers.<S>` (100 ms): one `snapshot`, then `delta`s that OMIT unchanged fields, so every
 *   frame is a partial update merged into the ticker (a field present as "" means no value);
 * - `allLiquidation.<S>` (500 ms): every liquidation; `S` is the side of the liquidated POSITION,
 *   so `Buy` (a long) was closed by a sell order. Linear quantities are base units.
 * `BTC-USDT-PERP` is `BTCUSDT`; USDC perpetuals are named `BTCPERP` (`BTC-USDC-PERP`).
 */

const Num = Type.Union([Type.String({ pattern: '^-?[0-9]{1,40}(\\.[0-9]{1,40})?$', maxLength: 64 }), Type.Literal('')]);
const MsText = Type.Union([Type.String({ pattern: '^[0-9]{1,13}$' }), Type.Literal('')]);

export const BybitTicker = Type.Object({
  topic: Type.String({ maxLength: 100 }),
  type: Type.Union([Type.Literal('snapshot'), Type.Literal('delta')]),
  ts: VenueMs,
  cs: Type.Optional(Type.Integer()),
  data: Type.Object({
    symbol: VenueSymbolText,
    lastPrice: Type.Optional(Num),
    markPrice: Type.Optional(Num),
    indexPrice: Type.Optional(Num),
    openInterest: Type.Optional(Num),
    openInterestValue: Type.Optional(Num),
    nextFundingTime: Type.Optional(MsText),
    fundingRate: Type.Optional(Num),
    fundingIntervalHour: Type.Optional(Type.Union([Type.String({ pattern: '^[0-9]{1,4}$' }), Type.Literal('')])),
  }),
});
export type BybitTicker = Static<typeof BybitTicker>;
const BybitTickerCheck = TypeCompiler.Compile(BybitTicker);

const BybitAllLiquidation = Type.Object({
  topic: Type.String({ maxLength: 100 }),
  ts: VenueMs,
  data: Type.Array(
    Type.Object({
      T: VenueMs,
      s: VenueSymbolText,
      S: Type.Union([Type.Literal('Buy'), Type.Literal('Sell')]),
      v: PositiveDecimal,
      p: VenueDecimal,
    }),
    { maxItems: 10_000 },
  ),
});
const BybitAllLiquidationCheck = TypeCompiler.Compile(BybitAllLiquidation);

const QUOTES = longestFirst(['USDT', 'USDC']);
const VENUE = 'bybit';
const MAX_ARGS = 10;

/** A linear perpetual's name: `BTC-USDT-PERP` → `BTCUSDT`, `BTC-USDC-PERP` → `BTCPERP`. */
export function linearSymbolOf(symbol: string): string {
  const p = splitPerp(symbol);
  if (!p) return symbol.replace(/-/g, '');
  return p[1] === 'USDC' ? `${p[0]}PERP` : p[0] + p[1];
}

/** `BTCUSDT` → `BTC-USDT-PERP`, `BTCPERP` → `BTC-USDC-PERP`; null when no quote asset fits. */
export function perpOfLinear(venueSymbol: string): string | null {
  if (venueSymbol.endsWith('PERP') && venueSymbol.length > 4) return `${venueSymbol.slice(0, -4)}-USDC${PERP_SUFFIX}`;
  const c = splitByQuoteSuffix(venueSymbol, QUOTES);
  return c === null ? null : c + PERP_SUFFIX;
}

/** The linear endpoint beside the configured (spot) one. */
export function linearUrlOf(configured: string): string {
  const u = new URL(configured);
  u.pathname = '/v5/public/linear';
  return u.toString();
}

export class BybitDerivsAdapter implements DerivsAdapter {
  readonly venue = VENUE;
  readonly appPing = { intervalMs: 20_000, frame: (): string => '{"op":"ping"}' };
  private readonly symbols = new SymbolMap(perpOfLinear);

  toVenueSymbol(symbol: string): string {
    return linearSymbolOf(symbol);
  }

  subscribeFrames(symbols: readonly string[], nextReqId: () => number): string[] {
    return this.requests('subscribe', symbols, nextReqId);
  }

  unsubscribeFrames(symbols: readonly string[], nextReqId: () => number): string[] {
    return this.requests('unsubscribe', symbols, nextReqId);
  }

  private requests(op: string, symbols: readonly string[], nextReqId: () => number): string[] {
    const args: string[] = [];
    for (const s of symbols) {
      const vs = this.toVenueSymbol(s);
      this.symbols.learn(vs, s);
      args.push(`tickers.${vs}`, `allLiquidation.${vs}`);
    }
    const frames: string[] = [];
    for (let i = 0; i < args.length; i += MAX_ARGS) frames.push(JSON.stringify({ op, args: args.slice(i, i + MAX_ARGS), req_id: String(nextReqId()) }));
    return frames;
  }

  parse(raw: string, recvTs: number, out: DerivsOutput): FrameClass {
    return guardedDerivsParse((r, t, o) => this.parseFrame(r, t, o), raw, recvTs, out);
  }

  private parseFrame(raw: string, recvTs: number, out: DerivsOutput): FrameClass {
    const msg = parseJson(raw, out);
    if (msg === BAD_JSON) return 'reject';
    if (!isObject(msg)) return reject(out, 'unknown-frame', '', 'not a JSON object', raw);
    const topic = msg.topic;
    if (typeof topic !== 'string') {
      const op = msg.op;
      if (op === 'ping' || op === 'pong' || msg.ret_msg === 'pong') return control(out, 'pong');
      if (msg.success === false) return control(out, 'venue-error');
      if (op === 'subscribe' || op === 'unsubscribe') return control(out, 'ack');
      if (typeof msg.success === 'boolean' || typeof op === 'string') return control(out, 'info');
      return reject(out, 'unknown-frame', '', 'neither a topic push nor an op reply', raw);
    }
    if (topic.startsWith('tickers.')) {
      if (!BybitTickerCheck.Check(msg)) return schemaReject(out, BybitTickerCheck, msg, '', raw);
      const symbol = this.symbols.get(msg.data.symbol);
      if (symbol === null) return symbolReject(out, '/data/symbol', msg.data.symbol, raw);
      out.patches.push(tickerPatch(msg, symbol, recvTs));
      return 'data';
    }
    if (topic.startsWith('allLiquidation.')) {
      if (!BybitAllLiquidationCheck.Check(msg)) return schemaReject(out, BybitAllLiquidationCheck, msg, '', raw);
      const data = msg.data;
      for (let i = 0; i < data.length; i++) {
        const l = data[i]!;
        const symbol = this.symbols.get(l.s);
        if (symbol === null) return symbolReject(out, `/data/${i}/s`, l.s, raw);
        if (isZeroDecimal(l.p)) return reject(out, 'schema', `/data/${i}/p`, 'liquidation without a price', raw);
        // `S` is the liquidated position's side; the order closing it goes the other way.
        out.liquidations.push({ venue: VENUE, symbol, venueSymbol: l.s, side: l.S === 'Buy' ? 'sell' : 'buy', price: l.p, qty: l.v, ts: l.T, recvTs, sampled: false });
      }
      return data.length > 0 ? 'data' : control(out, 'ignored:empty');
    }
    return reject(out, 'unknown-frame', '/topic', `unknown topic ${topic.slice(0, 60)}`, raw);
  }
}

/** Only the fields the frame carries (a delta omits unchanged ones); "" is an explicit no-value. */
export function tickerPatch(msg: BybitTicker, symbol: string, recvTs: number): DerivPatch {
  const d = msg.data;
  const values: DerivValues = {};
  const dec = (v: string) => (v === '' ? null : v);
  if (d.markPrice !== undefined) values.markPrice = dec(d.markPrice);
  if (d.indexPrice !== undefined) values.indexPrice = dec(d.indexPrice);
  if (d.lastPrice !== undefined) values.lastPrice = dec(d.lastPrice);
  if (d.fundingRate !== undefined) values.fundingRate = dec(d.fundingRate);
  if (d.nextFundingTime !== undefined) values.nextFundingTime = d.nextFundingTime === '' || Number(d.nextFundingTime) === 0 ? null : Number(d.nextFundingTime);
  if (d.openInterest !== undefined) values.openInterest = dec(d.openInterest);
  if (d.openInterestValue !== undefined) values.openInterestValue = dec(d.openInterestValue);
  if (d.fundingIntervalHour !== undefined && d.fundingIntervalHour !== '' && Number(d.fundingIntervalHour) > 0) {
    values.fundingIntervalMs = Number(d.fundingIntervalHour) * 3_600_000;
  }
  return { venue: VENUE, symbol, venueSymbol: d.symbol, values, ts: msg.ts, recvTs };
}

export const bybitDerivs: VenueDerivs = {
  wsUrl: linearUrlOf,
  createAdapter: () => new BybitDerivsAdapter(),
  symbolsPerConnection: 200,
  defaultFundingIntervalMs: 8 * 3_600_000,
  sampledLiquidations: false,
};
