import { TickworkError } from '../../runtime/errors.js';
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { formatExact, mul, parseDecimal } from '../../runtime/decimal.js';
import { guardedDerivsParse, PERP_SUFFIX, splitPerp, type DerivPatch, type DerivsAdapter, type DerivsContracts, type DerivsOutput, type VenueDerivs } from '../kit/derivs.js';
import { BAD_JSON, control, isObject, isZeroDecimal, parseJson, reject, schemaReject } from '../kit/frame.js';
import { PositiveDecimal, VenueDecimal, VenueMsString, VenueSymbolText } from '../kit/raw.js';
import type { ControlKind, FrameClass } from '../kit/types.js';

/**
 * OKX v5 swap derivatives on the public endpoint (okx.com/docs-v5, public data WebSocket):
 * - `funding-rate` (every 30–90 s): `fundingTime` is the NEXT settlement (not the event time),
 *   `fundingRate` the rate that settles then, `nextFundingTime` the one after (their difference is
 *   the funding interval), `nextFundingRate` the venue's estimate for it;
 * - `open-interest`: `oi` in contracts, `oiCcy` in the base currency;
 * - `mark-price`; `index-tickers` on the index (`BTC-USDT` for `BTC-USDT-SWAP`);
 * - `liquidation-orders` for the whole `SWAP` type: sizes in contracts (× `ctVal` from REST
 *   `/api/v5/public/instruments`), `side` the order side. The first push after subscribing replays
 *   recent liquidations already reported, so it is skipped (as tardis-node does).
 * Only linear swaps (`BASE-QUOTE-SWAP` whose contract value is in the base currency) are mapped.
 */

const Arg = Type.Object({ channel: Type.String({ maxLength: 64 }), instId: Type.Optional(VenueSymbolText), instType: Type.Optional(Type.String({ maxLength: 16 })) });
const Rate = Type.String({ pattern: '^-?[0-9]{1,20}(\\.[0-9]{1,30})?$', maxLength: 52 });
const OptRate = Type.Optional(Type.Union([Rate, Type.Literal('')]));
const OptMs = Type.Optional(Type.Union([VenueMsString, Type.Literal('')]));

const FundingRatePush = Type.Object({
  arg: Arg,
  data: Type.Array(
    Type.Object({
      instId: VenueSymbolText,
      fundingRate: Type.Union([Rate, Type.Literal('')]),
      fundingTime: VenueMsString,
      nextFundingTime: OptMs,
      nextFundingRate: OptRate,
      ts: OptMs,
    }),
    { maxItems: 1000 },
  ),
});
const FundingRateCheck = TypeCompiler.Compile(FundingRatePush);

const OpenInterestPush = Type.Object({
  arg: Arg,
  data: Type.Array(Type.Object({ instId: VenueSymbolText, oi: VenueDecimal, oiCcy: Type.Optional(VenueDecimal), ts: VenueMsString }), { maxItems: 1000 }),
});
const OpenInterestCheck = TypeCompiler.Compile(OpenInterestPush);

const MarkPricePush = Type.Object({
  arg: Arg,
  data: Type.Array(Type.Object({ instId: VenueSymbolText, markPx: VenueDecimal, ts: VenueMsString }), { maxItems: 1000 }),
});
const MarkPriceCheck = TypeCompiler.Compile(MarkPricePush);

const IndexTickersPush = Type.Object({
  arg: Arg,
  data: Type.Array(Type.Object({ instId: VenueSymbolText, idxPx: VenueDecimal, ts: VenueMsString }), { maxItems: 1000 }),
});
const IndexTickersCheck = TypeCompiler.Compile(IndexTickersPush);

const LiquidationOrdersPush = Type.Object({
  arg: Arg,
  data: Type.Array(
    Type.Object({
      instId: VenueSymbolText,
      details: Type.Array(
        Type.Object({
          side: Type.Union([Type.Literal('buy'), Type.Literal('sell')]),
          bkPx: VenueDecimal,
          sz: PositiveDecimal,
          ts: VenueMsString,
        }),
        { maxItems: 1000 },
      ),
    }),
    { maxItems: 10_000 },
  ),
});
const LiquidationOrdersCheck = TypeCompiler.Compile(LiquidationOrdersPush);

