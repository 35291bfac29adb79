import type { DerivFields, Liquidation } from '../../schemas/deriv.js';
import { reject } from './frame.js';
import { newParseOutput, type AppPing, type FrameClass, type ParseOutput, type RateLimit } from './types.js';

/**
 * The derivatives part of a venue (`venues/<id>/derivs.ts`): perpetual-swap tickers (mark, index,
 * funding, open interest) and liquidations, on connections of their own (actors/feed/derivs-feed.ts),
 * since they live on other endpoints than the spot trades (Binance USD-M `/market`, Bybit `/linear`).
 * An adapter turns each frame into partial ticker updates (`DerivPatch`) and liquidations; the
 * feed merges the patches per venue+symbol (actors/feed/derivs-merge.ts).
 */

/** Some of a ticker's fields as one frame gave them: absent = not in this frame, null = the venue says there is none. */
export type DerivValues = Partial<DerivFields>;

export interface DerivPatch {
  venue: string;
  /** Canonical `BASE-QUOTE-PERP`. */
  symbol: string;
  venueSymbol: string;
  values: DerivValues;
  /** Venue time of the frame (receipt time where it has none), epoch ms. */
  ts: number;
  recvTs: number;
}

/** Batch sink of a derivatives connection: ParseOutput's control and rejects, plus patches and liquidations. */
export interface DerivsOutput extends ParseOutput {
  patches: DerivPatch[];
  liquidations: Liquidation[];
}

export function newDerivsOutput(): DerivsOutput {
  return { ...newParseOutput(), patches: [], liquidations: [] };
}

export function clearDerivsOutput(out: DerivsOutput): void {
  out.control.length = 0;
  out.rejects.length = 0;
  out.patches.length = 0;
  out.liquidations.length = 0;
}

/**
 * One derivatives connection's protocol, like `VenueAdapter` for trades: request frames out,
 * classified frames in. One instance per connection (OKX skips the first liquidation push of
 * each subscription; Bybit's ticker deltas need no state here: the merge keeps it).
 */
export interface DerivsAdapter {
  readonly venue: string;
  readonly appPing?: AppPing;
  /** Canonical `BASE-QUOTE-PERP` → the venue's instrument name. */
  toVenueSymbol(symbol: string): string;
  subscribeFrames(symbols: readonly string[], nextReqId: () => number): string[];
  unsubscribeFrames(symbols: readonly string[], nextReqId: () => number): string[];
  /**
   * Contract values by venue symbol (OKX `ctVal`), so contract quantities become base units.
   * Absent where quantities are already in base units.
   */
  setContractValues?(values: ReadonlyMap<string, string>): void;
  /** Classifies one frame into `out`; never throws (a bug becomes an `internal` reject). */
  parse(raw: string, recvTs: number, out: DerivsOutput): FrameClass;
}

/** A REST endpoint polled per symbol (Binance open interest). */
export interface DerivsRestPoll {
  path(venueSymbol: string): string;
  /** Request weight against `VenueLimits.restWeightPerMin`. */
  readonly weight: number;
  /** Body → a patch for `symbol`; throws on a malformed body. */
  parse(body: string, symbol: string, venueSymbol: string, recvTs: number): DerivPatch;
}

/** A REST endpoint read once per connection: contract values of the venue's swaps (OKX instruments). */
export interface DerivsContracts {
  path(): string;
  readonly weight: number;
  /** Body → contract value by venue symbol; throws on a malformed body. */
  parse(body: string): Map<string, string>;
}

export interface VenueDerivs {
  /** The derivatives endpoint from the configured `<VENUE>_WS_URL` (identity when absent). */
  wsUrl?(configured: string): string;
  createAdapter(): DerivsAdapter;
  /** Symbols one derivatives connection carries at most (default 100). */
  readonly symbolsPerConnection?: number;
  /** Open interest by REST where the socket does not carry it (Binance USD-M). */
  readonly openInterest?: DerivsRestPoll;
  readonly contracts?: DerivsContracts;
  /** The funding interval to assume until the venue states one or two settlements show it (Binance: 8 h). */
  readonly defaultFundingIntervalMs?: number;
  /** True where liquidations are a sample (Binance: the latest per symbol per second). */
  readonly sampledLiquidations: boolean;
  /** Connection attempts per IP for these connections where they differ from the venue's. */
  readonly connectsPerIp?: RateLimit;
}

/**
 * Runs one frame through `parse`: a rejected frame keeps nothing it appended, an exception becomes
 * one `internal` reject (a frame is still classified once).
 */
export function guardedDerivsParse(parse: (raw: string, recvTs: number, out: DerivsOutput) => FrameClass, raw: string, recvTs: number, out: DerivsOutput): FrameClass {
  const np = out.patches.length;
  const nl = out.liquidations.length;
  const nc = out.control.length;
  const nr = out.rejects.length;
  try {
    const cls = parse(raw, Number.isInteger(recvTs) ? recvTs : Math.floor(recvTs), out);
    if (cls === 'reject') {
      out.patches.length = np;
      out.liquidations.length = nl;
    }
    return cls;
  } catch (err) {
    out.patches.length = np;
    out.liquidations.length = nl;
    out.control.length = nc;
    out.rejects.length = nr;
    return reject(out, 'internal', '', err instanceof Error ? err.message : String(err), raw);
  }
}

/** `BTC-USDT-PERP` → `['BTC', 'USDT']`; null for anything that is not a canonical perpetual. */
export function splitPerp(symbol: string): [base: string, quote: string] | null {
  const m = /^([A-Z0-9]{1,20})-([A-Z0-9]{1,20})-PERP$/.exec(symbol);
  return m ? [m[1]!, m[2]!] : null;
}

export const PERP_SUFFIX = '-PERP';
