import { Type, type Static } from '@sinclair/typebox';
import { configError, CsvList, list, loadEnv } from '../../runtime/config.js';
import { TIMEFRAMES, type Tf } from '../../schemas/common.js';
import { durationMs } from '../windows/index.js';
import { sessionsFromJson } from './sessions.js';

export const WorkerEnv = Type.Object({
  TICKWORK_TIMEFRAMES: CsvList(`a comma-separated subset of ${TIMEFRAMES.join(' ')}`, TIMEFRAMES.join(',')),
  TICKWORK_VWAP_WINDOWS: CsvList('comma-separated durations like 1m,5m,15m', '1m,5m,15m'),
  TICKWORK_GRACE_MS: Type.Integer({ default: 2_000, minimum: 0, description: 'milliseconds a quiet symbol waits past an interval before closing it' }),
  TICKWORK_HISTORICAL_AFTER_MS: Type.Integer({
    default: 3_600_000,
    minimum: 0,
    description: "milliseconds a symbol's last trade may lag its apply time before the clock stops making empty bars past its data (a finished replay of old data)",
  }),
  TICKWORK_SNAPSHOT_EVERY_TRADES: Type.Integer({ default: 5_000, minimum: 1, description: 'trades between snapshots' }),
  TICKWORK_SNAPSHOT_EVERY_MS: Type.Integer({ default: 1_000, minimum: 10, description: 'milliseconds between snapshots of a changed symbol' }),
  TICKWORK_STATE_FLUSH_MS: Type.Integer({ default: 2, minimum: 0, description: 'milliseconds a live-state write may be delayed to coalesce trades' }),
  TICKWORK_LIVE_CANDLE_MS: Type.Integer({ default: 250, minimum: 0, description: 'milliseconds between open-candle updates per symbol' }),
  TICKWORK_IDLE_MS: Type.Integer({ default: 600_000, minimum: 1000, description: 'milliseconds before an idle symbol actor is passivated' }),
  TICKWORK_APPLY_ATTEMPTS: Type.Integer({ default: 3, minimum: 1, description: 'attempts before a trade that fails to apply goes to the DLQ' }),
  TICKWORK_TICK_MS: Type.Integer({ default: 250, minimum: 10, description: 'milliseconds between wall-clock ticks that close quiet candles' }),
  TICKWORK_SESSIONS: Type.String({ default: '', description: 'JSON object: { "<venue>:<SYMBOL>" | "<SYMBOL>": SessionConfig }' }),
  TICKWORK_SHARD: Type.String({ default: '0/1', pattern: '^[0-9]+/[1-9][0-9]*$', description: 'i/N, e.g. 0/1 or 2/4' }),
  TICKWORK_LEASE_TTL_MS: Type.Integer({ default: 10_000, minimum: 1_000, description: 'milliseconds >= 1000 a worker group member stays live without a heartbeat (takeover after it)' }),
});
export type WorkerConfig = Static<typeof WorkerEnv>;

const TIMEFRAMES_EXPECTED = `a comma-separated subset of ${TIMEFRAMES.join(' ')}`;

/**
 * The worker variables, each checked at start-up (a bad timeframe, VWAP window, session or shard
 * stops the process with one line naming the variable instead of failing per symbol later).
 */
export function loadWorkerConfig(env: NodeJS.ProcessEnv): WorkerConfig {
  const cfg = loadEnv(WorkerEnv, env);
  const tfs = list(cfg.TICKWORK_TIMEFRAMES);
  if (tfs.length === 0 || !tfs.every((t) => (TIMEFRAMES as readonly string[]).includes(t))) {
    throw configError('TICKWORK_TIMEFRAMES', env.TICKWORK_TIMEFRAMES, TIMEFRAMES_EXPECTED);
  }
  for (const w of list(cfg.TICKWORK_VWAP_WINDOWS)) {
    try {
      durationMs(w);
    } catch {
      throw configError('TICKWORK_VWAP_WINDOWS', env.TICKWORK_VWAP_WINDOWS, 'comma-separated durations like 1m,5m,15m (whole s, m or h)');
    }
  }
  const [i, n] = cfg.TICKWORK_SHARD.split('/').map(Number) as [number, number];
  if (!(i < n)) throw configError('TICKWORK_SHARD', env.TICKWORK_SHARD, 'i/N with i below N, e.g. 0/1 or 2/4');
  sessionsFromJson(cfg.TICKWORK_SESSIONS);
  return cfg;
}

export const timeframes = (cfg: WorkerConfig): Tf[] => list(cfg.TICKWORK_TIMEFRAMES) as Tf[];

export const vwapWindows = (cfg: WorkerConfig): string[] => list(cfg.TICKWORK_VWAP_WINDOWS);

/** `i/N` (checked by loadWorkerConfig: i < N). */
export function parseShard(text: string): { index: number; count: number } {
  const [index, count] = text.split('/').map(Number) as [number, number];
  return { index, count };
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
