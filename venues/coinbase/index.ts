import { defineVenue, SEQUENTIAL_NUMERIC_IDS } from '../kit/venue.js';
import { CoinbaseAdapter, LIMITS } from './adapter.js';
import { productTrades } from './history.js';
import { coinbaseBooks } from './book.js';
import { simulator } from './simulator.js';

/** Coinbase Exchange public feed. */
export const coinbase = defineVenue({
  id: 'coinbase',
  tradeIds: SEQUENTIAL_NUMERIC_IDS,
  wsUrl: 'wss://ws-feed.exchange.coinbase.com',
  restUrl: 'https://api.exchange.coinbase.com',
  limits: LIMITS,
  createAdapter: () => new CoinbaseAdapter(),
  history: productTrades,
  books: coinbaseBooks,
  simulator,
  demo: { symbols: ['BTC-USD', 'ETH-USD', 'SOL-USD'], upDemo: true },
});
