/**
 * `tickwork simulate`: a local exchange that speaks a venue's WebSocket and REST protocols,
 * replaying a recording or generating a synthetic market, and misbehaving on command.
 */
export { startSimulator, parseSpeed, defaultSynthetic } from './server.js';
export { SyntheticMarket, specFor, fixed, padded, trimmed } from './market.js';
export type { SymbolSpec, TradeRecord, AggRecord, BookTop, MarketEvent } from './market.js';
export { MisbehaviourSchema, MisbehaviourCheck } from './types.js';
export type {
  Misbehaviour,
  MalformedKind,
  Rate,
  SimLimits,
  SimStats,
  Simulator,
  SimulatorOptions,
  SymbolHistoryStats,
  SyntheticOptions,
  TrueBookView,
} from './types.js';