const Instruments = Type.Object({
  code: Type.String(),
  data: Type.Array(
    Type.Object({
      instId: VenueSymbolText,
      ctVal: Type.Optional(Type.Union([PositiveDecimal, Type.Literal('')])),
      ctValCcy: Type.Optional(Type.String({ maxLength: 20 })),
      ctType: Type.Optional(Type.String({ maxLength: 20 })),
    }),
    { maxItems: 100_000 },
  ),
});
const InstrumentsCheck = TypeCompiler.Compile(Instruments);

const VENUE = 'okx';
const SWAP = /^([A-Z0-9]{1,20})-([A-Z0-9]{1,20})-SWAP$/;
/** Args per request: the 64 KB request cap leaves room for far more; a few requests keep replies readable. */
const MAX_ARGS = 100;

const EVENTS: ReadonlyMap<string, ControlKind> = new Map<string, ControlKind>([
  ['subscribe', 'ack'],
  ['unsubscribe', 'ack'],
  ['error', 'venue-error'],
  ['notice', 'info'],
  ['channel-conn-count', 'info'],
  ['channel-conn-count-error', 'venue-error'],
]);

/** `BTC-USDT-SWAP` → `BTC-USDT-PERP`, or null. */
export const perpOfSwap = (instId: string): string | null => {
  const m = SWAP.exec(instId);
  return m ? `${m[1]}-${m[2]}${PERP_SUFFIX}` : null;
};

/** `BTC-USDT-PERP` → `BTC-USDT-SWAP` (anything else unchanged). */
export const swapOf = (symbol: string): string => {
  const p = splitPerp(symbol);
  return p ? `${p[0]}-${p[1]}-SWAP` : symbol;
};

/** `BTC-USDT-SWAP` → true. */
export const isSwap = (instId: string): boolean => SWAP.test(instId);

export class OkxDerivsAdapter implements DerivsAdapter {
  readonly venue = VENUE;
  readonly appPing = { intervalMs: 20_000, frame: (): string => 'ping' };
  /** Subscribed swaps (venue symbol → canonical) and their indexes (`BTC-USDT` → canonical). */
  private readonly bySwap = new Map<string, string>();
  private readonly byIndex = new Map<string, string>();
  private contractValues: ReadonlyMap<string, string> = new Map();
  /** True once the replay push that follows a `liquidation-orders` subscription went by. */
  private liqReplaySeen = false;
  private liqSubscribed = false;

  toVenueSymbol(symbol: string): string {
    return swapOf(symbol);
  }

  setContractValues(values: ReadonlyMap<string, string>): void {
    this.contractValues = values;
  }

  subscribeFrames(symbols: readonly string[], nextReqId: () => number): string[] {
    const args: Record<string, string>[] = [];
    for (const s of symbols) {
      const instId = this.toVenueSymbol(s);
      const index = instId.slice(0, -'-SWAP'.length);
      this.bySwap.set(instId, s);
      this.byIndex.set(index, s);
      for (const channel of ['funding-rate', 'open-interest', 'mark-price']) args.push({ channel, instId });
      args.push({ channel: 'index-tickers', instId: index });
    }
    if (args.length > 0 && !this.liqSubscribed) {
      this.liqSubscribed = true;
      this.liqReplaySeen = false;
      args.push({ channel: 'liquidation-orders', instType: 'SWAP' });
    }
    return this.frames('subscribe', args, nextReqId);
  }

  unsubscribeFrames(symbols: readonly string[], nextReqId: () => number): string[] {
    const args: Record<string, string>[] = [];
    for (const s of symbols) {
      const instId = this.toVenueSymbol(s);
      const index = instId.slice(0, -'-SWAP'.length);
      this.bySwap.delete(instId);
      this.byIndex.delete(index);
      for (const channel of ['funding-rate', 'open-interest', 'mark-price']) args.push({ channel, instId });
      args.push({ channel: 'index-tickers', instId: index });
    }
    if (this.bySwap.size === 0 && this.liqSubscribed) {
      this.liqSubscribed = false;
      args.push({ channel: 'liquidation-orders', instType: 'SWAP' });
    }
    return this.frames('unsubscribe', args, nextReqId);
  }

