import { defineVenue } from '../kit/venue.js';
import { TRADE_IDS } from './trade-ids.js';
import { CoinbaseAdapter, LIMITS } from './adapter.js';
import { productTrades } from './history.js';
import { coinbaseBooks } from './book.js';
import { simulator } from './simulator.js';

/** Coinbase Exchange public feed. */
export const coinbase = defineVenue({
  id: 'coinbase',
  tradeIds: TRADE_IDS,
  wsUrl: 'wss://ws-feed.exchange.coinbase.com',
  restUrl: 'https://api.exchange.coinbase.com',
  limits: LIMITS,
  createAdapter: () => new CoinbaseAdapter(),
  history: productTrades,
  books: coinbaseBooks,
  simulator,
  demo: { symbols: ['BTC-USD', 'ETH-USD', 'SOL-USD'], upDemo: true },
});
