import { defineVenue } from '../kit/venue.js';
import { TRADE_IDS } from './trade-ids.js';
import { binanceFuturesDerivs } from './derivs.js';
import { BinanceAdapter, FUTURES_LIMITS, LIMITS } from './adapter.js';
import { binanceBooks } from './book.js';
import { aggTrades } from './history.js';
import { futuresSimulator, simulator } from './simulator.js';

/** Binance spot and Binance.US: one protocol, two hosts (Binance.US is not in `up --demo`). */
const SYMBOLS = ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'];

export const binance = defineVenue({
  id: 'binance',
  tradeIds: TRADE_IDS,
  wsUrl: 'wss://stream.binance.com:9443/stream',
  restUrl: 'https://api.binance.com',
  limits: LIMITS,
  createAdapter: () => new BinanceAdapter('binance'),
  history: aggTrades,
  books: binanceBooks('binance'),
  simulator,
  demo: { symbols: SYMBOLS, upDemo: true },
});

export const binanceUs = defineVenue({
  id: 'binance-us',
  tradeIds: TRADE_IDS,
  wsUrl: 'wss://stream.binance.us:9443/stream',
  restUrl: 'https://api.binance.us',
  limits: LIMITS,
  createAdapter: () => new BinanceAdapter('binance-us'),
  history: aggTrades,
  books: binanceBooks('binance-us'),
  simulator,
  demo: { symbols: SYMBOLS, upDemo: false },
});

/**
 * Binance USD-M perpetuals (`BASE-QUOTE-PERP`). Since the 2026-04-23 URL split, `/market` carries
 * aggTrade (and markPrice, forceOrder) and `/public` depth and bookTicker: `BINANCE_FUTURES_WS_URL`
 * names the `/market` endpoint and the book connections use its `/public` twin (book.ts). The
 * quotes channel subscribes bookTicker on the `/market` connection, which the live venue no longer
 * serves there: live quotes then come from the book (`source: "book"`, TICKWORK_BOOKS=1).
 */
export const binanceFutures = defineVenue({
  id: 'binance-futures',
  tradeIds: TRADE_IDS,
  wsUrl: 'wss://fstream.binance.com/market/stream',
  restUrl: 'https://fapi.binance.com',
  limits: FUTURES_LIMITS,
  createAdapter: () => new BinanceAdapter('binance-futures', true),
  books: binanceBooks('binance-futures'),
  derivs: binanceFuturesDerivs,
  simulator: futuresSimulator,
  demo: { symbols: ['BTC-USDT-PERP', 'ETH-USDT-PERP'], upDemo: false },
});