  private frames(op: string, args: Record<string, string>[], nextReqId: () => number): string[] {
    const out: string[] = [];
    for (let i = 0; i < args.length; i += MAX_ARGS) out.push(JSON.stringify({ id: String(nextReqId()), op, args: args.slice(i, i + MAX_ARGS) }));
    return out;
  }

  parse(raw: string, recvTs: number, out: DerivsOutput): FrameClass {
    return guardedDerivsParse((r, t, o) => this.parseFrame(r, t, o), raw, recvTs, out);
  }

  private parseFrame(raw: string, recvTs: number, out: DerivsOutput): FrameClass {
    if (raw === 'pong') return control(out, 'pong');
    const msg = parseJson(raw, out);
    if (msg === BAD_JSON) return 'reject';
    if (!isObject(msg)) return reject(out, 'unknown-frame', '', 'not a JSON object', raw);
    if (typeof msg.event === 'string') {
      const kind = EVENTS.get(msg.event);
      return kind ? control(out, kind) : reject(out, 'unknown-frame', '/event', `unknown event ${msg.event.slice(0, 40)}`, raw);
    }
    const arg = msg.arg;
    if (!isObject(arg) || typeof arg.channel !== 'string') return reject(out, 'unknown-frame', '/arg', 'push without arg.channel', raw);
    switch (arg.channel) {
      case 'funding-rate': {
        if (!FundingRateCheck.Check(msg)) return schemaReject(out, FundingRateCheck, msg, '', raw);
        return this.each(msg.data, (d) => this.bySwap.get(d.instId), out, (d, symbol) => {
          const next = Number(d.fundingTime);
          const after = d.nextFundingTime ? Number(d.nextFundingTime) : 0;
          return {
            venue: VENUE,
            symbol,
            venueSymbol: d.instId,
            values: {
              fundingRate: d.fundingRate === '' ? null : d.fundingRate,
              // `fundingTime` is the next settlement, not when this was sent
              nextFundingTime: next > 0 ? next : null,
              ...(d.nextFundingRate !== undefined ? { predictedFundingRate: d.nextFundingRate === '' ? null : d.nextFundingRate } : {}),
              ...(after > next && next > 0 ? { fundingIntervalMs: after - next } : {}),
            },
            ts: d.ts ? Number(d.ts) : recvTs,
            recvTs,
          };
        });
      }
      case 'open-interest':
        if (!OpenInterestCheck.Check(msg)) return schemaReject(out, OpenInterestCheck, msg, '', raw);
        return this.each(msg.data, (d) => this.bySwap.get(d.instId), out, (d, symbol) => ({
          venue: VENUE,
          symbol,
          venueSymbol: d.instId,
          values: { openInterest: d.oiCcy ?? this.toBase(d.instId, d.oi), venueOpenInterest: d.oi },
          ts: Number(d.ts),
          recvTs,
        }));
      case 'mark-price':
        if (!MarkPriceCheck.Check(msg)) return schemaReject(out, MarkPriceCheck, msg, '', raw);
        return this.each(msg.data, (d) => this.bySwap.get(d.instId), out, (d, symbol) => ({
          venue: VENUE,
          symbol,
          venueSymbol: d.instId,
          values: { markPrice: d.markPx },
          ts: Number(d.ts),
          recvTs,
        }));
      case 'index-tickers':
        if (!IndexTickersCheck.Check(msg)) return schemaReject(out, IndexTickersCheck, msg, '', raw);
        return this.each(msg.data, (d) => this.byIndex.get(d.instId), out, (d, symbol) => ({
          venue: VENUE,
          symbol,
          venueSymbol: this.toVenueSymbol(symbol),
          values: { indexPrice: d.idxPx },
          ts: Number(d.ts),
          recvTs,
        }));
      case 'liquidation-orders':
        if (!LiquidationOrdersCheck.Check(msg)) return schemaReject(out, LiquidationOrdersCheck, msg, '', raw);
        return this.liquidations(msg.data, recvTs, raw, out);
      default:
        return reject(out, 'unknown-frame', '/arg/channel', `unknown channel ${arg.channel.slice(0, 40)}`, raw);
    }
  }

