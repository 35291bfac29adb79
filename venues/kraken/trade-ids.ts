import { SEQUENTIAL_NUMERIC_IDS } from '../kit/venue.js';
import type { IdRule } from '../../actors/symbol/trade-check.js';

/** Sequential numerals (v2), or v1's synthetic `<µs>-<hash>` of recordings (the worker reads this file, not the adapter's). */
export const TRADE_IDS: IdRule = { ...SEQUENTIAL_NUMERIC_IDS, pattern: /^[0-9]{1,20}-[0-9a-f]{8}$/ };
