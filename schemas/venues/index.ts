export * from './common.js';
export * from './binance.js';
export * from './bybit.js';
export * from './coinbase.js';
export * from './kraken.js';
export * from './okx.js';
