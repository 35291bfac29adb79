import { AckPolicy, DeliverPolicy, StorageType } from '@nats-io/jetstream';
import type { NatsHandles } from '../../../runtime/nats/index.js';
import { until } from '../../support/nats-server.js';

/** Test stream of `subjects` on `nats` (file storage, so a restarted server keeps it). */
export async function addStream(nats: NatsHandles, name: string, subjects: string[], replicas = 1): Promise<void> {
  await nats.jsm.streams.add({ name, subjects, storage: StorageType.File, num_replicas: replicas, duplicate_window: 600_000_000_000 });
}

export interface StoredMsg {
  seq: number;
  subject: string;
  msgId: string;
}

/**
 * Every message of `stream` in sequence order (subject and Nats-Msg-Id), read with a fresh
 * consumer; retried whole while the client is still reconnecting or a leader being elected.
 */
export function readStream(nats: NatsHandles, stream: string): Promise<StoredMsg[]> {
  return until(`all of ${stream}`, () => readOnce(nats, stream), 120_000, 500);
}

async function readOnce(nats: NatsHandles, stream: string): Promise<StoredMsg[]> {
  const info = await nats.jsm.streams.info(stream);
  const last = info.state.last_seq;
  const out: StoredMsg[] = [];
  if (info.state.messages === 0) return out;
  const ci = await nats.jsm.consumers.add(stream, { ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All, inactive_threshold: 60_000_000_000 });
  const consumer = await nats.js.consumers.get(stream, ci.name);
  const msgs = await consumer.consume({ max_messages: 5000, expires: 2000 });
  // A read that stalls (its consumer lost with a leader) ends and is tried again.
  const stall = setTimeout(() => msgs.stop(), 60_000);
  try {
    for await (const m of msgs) {
      out.push({ seq: m.seq, subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id') ?? '' });
      if (m.seq >= last) break;
    }
  } finally {
    clearTimeout(stall);
    await msgs.close();
    await nats.jsm.consumers.delete(stream, ci.name).catch(() => undefined);
  }
  if (out.at(-1)?.seq !== last) throw new Error(`read ${out.length} messages of ${stream}, up to seq ${out.at(-1)?.seq ?? 0} of ${last}`);
  return out;
}

/**
 * Per subject, how many stored messages came after one with a higher index (ids `<prefix><n>`):
 * the reorderings a consumer would see.
 */
export function reorderings(stored: StoredMsg[], index: (msgId: string) => number): number {
  const highest = new Map<string, number>();
  let n = 0;
  for (const m of stored) {
    const i = index(m.msgId);
    const h = highest.get(m.subject);
    if (h !== undefined && i < h) n++;
    else highest.set(m.subject, i);
  }
  return n;
}

/** Fails the test when anything is rejected without a handler while it runs. */
export function trackUnhandled(): { rejections: unknown[]; stop(): void } {
  const rejections: unknown[] = [];
  const onRejection = (err: unknown) => rejections.push(err);
  process.on('unhandledRejection', onRejection);
  return { rejections, stop: () => process.off('unhandledRejection', onRejection) };
}
