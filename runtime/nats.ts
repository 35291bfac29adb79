import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
  RetentionPolicy,
  StorageType,
  DiscardPolicy,
} from '@nats-io/jetstream';
import type { Logger } from './logger.js';

export type { NatsConnection } from '@nats-io/transport-node';
export type { JetStreamClient, JetStreamManager, StreamConfig } from '@nats-io/jetstream';

export interface NatsHandles {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

export async function connectNats(url: string, name: string, log?: Logger): Promise<NatsHandles> {
  const u = new URL(url);
  const nc = await connect({
    servers: `${u.hostname}:${u.port || 4222}`,
    name,
    maxReconnectAttempts: -1,
    // Stack traces for every request cost ~25% of publish CPU (bench profile); errors keep their messages.
    noAsyncTraces: true,
    reconnectTimeWait: 500,
    ...(u.username ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } : {}),
  });
  if (log) {
    (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') log.warn({ nats: s.type }, 'nats status');
      }
    })().catch(() => undefined);
  }
  const jsm = await jetstreamManager(nc);
  return { nc, js: jetstream(nc), jsm };
}

export interface StreamSpec {
  name: string;
  subjects: string[];
  /** Nats-Msg-Id dedupe window, ms. */
  duplicateWindowMs: number;
  maxAgeMs?: number;
  maxBytes?: number;
  storage?: 'file' | 'memory';
}

/** Creates the stream or updates it to `spec`; safe to call from every process at start-up. */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec): Promise<void> {
  const cfg: Partial<StreamConfig> & { name: string } = {
    name: spec.name,
    subjects: spec.subjects,
    retention: RetentionPolicy.Limits,
    storage: spec.storage === 'memory' ? StorageType.Memory : StorageType.File,
    discard: DiscardPolicy.Old,
    duplicate_window: spec.duplicateWindowMs * 1_000_000,
    max_age: (spec.maxAgeMs ?? 0) * 1_000_000,
    max_bytes: spec.maxBytes ?? -1,
  };
  try {
    const info = await jsm.streams.info(spec.name);
    const cur = info.config;
    const same =
      cur.duplicate_window === cfg.duplicate_window &&
      cur.max_age === cfg.max_age &&
      cur.max_bytes === cfg.max_bytes &&
      JSON.stringify([...cur.subjects].sort()) === JSON.stringify([...spec.subjects].sort());
    if (!same) await jsm.streams.update(spec.name, { ...cur, ...cfg } as StreamConfig);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await jsm.streams.add(cfg);
    } catch (addErr) {
      // Another process created it between our info and add.
      if (!String((addErr as Error).message).includes('already in use')) throw addErr;
    }
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; message?: string; api_error?: { err_code?: number } };
  return e?.api_error?.err_code === 10059 || /not found/i.test(e?.message ?? '');
}

export async function natsReady(nc: NatsConnection): Promise<void> {
  if (nc.isClosed()) throw new Error('nats connection closed');
  await nc.flush();
}