  /** Patches for the entries of subscribed instruments; others (another connection's) are ignored. */
  private each<T>(data: T[], symbolOf: (d: T) => string | undefined, out: DerivsOutput, patch: (d: T, symbol: string) => DerivPatch | null): FrameClass {
    const start = out.patches.length;
    for (const d of data) {
      const symbol = symbolOf(d);
      if (symbol === undefined) continue;
      const p = patch(d, symbol);
      if (p !== null) out.patches.push(p);
    }
    return out.patches.length > start ? 'data' : control(out, 'ignored:unsubscribed-instrument');
  }

  private liquidations(data: { instId: string; details: { side: 'buy' | 'sell'; bkPx: string; sz: string; ts: string }[] }[], recvTs: number, raw: string, out: DerivsOutput): FrameClass {
    if (!this.liqReplaySeen) {
      this.liqReplaySeen = true;
      return control(out, 'ignored:liquidation-replay');
    }
    const start = out.liquidations.length;
    let unknownContract = false;
    for (let i = 0; i < data.length; i++) {
      const d = data[i]!;
      const symbol = this.bySwap.get(d.instId);
      if (symbol === undefined) continue;
      for (let j = 0; j < d.details.length; j++) {
        const l = d.details[j]!;
        if (isZeroDecimal(l.bkPx)) return reject(out, 'schema', `/data/${i}/details/${j}/bkPx`, 'liquidation without a price', raw);
        const qty = this.toBase(d.instId, l.sz);
        if (qty === null) {
          unknownContract = true;
          continue;
        }
        out.liquidations.push({ venue: VENUE, symbol, venueSymbol: d.instId, side: l.side, price: l.bkPx, qty, venueQty: l.sz, ts: Number(l.ts), recvTs, sampled: false });
      }
    }
    if (out.liquidations.length > start) return 'data';
    return control(out, unknownContract ? 'ignored:contract-value-unknown' : 'ignored:unsubscribed-instrument');
  }

  /** Contracts → base units, exactly; null while the contract value is unknown. */
  private toBase(instId: string, contracts: string): string | null {
    const cv = this.contractValues.get(instId);
    return cv === undefined ? null : formatExact(mul(parseDecimal(contracts), parseDecimal(cv)), 0);
  }
}

/** Linear swaps only: their contract value is in the base currency (`ctValCcy` = base). Also read by the swap books (book.ts). */
export const swapContracts: DerivsContracts = {
  path: () => '/api/v5/public/instruments?instType=SWAP',
  weight: 1,
  parse(body) {
    const v: unknown = JSON.parse(body);
    if (!InstrumentsCheck.Check(v)) {
      const e = InstrumentsCheck.Errors(v).First();
      throw new TickworkError('VENUE_RESPONSE_INVALID', `instruments body: ${e ? `${e.path} ${e.message}` : 'invalid'}`);
    }
    if (v.code !== '0') throw new TickworkError('VENUE_RESPONSE_INVALID', `instruments body: code ${v.code}`);
    const out = new Map<string, string>();
    for (const i of v.data) {
      const m = SWAP.exec(i.instId);
      if (!m || !i.ctVal || (i.ctType !== undefined && i.ctType !== 'linear') || (i.ctValCcy !== undefined && i.ctValCcy !== m[1])) continue;
      out.set(i.instId, i.ctVal);
    }
    return out;
  },
};

export const okxDerivs: VenueDerivs = {
  createAdapter: () => new OkxDerivsAdapter(),
  // four channels per symbol; OKX allows 480 subscribe requests per hour and 64 KB per request
  symbolsPerConnection: 100,
  contracts: swapContracts,
  sampledLiquidations: false,
};
