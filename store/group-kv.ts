import { Kvm, type KV } from '@nats-io/kv';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { Namespace } from '../runtime/namespace.js';
import type { NatsHandles } from '../runtime/nats/index.js';

/** Worker group lease bucket (NATS KV), namespaced: `tickwork_group` or `<ns>_tickwork_group`. */
export const groupBucket = (ns: Namespace): string => ns.name('tickwork_group');

/** One entry as the worker group sees it: key, raw value, KV revision, server timestamp. */
export interface GroupEntry {
  key: string;
  value: string;
  revision: number;
  /** Server time of the write, epoch ms (the message timestamp JetStream assigned). */
  createdMs: number;
  deleted: boolean;
}

/** What the worker group needs of a key-value bucket (actors/symbol/worker-group.ts). */
export interface GroupStore {
  /** `timeoutMs`: give up waiting for the PubAck after it (default: the JetStream context's). */
  put(key: string, value: string, timeoutMs?: number): Promise<number>;
  /** Creates `key`; null when it exists already (someone else won). */
  create(key: string, value: string): Promise<number | null>;
  /** Writes `key` only if its revision is still `revision`; null when it is not. */
  update(key: string, value: string, revision: number): Promise<number | null>;
  delete(key: string): Promise<void>;
  /** Last values of every key, then every change, until the returned stop is called or the watch ends (`ended`). */
  watch(onEntry: (e: GroupEntry) => void, ended: () => void): Promise<() => void>;
}

/**
 * The worker group's bucket on NATS KV (`tickwork_group`, namespaced): history 1, file storage,
 * `replicas` as the market streams (TICKWORK_STREAM_REPLICAS). The only coordination service is
 * NATS itself; compare-and-set is the KV revision check.
 */
export class NatsGroupStore implements GroupStore {
  private constructor(private readonly kv: KV) {}

  static async open(nats: NatsHandles, bucket: string, replicas: number): Promise<NatsGroupStore> {
    const kv = await new Kvm(nats.js).create(bucket, { history: 1, replicas, storage: 'file' });
    return new NatsGroupStore(kv);
  }

  put(key: string, value: string, timeoutMs?: number): Promise<number> {
    return this.kv.put(key, value, timeoutMs === undefined ? undefined : { timeout: timeoutMs });
  }

  async create(key: string, value: string): Promise<number | null> {
    try {
      return await this.kv.create(key, value);
    } catch (err) {
      if (wrongRevision(err)) return null;
      throw err;
    }
  }

  async update(key: string, value: string, revision: number): Promise<number | null> {
    try {
      return await this.kv.update(key, value, revision);
    } catch (err) {
      if (wrongRevision(err)) return null;
      throw err;
    }
  }

  delete(key: string): Promise<void> {
    return this.kv.delete(key);
  }

  async watch(onEntry: (e: GroupEntry) => void, ended: () => void): Promise<() => void> {
    const it = await this.kv.watch({ key: '>' });
    void (async () => {
      try {
        for await (const e of it) {
          onEntry({ key: e.key, value: e.operation === 'PUT' ? e.string() : '', revision: e.revision, createdMs: e.created.getTime(), deleted: e.operation !== 'PUT' });
        }
      } catch {
        // the watch ends with the connection or the consumer; `ended` says so
      }
      ended();
    })();
    return () => it.stop();
  }
}

function wrongRevision(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown;
  return /wrong last sequence/i.test(String((err as Error)?.message));
}
