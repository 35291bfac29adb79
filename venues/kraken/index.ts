import { defineVenue } from '../kit/venue.js';
import { TRADE_IDS } from './trade-ids.js';
import { KrakenAdapter, LIMITS } from './adapter.js';
import { publicTrades } from './history.js';
import { krakenBooks } from './book.js';
import { simulator } from './simulator.js';

/** Kraken spot WebSocket v2 (v1 frames of recordings understood too). */
export const kraken = defineVenue({
  id: 'kraken',
  tradeIds: TRADE_IDS,
  wsUrl: 'wss://ws.kraken.com/v2',
  restUrl: 'https://api.kraken.com',
  limits: LIMITS,
  createAdapter: () => new KrakenAdapter(),
  history: publicTrades,
  books: krakenBooks,
  simulator,
  demo: { symbols: ['BTC-USD', 'ETH-USD', 'SOL-USD'], upDemo: true },
});
