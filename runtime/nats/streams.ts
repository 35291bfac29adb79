import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { TickworkError } from '../errors.js';

export interface StreamSpec {
  name: string;
  subjects: string[];
  /** Nats-Msg-Id dedupe window, ms. */
  duplicateWindowMs: number;
  maxAgeMs?: number;
  maxBytes?: number;
  storage?: 'file' | 'memory';
  /** Copies of every message in a cluster (1 on a standalone server). Default 1. */
  replicas?: number;
  /** Messages kept per subject (MD_BOOKS: 1, the latest); default unlimited. */
  maxMsgsPerSubject?: number;
}

/** What ensureStream found and did; `differences` name the settings that differ from the spec (`differs`: left as they are). */
export interface EnsureStreamResult {
  name: string;
  action: 'created' | 'updated' | 'unchanged' | 'differs';
  differences: string[];
  /** Why an update was not made (`differs`). */
  error?: string;
}

export interface EnsureStreamOptions {
  /**
   * Update a stream whose settings differ (default true). A process without the right to (only
   * `admin` has it, see app/nats-auth.ts) gets `differs` back when the update is refused.
   */
  update?: boolean;
}

/**
 * Creates the stream, or updates it to `spec` when its settings differ; when they do not, it only
 * reads the stream's info, so any role may call it at start-up once `tickwork migrate` (or the
 * first process with the right to) created the streams.
 */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec, opts: EnsureStreamOptions = {}): Promise<EnsureStreamResult> {
  const cfg: Partial<StreamConfig> & { name: string } = {
    name: spec.name,
    subjects: spec.subjects,
    retention: RetentionPolicy.Limits,
    storage: spec.storage === 'memory' ? StorageType.Memory : StorageType.File,
    discard: DiscardPolicy.Old,
    duplicate_window: spec.duplicateWindowMs * 1_000_000,
    max_age: (spec.maxAgeMs ?? 0) * 1_000_000,
    max_bytes: spec.maxBytes ?? -1,
    num_replicas: spec.replicas ?? 1,
    max_msgs_per_subject: spec.maxMsgsPerSubject ?? -1,
  };
  let cur: StreamConfig;
  try {
    cur = (await jsm.streams.info(spec.name)).config;
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await jsm.streams.add(cfg);
      return { name: spec.name, action: 'created', differences: [] };
    } catch (addErr) {
      // Another process created it between our info and add: check it as found.
      if (!String((addErr as Error).message).includes('already in use')) throw cannot('create', spec.name, addErr);
      cur = (await jsm.streams.info(spec.name)).config;
    }
  }
  const differences = diff(cur, cfg);
  if (differences.length === 0) return { name: spec.name, action: 'unchanged', differences };
  if (opts.update === false) return { name: spec.name, action: 'differs', differences };
  try {
    await jsm.streams.update(spec.name, { ...cur, ...cfg } as StreamConfig);
    return { name: spec.name, action: 'updated', differences };
  } catch (err) {
    return { name: spec.name, action: 'differs', differences, error: (err as Error).message };
  }
}

/** Settings of `cur` that differ from `want`, as `field current → wanted`. */
function diff(cur: StreamConfig, want: Partial<StreamConfig>): string[] {
  const out: string[] = [];
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const subjects = (s: string[] | undefined) => [...(s ?? [])].sort();
  if (!same(subjects(cur.subjects), subjects(want.subjects))) out.push(`subjects ${cur.subjects?.join(',')} → ${want.subjects?.join(',')}`);
  for (const k of ['duplicate_window', 'max_age', 'max_bytes', 'num_replicas', 'storage', 'max_msgs_per_subject'] as const) {
    if (!same(cur[k], want[k])) out.push(`${k} ${String(cur[k])} → ${String(want[k])}`);
  }
  return out;
}

function cannot(what: string, name: string, err: unknown): TickworkError {
  const why = (err as Error).message;
  const hint = /permission|authorization|timeout/i.test(why) ? ' (this NATS user may not; run `tickwork migrate` with the admin credentials)' : '';
  return new TickworkError('SERVICE_UNAVAILABLE', `cannot ${what} JetStream stream ${name}: ${why}${hint}`, { cause: err });
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; message?: string; api_error?: { err_code?: number } };
  return e?.api_error?.err_code === 10059 || /not found/i.test(e?.message ?? '');
}

/** A durable pull consumer with explicit acks over a whole stream. */
export interface DurableSpec {
  durable: string;
  ackWaitMs: number;
  maxAckPending: number;
}

/** Creates the durable consumer unless it exists (its settings are then left as they are). */
export async function ensureDurableConsumer(jsm: JetStreamManager, stream: string, spec: DurableSpec): Promise<'created' | 'exists'> {
  try {
    await jsm.consumers.info(stream, spec.durable);
    return 'exists';
  } catch (err) {
    if (!/consumer not found/i.test((err as Error).message ?? '')) throw err;
  }
  await jsm.consumers.add(stream, {
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: spec.ackWaitMs * 1_000_000,
    max_ack_pending: spec.maxAckPending,
  });
  return 'created';
}

/** The JSON body of the last message on `subject` in `stream`, or null when the subject has none. */
export async function lastMessageJson<T>(jsm: JetStreamManager, stream: string, subject: string): Promise<T | null> {
  const m = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  return m ? m.json<T>() : null;
}
