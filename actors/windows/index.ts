/** Window kernel: exact per-symbol candles and rolling VWAPs, driven by the symbol actor. */
export { SymbolWindows, type WindowTrade, type WindowStats, type WindowsSnapshot } from './symbol-windows.js';
export {
  SessionConfig,
  SessionConfigCheck,
  WindowsError,
  type WindowsErrorCode,
  DEFAULT_VWAP_WINDOWS,
  DEFAULT_HISTORY_SIZE,
  DEFAULT_MAX_GAP_BARS,
  durationMs,
  type WindowsConfig,
} from './config.js';
export { SessionCalendar, UTC_CALENDAR, type BarCalendar, type Bar } from './calendar.js';
export { vwapText, SeriesState } from './candle-series.js';
export { idBefore } from './trade-values.js';
