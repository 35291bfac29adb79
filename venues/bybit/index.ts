import { defineVenue } from '../kit/venue.js';
import { TRADE_IDS } from './trade-ids.js';
import { bybitDerivs } from './derivs.js';
import { BybitAdapter, LIMITS } from './adapter.js';
import { recentTrades } from './history.js';
import { bybitBooks } from './book.js';
import { simulator } from './simulator.js';

/** Bybit v5 spot (linear via `BYBIT_WS_URL`); trade ids are not sequential: its REST history serves only recent trades, no gap filling. */
export const bybit = defineVenue({
  id: 'bybit',
  tradeIds: TRADE_IDS,
  wsUrl: 'wss://stream.bybit.com/v5/public/spot',
  restUrl: 'https://api.bybit.com',
  limits: LIMITS,
  createAdapter: () => new BybitAdapter(),
  history: recentTrades,
  books: bybitBooks,
  derivs: bybitDerivs,
  simulator,
  demo: { symbols: ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'], upDemo: true },
});
