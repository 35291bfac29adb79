export * from './common.js';
export * from './trade.js';
export * from './quote.js';
export * from './candle.js';
export * from './state.js';
export * from './subjects.js';
export * from './arbitrage.js';
