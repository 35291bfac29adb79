import { Type, type Static } from '@sinclair/typebox';
import { CsvList, list, loadEnv } from '../../runtime/config.js';
import { TIMEFRAMES, type Tf } from '../../schemas/common.js';

export const WorkerEnv = Type.Object({
  TICKWORK_TIMEFRAMES: CsvList(`a comma-separated subset of ${TIMEFRAMES.join(' ')}`, TIMEFRAMES.join(',')),
  TICKWORK_VWAP_WINDOWS: CsvList('comma-separated durations like 1m,5m,15m', '1m,5m,15m'),
  TICKWORK_GRACE_MS: Type.Integer({ default: 2_000, minimum: 0, description: 'milliseconds a quiet symbol waits past an interval before closing it' }),
  TICKWORK_SNAPSHOT_EVERY_TRADES: Type.Integer({ default: 5_000, minimum: 1, description: 'trades between snapshots' }),
  TICKWORK_SNAPSHOT_EVERY_MS: Type.Integer({ default: 1_000, minimum: 10, description: 'milliseconds between snapshots of a changed symbol' }),
  TICKWORK_STATE_FLUSH_MS: Type.Integer({ default: 2, minimum: 0, description: 'milliseconds a live-state write may be delayed to coalesce trades' }),
  TICKWORK_LIVE_CANDLE_MS: Type.Integer({ default: 250, minimum: 0, description: 'milliseconds between open-candle updates per symbol' }),
  TICKWORK_IDLE_MS: Type.Integer({ default: 600_000, minimum: 1000, description: 'milliseconds before an idle symbol actor is passivated' }),
  TICKWORK_APPLY_ATTEMPTS: Type.Integer({ default: 3, minimum: 1, description: 'attempts before a trade that fails to apply goes to the DLQ' }),
  TICKWORK_TICK_MS: Type.Integer({ default: 250, minimum: 10, description: 'milliseconds between wall-clock ticks that close quiet candles' }),
  TICKWORK_SESSIONS: Type.String({ default: '', description: 'JSON object: { "<venue>:<SYMBOL>" | "<SYMBOL>": SessionConfig }' }),
  TICKWORK_SHARD: Type.String({ default: '0/1', pattern: '^[0-9]+/[1-9][0-9]*$', description: 'i/N, e.g. 0/1 or 2/4' }),
});
export type WorkerConfig = Static<typeof WorkerEnv>;

export const loadWorkerConfig = (env: NodeJS.ProcessEnv = process.env): WorkerConfig => loadEnv(WorkerEnv, env);

export function timeframes(cfg: WorkerConfig): Tf[] {
  const tfs = list(cfg.TICKWORK_TIMEFRAMES);
  const bad = tfs.find((t) => !(TIMEFRAMES as readonly string[]).includes(t));
  if (bad) throw new RangeError(`TICKWORK_TIMEFRAMES: unknown timeframe ${bad}`);
  return tfs as Tf[];
}

export function parseShard(text: string): { index: number; count: number } {
  const [i, n] = text.split('/').map(Number) as [number, number];
  if (!(i < n)) throw new RangeError(`shard ${text}: index must be below the count`);
  return { index: i, count: n };
}

/** FNV-1a of `venue:symbol`: which shard owns a symbol. Stable across processes and versions. */
export function shardOf(venue: string, symbol: string, count: number): number {
  let h = 0x811c9dc5;
  const s = `${venue}:${symbol}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % count;
}
