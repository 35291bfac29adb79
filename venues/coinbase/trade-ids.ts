import { SEQUENTIAL_NUMERIC_IDS } from '../kit/venue.js';
import type { IdRule } from '../../actors/symbol/trade-check.js';

/** Trade ids numbered per symbol in sequence (the worker reads this file, not the adapter's). */
export const TRADE_IDS: IdRule = SEQUENTIAL_NUMERIC_IDS;
