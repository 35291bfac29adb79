/** The spread actor: cross-venue opportunities per canonical symbol (md.arb.<SYMBOL> + PostgreSQL). */
export { SpreadWorker, type SpreadWorkerDeps } from './spread-worker.js';
export { SpreadActor, type SpreadActorPorts, type SpreadMsg } from './spread-actor.js';
export { ArbitrageWriter, type ArbitrageSink, type ArbitrageWriterOptions } from './arbitrage-writer.js';
export { bestCrossing, crossesBy, sameCrossing, spreadBps, type Crossing, type VenueTop } from './crossing.js';
export { SpreadEnv, loadSpreadConfig, type SpreadConfig } from './config.js';
export { spreadMetrics } from './metrics.js';
