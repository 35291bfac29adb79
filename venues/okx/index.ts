import { defineVenue } from '../kit/venue.js';
import { TRADE_IDS } from './trade-ids.js';
import { okxDerivs } from './derivs.js';
import { LIMITS, OkxAdapter } from './adapter.js';
import { historyTrades } from './history.js';
import { okxBooks } from './book.js';
import { simulator } from './simulator.js';

/** OKX v5 public channels (spot instruments). */
export const okx = defineVenue({
  id: 'okx',
  tradeIds: TRADE_IDS,
  wsUrl: 'wss://ws.okx.com:8443/ws/v5/public',
  restUrl: 'https://www.okx.com',
  limits: LIMITS,
  createAdapter: () => new OkxAdapter(),
  history: historyTrades,
  books: okxBooks,
  derivs: okxDerivs,
  simulator,
  demo: { symbols: ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'], upDemo: true },
});
