import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { Tf } from '../../schemas/common.js';
import { TickworkError, type TickworkErrorCode } from '../../runtime/errors.js';

/**
 * Trading session of a symbol, in its exchange's local time. Bars align to the session open
 * and the last bar is cut at the close. `close <= open` means the session ends the next day
 * (`00:00`–`00:00` is a 24 h session starting at local midnight).
 */
export const SessionConfig = Type.Object({
  /** IANA zone, e.g. `America/New_York`. */
  timeZone: Type.String({ minLength: 1 }),
  /** Local `HH:MM` (24 h). */
  open: Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' }),
  close: Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' }),
  /** ISO weekdays of the session's opening local date, 1 = Monday … 7 = Sunday. Default Monday–Friday. */
  weekdays: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), { minItems: 1, maxItems: 7 })),
  /** Local dates (`YYYY-MM-DD`) on which no session opens. */
  holidays: Type.Optional(Type.Array(Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' }))),
});
export type SessionConfig = Static<typeof SessionConfig>;
export const SessionConfigCheck = TypeCompiler.Compile(SessionConfig);

export interface WindowsConfig {
  venue: string;
  symbol: string;
  /** Candle timeframes to keep (default all seven). */
  timeframes?: readonly Tf[];
  /** Rolling VWAP windows as durations (`30s`, `1m`, `15m`, `1h`; whole seconds). Default 1m, 5m, 15m. */
  vwapWindows?: readonly string[];
  /** Price fraction digits for VWAP rounding (VWAP gets this + 4). Default: the most seen so far. */
  pricePrecision?: number;
  /** Trading session; absent or null = 24/7, bars aligned to UTC epoch multiples. */
  session?: SessionConfig | null;
  /** Closed candles kept per timeframe for late-trade corrections (default 16). */
  historySize?: number;
  /**
   * Most bars one timeframe may close in a single step (default 86,400: a day of 1s bars, about
   * 88,000 candles over all seven timeframes). A trade or advance that would need more is
   * refused with WindowsError `WINDOW_GAP_TOO_LONG` before any state changes: one bogus
   * far-future timestamp must not make the worker emit a flood of gap candles.
   */
  maxGapBars?: number;
}

export const DEFAULT_VWAP_WINDOWS = ['1m', '5m', '15m'] as const;
export const DEFAULT_HISTORY_SIZE = 16;
export const DEFAULT_MAX_GAP_BARS = 86_400;

export type WindowsErrorCode = Extract<TickworkErrorCode, `WINDOW_${string}`>;

/**
 * The window kernel's errors. `WINDOW_GAP_TOO_LONG`: a step the windows refuse to take (nothing
 * was changed); `WINDOW_CONFIG_INVALID`: a bad config or session; `WINDOW_SNAPSHOT_INVALID`: a
 * snapshot these windows cannot restore.
 */
export class WindowsError extends TickworkError {
  declare readonly code: WindowsErrorCode;
  constructor(code: WindowsErrorCode, message: string) {
    super(code, message);
  }
}

export const configError = (message: string): WindowsError => new WindowsError('WINDOW_CONFIG_INVALID', message);

/** `30s` / `5m` / `1h` → milliseconds; throws on anything else. */
export function durationMs(label: string): number {
  const m = /^([1-9][0-9]*)(s|m|h)$/.exec(label);
  if (!m) throw configError(`bad window duration ${JSON.stringify(label)} (expected e.g. 30s, 5m, 1h)`);
  return Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'];
}
