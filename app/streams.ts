import { Type, type Static } from '@sinclair/typebox';
import { loadEnv } from '../runtime/config.js';
import { TickworkError } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import type { Namespace } from '../runtime/namespace.js';
import { ensureDurableConsumer, ensureStream, type EnsureStreamResult, type JetStreamManager, type StreamSpec } from '../runtime/nats/index.js';
import { BOOK_STREAM, BOOK_STREAM_SUBJECTS } from '../schemas/book.js';
import { DERIV_STREAM, DERIV_STREAM_SUBJECTS, LIQ_STREAM, LIQ_STREAM_SUBJECTS } from '../schemas/deriv.js';
import { STREAMS, STREAM_SUBJECTS } from '../schemas/subjects.js';

const DAY = 86_400_000;

export const StreamsEnv = Type.Object({
  TICKWORK_DEDUPE_WINDOW_MS: Type.Integer({ default: 600_000, minimum: 1000, description: 'milliseconds >= 1000 (Nats-Msg-Id duplicate window)' }),
  TICKWORK_TRADES_MAX_AGE_MS: Type.Integer({ default: 7 * DAY, minimum: 0, description: 'milliseconds, 0 = unlimited' }),
  TICKWORK_TRADES_MAX_BYTES: Type.Integer({ default: -1, minimum: -1, description: 'bytes, -1 = unlimited' }),
  TICKWORK_QUOTES_MAX_AGE_MS: Type.Integer({ default: 1 * DAY, minimum: 0, description: 'milliseconds, 0 = unlimited' }),
  TICKWORK_CANDLES_MAX_AGE_MS: Type.Integer({ default: 30 * DAY, minimum: 0, description: 'milliseconds, 0 = unlimited' }),
  TICKWORK_DERIVS_MAX_AGE_MS: Type.Integer({ default: 7 * DAY, minimum: 0, description: 'milliseconds, 0 = unlimited (MD_DERIVS and MD_LIQS)' }),
  TICKWORK_STREAM_STORAGE: Type.Union([Type.Literal('file'), Type.Literal('memory')], { default: 'file', description: 'file or memory' }),
  TICKWORK_STREAM_REPLICAS: Type.Integer({ default: 1, minimum: 1, maximum: 5, description: 'an integer from 1 to 5 (JetStream replicas; 3 on a 3-node cluster)' }),
});
export type StreamsConfig = Static<typeof StreamsEnv>;

export const loadStreamsConfig = (env: NodeJS.ProcessEnv): StreamsConfig => loadEnv(StreamsEnv, env);

/** The sink's durable consumer on MD_CANDLES, as actors/sink/candle-sink.ts opens it. */
export const SINK_CONSUMER = { ackWaitMs: 120_000, maxAckPending: 20_000 } as const;

/** MD_TRADES, MD_QUOTES, MD_CANDLES, MD_ARB, MD_DLQ, MD_BOOKS, MD_DERIVS and MD_LIQS (namespaced) with the configured window, retention and replicas. */
export function marketStreamSpecs(ns: Namespace, cfg: StreamsConfig): StreamSpec[] {
  const dup = cfg.TICKWORK_DEDUPE_WINDOW_MS;
  const specs = [
    { key: 'trades', maxAgeMs: cfg.TICKWORK_TRADES_MAX_AGE_MS, maxBytes: cfg.TICKWORK_TRADES_MAX_BYTES },
    { key: 'quotes', maxAgeMs: cfg.TICKWORK_QUOTES_MAX_AGE_MS },
    { key: 'candles', maxAgeMs: cfg.TICKWORK_CANDLES_MAX_AGE_MS },
    { key: 'arb', maxAgeMs: 7 * DAY },
    { key: 'dlq', maxAgeMs: 30 * DAY },
  ] as const;
  return [
    ...specs.map((s) => ({
      name: ns.stream(STREAMS[s.key]),
      subjects: [ns.subject(STREAM_SUBJECTS[s.key])],
      // The duplicate window may not exceed max_age.
      duplicateWindowMs: s.maxAgeMs > 0 ? Math.min(dup, s.maxAgeMs) : dup,
      maxAgeMs: s.maxAgeMs,
      ...('maxBytes' in s ? { maxBytes: s.maxBytes } : {}),
      storage: cfg.TICKWORK_STREAM_STORAGE,
      replicas: cfg.TICKWORK_STREAM_REPLICAS,
    })),
    bookStreamSpec(ns, cfg),
    ...derivStreamSpecs(ns, cfg),
  ];
}

