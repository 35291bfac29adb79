import { compare, mul, parseDecimal, sub, type Decimal } from '../runtime/decimal.js';
import type { Candle } from './candle.js';
import { TF_MS, type Tf } from './common.js';

/**
 * Semantic check of a candle taken off the bus (MD_CANDLES for the sink, md.live.candle for the
 * API's WebSocket clients): the schema said the shape is right, this says the numbers belong to
 * one real candle of the subject it came on. Pure and exact (runtime/decimal, no floats).
 */

/** Why a candle was refused; stable, for DLQ reasons and metric labels. */
export type CandleRejectCode =
  /** tf, venue or symbol differ from the subject's tokens, or `closed` from what the subject carries. */
  | 'CANDLE_SUBJECT_MISMATCH'
  /** closeTime is not openTime + tf − 1, openTime is not on the tf grid, or a time is out of range. */
  | 'CANDLE_TIME_INVALID'
  /** A price not above zero, or high/low not bounding open and close. */
  | 'CANDLE_PRICE_INVALID'
  /** A volume below zero, buyVolume above volume, or quoteVolume / volume outside [low, high]. */
  | 'CANDLE_VOLUME_INVALID'
  /** vwap not quoteVolume / volume at its own digits (or the close when there is no volume). */
  | 'CANDLE_VWAP_INVALID'
  /** trades and the rest disagree: a candle with trades has volume and ids, a gap candle has neither. */
  | 'CANDLE_TRADES_INVALID';

export interface CandleReject {
  code: CandleRejectCode;
  /** Names the fields and values, e.g. `high 99 below close 100`. */
  message: string;
}

/** What the subject says the candle must be. */
export interface CandleExpectation {
  tf: string;
  venue: string;
  symbol: string;
  /** true on md.candle (closed candles), false on md.live.candle (the open one). */
  closed: boolean;
  /**
   * The symbol trades in sessions (TICKWORK_SESSIONS): its bars align to the session open and the
   * last one is cut at the close, so only 0 < length ≤ tf + 1 h (a DST day) is required.
   */
  session?: boolean;
}

/** The latest instant PostgreSQL and ISO 8601 both hold with a 4-digit year: 9999-12-31T23:59:59.999Z. */
export const MAX_EPOCH_MS = 253_402_300_799_999;

const HOUR = 3_600_000;
const ZERO: Decimal = { units: 0n, scale: 0 };

