/** PostgreSQL adapters: the only place tickwork writes SQL (actors use these ports). */
export { CandleStore, StoreEnv, storeOptionsFromEnv, type CandleQuery, type CandleStoreOptions, type StoreConfig } from './candles.js';
export { ArbitrageStore, ArbitrageRecord, ArbitrageEnv } from './arbitrage.js';
export { migrate, appliedMigrations, MIGRATIONS_DIR, type AppliedMigration, type MigrateResult } from './migrate.js';
export {
  ensurePartitions,
  applyRetention,
  partitionName,
  parsePartitionName,
  PARTITION_GRANULARITY,
  type RetentionResult,
} from './partitions.js';