/** MD_DERIVS and MD_LIQS (schemas/deriv.ts): merged derivative tickers and liquidations, 7 days by default. */
function derivStreamSpecs(ns: Namespace, cfg: StreamsConfig): StreamSpec[] {
  const maxAgeMs = cfg.TICKWORK_DERIVS_MAX_AGE_MS;
  const dup = cfg.TICKWORK_DEDUPE_WINDOW_MS;
  return [
    [DERIV_STREAM, DERIV_STREAM_SUBJECTS],
    [LIQ_STREAM, LIQ_STREAM_SUBJECTS],
  ].map(([name, subject]) => ({
    name: ns.stream(name!),
    subjects: [ns.subject(subject!)],
    duplicateWindowMs: maxAgeMs > 0 ? Math.min(dup, maxAgeMs) : dup,
    maxAgeMs,
    storage: cfg.TICKWORK_STREAM_STORAGE,
    replicas: cfg.TICKWORK_STREAM_REPLICAS,
  }));
}

/**
 * MD_BOOKS: the latest top-N book per `md.booksnap.<venue>.<SYMBOL>` (consumers bootstrap with
 * last-per-subject), in memory whatever TICKWORK_STREAM_STORAGE says: the feeds rebuild it within
 * a second, and books are too hot for disk. The dedupe window only catches a replica's repeat.
 */
function bookStreamSpec(ns: Namespace, cfg: StreamsConfig): StreamSpec {
  return {
    name: ns.stream(BOOK_STREAM),
    subjects: [ns.subject(BOOK_STREAM_SUBJECTS)],
    duplicateWindowMs: 60_000,
    maxAgeMs: 0,
    storage: 'memory',
    replicas: cfg.TICKWORK_STREAM_REPLICAS,
    maxMsgsPerSubject: 1,
  };
}

/**
 * Every process calls it at start. Streams that exist with these settings are only read (any
 * role may); missing ones are created and differing ones updated when this NATS user may (only
 * `admin`/`migrate` in a least-privilege deployment). A stream left different is logged, naming
 * the settings, and the process goes on with it; a missing one it may not create is an error.
 */
export async function ensureMarketStreams(jsm: JetStreamManager, ns: Namespace, cfg: StreamsConfig, log?: Logger): Promise<EnsureStreamResult[]> {
  const results: EnsureStreamResult[] = [];
  for (const spec of marketStreamSpecs(ns, cfg)) {
    const r = await ensureStream(jsm, spec);
    if (r.action === 'differs') {
      log?.warn({ stream: r.name, differences: r.differences, err: r.error }, 'stream settings differ from this process\'s (run `tickwork migrate` with the admin credentials to apply them)');
    } else if (r.action !== 'unchanged') log?.info({ stream: r.name, action: r.action, differences: r.differences }, 'stream provisioned');
    results.push(r);
  }
  return results;
}

/**
 * `tickwork migrate`'s NATS part: the market streams created or updated to the configured
 * settings, and the sink's durable consumer on MD_CANDLES (`sink.durable`, app/nats-auth.ts's
 * sinkDurable). A stream it cannot update is an error. Returns one line per object.
 */
export async function provisionMarketStreams(jsm: JetStreamManager, ns: Namespace, cfg: StreamsConfig, sink: { durable: string }): Promise<string[]> {
  const lines: string[] = [];
  for (const spec of marketStreamSpecs(ns, cfg)) {
    const r = await ensureStream(jsm, spec);
    if (r.action === 'differs') throw new TickworkError('SERVICE_UNAVAILABLE', `cannot update JetStream stream ${r.name} (${r.differences.join('; ')}): ${r.error ?? 'refused'}`);
    lines.push(`stream ${r.name} ${r.action}${r.differences.length ? ` (${r.differences.join('; ')})` : ''}`);
  }
  const c = await ensureDurableConsumer(jsm, ns.stream(STREAMS.candles), { durable: sink.durable, ...SINK_CONSUMER });
  lines.push(`consumer ${ns.stream(STREAMS.candles)}/${sink.durable} ${c === 'created' ? 'created' : 'unchanged'}`);
  return lines;
}