/** The first rule `c` breaks, or null when it is a plausible candle of that subject. */
export function checkCandle(c: Candle, expect: CandleExpectation): CandleReject | null {
  if (c.tf !== expect.tf || c.venue !== expect.venue || c.symbol !== expect.symbol) {
    return reject('CANDLE_SUBJECT_MISMATCH', `body ${c.venue} ${c.symbol} ${c.tf} on subject ${expect.venue} ${expect.symbol} ${expect.tf}`);
  }
  if (c.closed !== expect.closed) return reject('CANDLE_SUBJECT_MISMATCH', `closed ${c.closed} on a subject of ${expect.closed ? 'closed' : 'open'} candles`);

  const tfMs = TF_MS[c.tf as Tf];
  if (c.openTime > MAX_EPOCH_MS || c.closeTime > MAX_EPOCH_MS) return reject('CANDLE_TIME_INVALID', `openTime ${c.openTime} / closeTime ${c.closeTime} beyond ${MAX_EPOCH_MS}`);
  const length = c.closeTime - c.openTime + 1;
  if (expect.session) {
    if (length < 1 || length > tfMs + (tfMs >= HOUR ? HOUR : 0)) return reject('CANDLE_TIME_INVALID', `closeTime ${c.closeTime} gives a ${length} ms bar for ${c.tf}`);
  } else {
    if (length !== tfMs) return reject('CANDLE_TIME_INVALID', `closeTime ${c.closeTime} is not openTime ${c.openTime} + ${c.tf} − 1`);
    if (c.openTime % tfMs !== 0) return reject('CANDLE_TIME_INVALID', `openTime ${c.openTime} is not on the ${c.tf} grid`);
  }

  const open = parseDecimal(c.open);
  const high = parseDecimal(c.high);
  const low = parseDecimal(c.low);
  const close = parseDecimal(c.close);
  for (const [name, v] of [['open', open], ['high', high], ['low', low], ['close', close]] as const) {
    if (v.units <= 0n) return reject('CANDLE_PRICE_INVALID', `${name} ${c[name]} is not above zero`);
  }
  for (const [name, v] of [['open', open], ['close', close], ['low', low]] as const) {
    if (compare(high, v) < 0) return reject('CANDLE_PRICE_INVALID', `high ${c.high} below ${name} ${c[name]}`);
  }
  for (const [name, v] of [['open', open], ['close', close]] as const) {
    if (compare(low, v) > 0) return reject('CANDLE_PRICE_INVALID', `low ${c.low} above ${name} ${c[name]}`);
  }

  const volume = parseDecimal(c.volume);
  const quote = parseDecimal(c.quoteVolume);
  const buy = parseDecimal(c.buyVolume);
  const vwap = parseDecimal(c.vwap);
  for (const [name, v] of [['volume', volume], ['quoteVolume', quote], ['buyVolume', buy]] as const) {
    if (v.units < 0n) return reject('CANDLE_VOLUME_INVALID', `${name} ${c[name]} is negative`);
  }
  if (compare(buy, volume) > 0) return reject('CANDLE_VOLUME_INVALID', `buyVolume ${c.buyVolume} above volume ${c.volume}`);

  if (c.trades === 0) {
    if (volume.units !== 0n || quote.units !== 0n || buy.units !== 0n) return reject('CANDLE_TRADES_INVALID', `trades 0 with volume ${c.volume}, quoteVolume ${c.quoteVolume}, buyVolume ${c.buyVolume}`);
    if (compare(open, close) !== 0 || compare(high, close) !== 0 || compare(low, close) !== 0) return reject('CANDLE_TRADES_INVALID', 'trades 0 with open, high, low and close not all equal');
    if (c.firstTradeId !== null || c.lastTradeId !== null) return reject('CANDLE_TRADES_INVALID', 'trades 0 with trade ids');
    if (compare(vwap, close) !== 0) return reject('CANDLE_VWAP_INVALID', `vwap ${c.vwap} of a gap candle is not its close ${c.close}`);
    return null;
  }
  if (volume.units === 0n) return reject('CANDLE_TRADES_INVALID', `trades ${c.trades} with volume 0`);
  if (c.firstTradeId === null || c.lastTradeId === null) return reject('CANDLE_TRADES_INVALID', `trades ${c.trades} without first/last trade ids`);
  // Σ price × qty lies between low × volume and high × volume.
  if (compare(quote, mul(low, volume)) < 0 || compare(quote, mul(high, volume)) > 0) {
    return reject('CANDLE_VOLUME_INVALID', `quoteVolume ${c.quoteVolume} / volume ${c.volume} outside [low ${c.low}, high ${c.high}]`);
  }
  // vwap is quote / volume rounded to its own digits: within one unit of its last digit.
  const err = sub(mul(vwap, volume), quote);
  const ulpTimesVolume: Decimal = { units: volume.units, scale: volume.scale + vwap.scale };
  if (compare(err.units < 0n ? { units: -err.units, scale: err.scale } : err, ulpTimesVolume) > 0 || compare(vwap, ZERO) <= 0) {
    return reject('CANDLE_VWAP_INVALID', `vwap ${c.vwap} is not quoteVolume ${c.quoteVolume} / volume ${c.volume}`);
  }
  return null;
}

const reject = (code: CandleRejectCode, message: string): CandleReject => ({ code, message });

/**
 * The tokens of a candle subject after the namespace is removed: `md.candle.<tf>.<venue>.<SYMBOL>`
 * (closed) or `md.live.candle.<tf>.<venue>.<SYMBOL>` (open); null for anything else.
 */
export function candleSubjectTokens(subject: string): { tf: string; venue: string; symbol: string; closed: boolean } | null {
  const t = subject.split('.');
  if (t.length === 5 && t[0] === 'md' && t[1] === 'candle') return { tf: t[2]!, venue: t[3]!, symbol: t[4]!, closed: true };
  if (t.length === 6 && t[0] === 'md' && t[1] === 'live' && t[2] === 'candle') return { tf: t[3]!, venue: t[4]!, symbol: t[5]!, closed: false };
  return null;
}
