import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../runtime/logger.js';
import { ensureStream, PipelinedPublisher, StreamSource, type NatsHandles } from '../../../runtime/nats/index.js';
import { isolated } from '../../harness.js';

/**
 * StreamSource on a real NATS JetStream: batches of checked messages, one dead-letter policy with
 * the reason headers (a durable source terminates what it dead-lettered), skipping without
 * decoding, and an early end of iteration that closes the consumer (no hang in close()).
 */
const iso = isolated();
let nats: NatsHandles;
let pub: PipelinedPublisher;
const Item = Type.Object({ n: Type.Integer({ minimum: 0 }) });
const ItemCheck = TypeCompiler.Compile(Item);
const stream = iso.ns.stream('SRC');
const subject = (s: string) => iso.ns.subject(`src.${s}`);

beforeAll(async () => {
  nats = await iso.nats();
  await ensureStream(nats.jsm, { name: stream, subjects: [iso.ns.subject('src.>')], duplicateWindowMs: 60_000 });
  await ensureStream(nats.jsm, { name: iso.ns.stream('SRCDLQ'), subjects: [iso.ns.subject('dlq.>')], duplicateWindowMs: 60_000 });
  pub = new PipelinedPublisher(nats);
  const bodies = ['{"n":1}', '{"n":2}', 'not json', '{"n":-3}', '{"n":4}', '{"n":5}'];
  for (const [i, b] of bodies.entries()) await pub.publish(subject(i === 4 ? 'other' : 'a'), b, `m${i}`);
  await pub.flush();
});
afterAll(async () => {
  pub.close();
  await iso.cleanup();
});

async function readDlq(): Promise<{ reason: string | undefined; detail: string | undefined; source: string | undefined; data: string }[]> {
  const c = await nats.js.consumers.get(iso.ns.stream('SRCDLQ'));
  const out = [];
  for (;;) {
    const m = await c.next({ expires: 1000 });
    if (!m) return out;
    out.push({ reason: m.headers?.get('Tickwork-Reason'), detail: m.headers?.get('Tickwork-Detail'), source: m.headers?.get('Tickwork-Source'), data: m.string() });
  }
}

describe('StreamSource (real NATS JetStream)', () => {
  it('yields checked batches, skips unparsed, dead-letters the rest with reasons, and ends cleanly on return', async () => {
    const invalid: string[] = [];
    const source = await StreamSource.open({
      nats,
      stream,
      filter: iso.ns.subject('src.>'),
      start: { afterSeq: 0 },
      check: ItemCheck,
      deadLetter: { publisher: pub, subjectFor: () => iso.ns.subject('dlq.test') },
      skip: (s) => s.endsWith('.other'),
      onInvalid: (why) => invalid.push(why.reason),
      maxBatch: 100,
      log: silentLogger,
    });
    const seen: number[] = [];
    let lastSeq = 0;
    for await (const batch of source) {
      seen.push(...batch.items.map((i) => i.value.n));
      lastSeq = batch.lastSeq;
      if (lastSeq >= 6) break; // an early end of iteration, as a history read does
    }
    // close() after the loop ended must resolve promptly (the client iterator was returned).
    await Promise.race([source.close(), new Promise((_, reject) => setTimeout(() => reject(new Error('close() hung')), 5000))]);
    expect(seen).toEqual([1, 2, 5]);
    expect(lastSeq).toBe(6);
    expect(invalid).toEqual(['json', 'schema']);
    const dlq = await readDlq();
    expect(dlq.map((d) => [d.reason, d.data])).toEqual([
      ['json', 'not json'],
      ['schema', '{"n":-3}'],
    ]);
    expect(dlq[1]!.detail).toMatch(/greater or equal to 0/);
    expect(dlq[0]!.source).toBe(`${subject('a')}@3`);
  });

  it('an ordered source whose filter is its stream\'s whole subject space reads without a filter (NATS 2.9 crawls with one mid-stream); a narrower one keeps it', async () => {
    const names = async () => new Set((await nats.jsm.consumers.list(stream).next()).map((c) => c.name));
    const filters = async (open: string): Promise<{ filter: unknown; read: number[] }> => {
      const before = await names();
      const source = await StreamSource.open({ nats, stream, filter: open, start: { afterSeq: 1 }, check: ItemCheck, maxBatch: 100, log: silentLogger });
      const read: number[] = [];
      let filter: unknown;
      for await (const batch of source) {
        if (filter === undefined) {
          const created = (await nats.jsm.consumers.list(stream).next()).filter((c) => !before.has(c.name));
          expect(created).toHaveLength(1);
          filter = created[0]!.config.filter_subjects ?? created[0]!.config.filter_subject ?? null;
        }
        read.push(...batch.items.map((i) => i.value.n));
        if (batch.lastSeq >= 6) break;
      }
      await source.close();
      return { filter, read };
    };
    expect(await filters(iso.ns.subject('src.>'))).toEqual({ filter: null, read: [2, 4, 5] });
    expect(await filters(subject('a'))).toEqual({ filter: subject('a'), read: [2, 5] });
  });

  it('a durable source acknowledges what the caller acks and terminates what it dead-lettered', async () => {
    const durable = iso.ns.name('src_durable');
    const source = await StreamSource.open({
      nats,
      stream,
      filter: iso.ns.subject('src.>'),
      start: { durable, ackWaitMs: 30_000, maxAckPending: 100 },
      check: ItemCheck,
      deadLetter: { publisher: pub, subjectFor: () => iso.ns.subject('dlq.durable') },
      maxBatch: 100,
      lingerMs: 200,
      log: silentLogger,
    });
    const got: number[] = [];
    for await (const batch of source) {
      got.push(...batch.items.map((i) => i.value.n));
      batch.ack();
      if (batch.lastSeq >= 6) break;
    }
    await source.close();
    expect(got).toEqual([1, 2, 4, 5]);
    // Acked and terminated alike: nothing left pending or awaiting an ack.
    for (let i = 0; i < 50; i++) {
      const info = await nats.jsm.consumers.info(stream, durable);
      if (info.num_ack_pending === 0 && info.num_pending === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const info = await nats.jsm.consumers.info(stream, durable);
    expect([info.num_ack_pending, info.num_pending]).toEqual([0, 0]);
  });
});
