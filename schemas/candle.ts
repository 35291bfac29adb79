import { Type, type Static } from '@sinclair/typebox';
import { lazyCheck } from './check.js';
import { TickworkError } from '../runtime/errors.js';
import { DecimalString, EpochMs, Symbol, Timeframe, VenueId } from './common.js';

/** Candle (DESIGN.md contract). closeTime = openTime + tf − 1 ms, as exchange klines. */
export const Candle = Type.Object({
  venue: VenueId,
  symbol: Symbol,
  tf: Timeframe,
  openTime: EpochMs,
  closeTime: EpochMs,
  open: DecimalString,
  high: DecimalString,
  low: DecimalString,
  close: DecimalString,
  volume: DecimalString,
  quoteVolume: DecimalString,
  vwap: DecimalString,
  trades: Type.Integer({ minimum: 0 }),
  buyVolume: DecimalString,
  firstTradeId: Type.Union([Type.String(), Type.Null()]),
  lastTradeId: Type.Union([Type.String(), Type.Null()]),
  closed: Type.Boolean(),
});
export type Candle = Static<typeof Candle>;
export const CandleCheck = lazyCheck(Candle);

/** `Nats-Msg-Id` of a closed candle: `<venue>:<SYMBOL>:<tf>:<openTime>`. */
export const candleMsgId = (c: Pick<Candle, 'venue' | 'symbol' | 'tf' | 'openTime'>): string =>
  `${c.venue}:${c.symbol}:${c.tf}:${c.openTime}`;

/**
 * Header with the revision of a candle version on MD_CANDLES. The sink keeps the highest
 * revision per candle, so an older version (a re-delivery, a restarted worker re-emitting) never
 * replaces a newer correction, and a forged candle cannot win by claiming more trades.
 */
export const CANDLE_REVISION_HEADER = 'Tickwork-Revision';

/**
 * The revision a symbol actor sends with a candle version: the MD_TRADES stream sequence of the
 * last trade it had applied when it emitted that version (a closing trade, a late trade's
 * correction, or the last trade before a quiet bar closed on a tick). Deterministic across
 * restarts (a replay re-applies the same sequences), increasing per candle (a correction needs a
 * later trade), and bounded by MD_TRADES' last sequence, which the sink checks.
 */
export function candleRevision(lastAppliedSeq: number): string {
  if (!Number.isSafeInteger(lastAppliedSeq) || lastAppliedSeq < 1) {
    throw new TickworkError('CANDLE_INVALID', `candle revision must be a stream sequence >= 1, got ${lastAppliedSeq}`);
  }
  return String(lastAppliedSeq);
}

/**
 * The revision in a header value: absent → 0 (a candle from a worker that predates revisions: it
 * never replaces a revised row), a canonical positive integer → it, anything else → null (invalid).
 */
export function parseCandleRevision(value: string | undefined | null): number | null {
  if (value === undefined || value === null || value === '') return 0;
  if (!/^[1-9][0-9]{0,15}$/.test(value)) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}
