import type { IdRule } from '../actors/symbol/trade-check.js';
import { TRADE_IDS as binance } from './binance/trade-ids.js';
import { TRADE_IDS as bybit } from './bybit/trade-ids.js';
import { TRADE_IDS as coinbase } from './coinbase/trade-ids.js';
import { TRADE_IDS as kraken } from './kraken/trade-ids.js';
import { TRADE_IDS as okx } from './okx/trade-ids.js';

/**
 * The trade-id rule of every venue that has one, by venue id: what the symbol actors check bus
 * trades against. The worker needs only this, so it comes from each venue's small trade-ids.ts
 * rather than the registry (venues/index.ts), which loads every adapter, book and simulator
 * (~6 MB of a worker's memory). test/venues/trade-ids.test.ts holds it equal to the registry's.
 */
export const TRADE_ID_RULES: Readonly<Record<string, IdRule>> = Object.freeze({
  binance,
  'binance-us': binance,
  'binance-futures': binance,
  bybit,
  coinbase,
  kraken,
  okx,
});
