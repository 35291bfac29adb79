import { Type, type Static } from '@sinclair/typebox';
import { loadEnv } from '../runtime/config.js';
import type { Namespace } from '../runtime/namespace.js';
import { ensureStream, type JetStreamManager } from '../runtime/nats.js';
import { STREAMS, STREAM_SUBJECTS } from '../schemas/subjects.js';

const DAY = 86_400_000;

export const StreamsEnv = Type.Object({
  TICKWORK_DEDUPE_WINDOW_MS: Type.Integer({ default: 600_000, minimum: 1000, description: 'milliseconds >= 1000 (Nats-Msg-Id duplicate window)' }),
  TICKWORK_TRADES_MAX_AGE_MS: Type.Integer({ default: 7 * DAY, minimum: 0, description: 'milliseconds, 0 = unlimited' }),
  TICKWORK_TRADES_MAX_BYTES: Type.Integer({ default: -1, minimum: -1, description: 'bytes, -1 = unlimited' }),
  TICKWORK_QUOTES_MAX_AGE_MS: Type.Integer({ default: 1 * DAY, minimum: 0, description: 'milliseconds, 0 = unlimited' }),
  TICKWORK_CANDLES_MAX_AGE_MS: Type.Integer({ default: 30 * DAY, minimum: 0, description: 'milliseconds, 0 = unlimited' }),
  TICKWORK_STREAM_STORAGE: Type.Union([Type.Literal('file'), Type.Literal('memory')], { default: 'file', description: 'file or memory' }),
});
export type StreamsConfig = Static<typeof StreamsEnv>;

/**
 * Creates or updates MD_TRADES, MD_QUOTES, MD_CANDLES, MD_ARB and MD_DLQ (namespaced) with the
 * configured duplicate window and retention. Every process calls it at start; it is idempotent.
 */
export async function ensureMarketStreams(jsm: JetStreamManager, ns: Namespace, cfg: StreamsConfig = loadEnv(StreamsEnv)): Promise<void> {
  const dup = cfg.TICKWORK_DEDUPE_WINDOW_MS;
  const storage = cfg.TICKWORK_STREAM_STORAGE;
  const specs = [
    { key: 'trades', maxAgeMs: cfg.TICKWORK_TRADES_MAX_AGE_MS, maxBytes: cfg.TICKWORK_TRADES_MAX_BYTES },
    { key: 'quotes', maxAgeMs: cfg.TICKWORK_QUOTES_MAX_AGE_MS },
    { key: 'candles', maxAgeMs: cfg.TICKWORK_CANDLES_MAX_AGE_MS },
    { key: 'arb', maxAgeMs: 7 * DAY },
    { key: 'dlq', maxAgeMs: 30 * DAY },
  ] as const;
  for (const s of specs) {
    await ensureStream(jsm, {
      name: ns.stream(STREAMS[s.key]),
      subjects: [ns.subject(STREAM_SUBJECTS[s.key])],
      // The duplicate window may not exceed max_age.
      duplicateWindowMs: s.maxAgeMs > 0 ? Math.min(dup, s.maxAgeMs) : dup,
      maxAgeMs: s.maxAgeMs,
      ...('maxBytes' in s ? { maxBytes: s.maxBytes } : {}),
      storage,
    });
  }
}
