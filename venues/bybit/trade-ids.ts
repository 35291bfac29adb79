import type { IdRule } from '../../actors/symbol/trade-check.js';

/** Not sequential: numerals of up to 20 digits or UUIDs (the worker reads this file, not the adapter's). */
export const TRADE_IDS: IdRule = { numericDigits: 20, uuid: true };
