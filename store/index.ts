/** PostgreSQL adapters: the only place tickwork writes SQL (actors use these ports). */
export { CandleStore, StoreEnv, loadStoreSettings, type CandleQuery, type CandleStoreOptions, type RevisedCandle, type StoreConfig, type StoreSettings } from './candles.js';
export { ArbitrageStore, ArbitrageRecord, ArbitrageEnv, loadArbitrageRetention } from './arbitrage.js';
export { migrate, appliedMigrations, knownMigrations, pendingMigrations, MIGRATIONS_DIR, type AppliedMigration, type MigrateResult } from './migrate.js';
export {
  ensurePartitions,
  applyRetention,
  partitionName,
  parsePartitionName,
  PARTITION_GRANULARITY,
  type RetentionResult,
} from './partitions.js';
