import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../runtime/logger.js';
import { registry } from '../../../runtime/metrics.js';
import { connectNats, PipelinedPublisher, StreamSource, type NatsHandles, type SourceStart } from '../../../runtime/nats/index.js';
import { NatsCluster, startNatsServer, until, type NatsServerProcess } from '../../support/nats-cluster.js';
import { addStream, trackUnhandled } from './helpers.js';

/**
 * Consumers that resume by themselves when the server (kill -9, restarted with its store) or a
 * stream leader (3-node cluster, R3) comes back: ordered and durable StreamSources keep reading,
 * every message exactly once and in order for the ordered one, within seconds.
 */
const Item = Type.Object({ n: Type.Integer() });
const ItemCheck = TypeCompiler.Compile(Item);

/** Publishes `{n}` to `subject` every few ms until stopped; n counts from 1. */
function ticker(pub: PipelinedPublisher, subject: string, prefix: string): { stop(): Promise<number> } {
  let n = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      n++;
      const { stored } = await pub.publish(subject, JSON.stringify({ n }), `${prefix}-${n}`);
      stored.catch(() => undefined);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await pub.flush();
      return n;
    },
  };
}

interface Reader {
  seen: number[];
  /** performance.now() of each batch. */
  batchesAt: number[];
  source: StreamSource<{ n: number }>;
  done: Promise<void>;
}

async function reader(nats: NatsHandles, stream: string, start: SourceStart, name: string): Promise<Reader> {
  const source = await StreamSource.open({ nats, stream, filter: 'rs.>', start, check: ItemCheck, maxBatch: 100, log: silentLogger, name });
  const r: Reader = { seen: [], batchesAt: [], source, done: Promise.resolve() };
  r.done = (async () => {
    for await (const batch of source) {
      r.seen.push(...batch.items.map((i) => i.value.n));
      r.batchesAt.push(performance.now());
      batch.ack();
    }
  })();
  return r;
}

/** The first batch a reader got after `t` (ms since), or throws after `timeoutMs`. */
async function resumedAfter(r: Reader, t: number, timeoutMs = 60_000): Promise<number> {
  const at = await until('a batch after the recovery', () => r.batchesAt.find((x) => x > t), timeoutMs, 20);
  return at - t;
}

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const m = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return m.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

describe('StreamSource resumes by itself', () => {
  const unhandled = trackUnhandled();
  afterEach(() => expect(unhandled.rejections).toEqual([]));
  afterAll(() => unhandled.stop());

  it('an idle source on a healthy server is left alone (heartbeats keep it alive, no re-creation)', async () => {
    const server: NatsServerProcess = await startNatsServer();
    const nats = await connectNats(server.url, 'idle-test');
    try {
      await addStream(nats, 'RSIDLE', ['rs.>']);
      const ordered = await reader(nats, 'RSIDLE', { afterSeq: 0 }, 'rsidle-ordered');
      const durable = await reader(nats, 'RSIDLE', { durable: 'rsidle_durable', ackWaitMs: 10_000, maxAckPending: 100 }, 'rsidle-durable');
      // Four times the silence after which a lost consumer is re-created.
      await new Promise((r) => setTimeout(r, 12_000));
      expect(await metric('tickwork_stream_consumer_restarts_total', { consumer: 'rsidle-ordered' })).toBe(0);
      expect(await metric('tickwork_stream_consumer_restarts_total', { consumer: 'rsidle-durable' })).toBe(0);
      const pub = new PipelinedPublisher(nats);
      await (await pub.publish('rs.a', JSON.stringify({ n: 1 }), 'idle-1')).stored;
      await until('the message read by both', () => ordered.seen.length === 1 && durable.seen.length === 1, 10_000);
      pub.close();
      await Promise.all([ordered.source.close(), durable.source.close()]);
      await Promise.all([ordered.done, durable.done]);
    } finally {
      await nats.nc.close();
      await server.close();
    }
  }, 60_000);

  it('after kill -9 of a standalone server and its restart with the same store (< 5 s), ordered and durable alike', async () => {
    const server: NatsServerProcess = await startNatsServer();
    const nats = await connectNats(server.url, 'resume-test');
    try {
      await addStream(nats, 'RS', ['rs.>']);
      const pub = new PipelinedPublisher(nats, { maxInFlight: 256 });
      const ordered = await reader(nats, 'RS', { afterSeq: 0 }, 'rs-ordered');
      const durable = await reader(nats, 'RS', { durable: 'rs_durable', ackWaitMs: 10_000, maxAckPending: 1000 }, 'rs-durable');
      const tick = ticker(pub, 'rs.a', 'rs');
      await until('both readers reading', () => ordered.seen.length > 100 && durable.seen.length > 100, 30_000);

      await server.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 3000));
      await server.start();
      const back = performance.now();
      const orderedMs = await resumedAfter(ordered, back);
      const durableMs = await resumedAfter(durable, back);

      const last = await tick.stop();
      await until('every message read', () => ordered.seen.at(-1) === last && new Set(durable.seen).size === last, 60_000);
      // Ordered: each message once, in order. Durable: each at least once (a redelivery after the crash is allowed).
      expect(ordered.seen).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      expect([...new Set(durable.seen)].sort((a, b) => a - b)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      console.log(`standalone kill -9 3 s: ordered resumed ${Math.round(orderedMs)} ms, durable ${Math.round(durableMs)} ms after the server was back; ${last} messages`);
      expect(orderedMs).toBeLessThan(5000);
      expect(durableMs).toBeLessThan(5000);
      expect(await metric('tickwork_stream_consumer_last_seq', { consumer: 'rs-ordered' })).toBe(last);
      await Promise.all([ordered.source.close(), durable.source.close()]);
      await Promise.all([ordered.done, durable.done]);
      pub.close();
    } finally {
      await nats.nc.close();
      await server.close();
    }
  }, 180_000);

  it('after the R3 stream leader of a 3-node cluster is killed (< 5 s after a new leader is elected)', async () => {
    const cluster = await NatsCluster.start();
    const nats = await connectNats(cluster.seeds, 'resume-cluster-test');
    try {
      await addStream(nats, 'RS3', ['rs.>'], 3);
      const pub = new PipelinedPublisher(nats, { maxInFlight: 256 });
      const ordered = await reader(nats, 'RS3', { afterSeq: 0 }, 'rs3-ordered');
      const durable = await reader(nats, 'RS3', { durable: 'rs3_durable', ackWaitMs: 10_000, maxAckPending: 1000 }, 'rs3-durable');
      const tick = ticker(pub, 'rs.a', 'rs3');
      await until('both readers reading', () => ordered.seen.length > 100 && durable.seen.length > 100, 60_000);

      const leader = await cluster.streamLeader('RS3');
      const killedAt = performance.now();
      await leader.kill('SIGKILL');
      const next = await until('a new stream leader', async () => {
        const l = await cluster.streamLeader('RS3');
        return l !== leader && l;
      }, 60_000);
      const electedAt = performance.now();
      const orderedMs = await resumedAfter(ordered, electedAt);
      const durableMs = await resumedAfter(durable, electedAt);

      const last = await tick.stop();
      await until('every message read', () => ordered.seen.at(-1) === last && new Set(durable.seen).size === last, 60_000);
      expect(ordered.seen).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      expect([...new Set(durable.seen)].sort((a, b) => a - b)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      console.log(
        `cluster leader ${leader.name} killed, ${next.name} elected after ${Math.round(electedAt - killedAt)} ms: ordered resumed ${Math.round(orderedMs)} ms, durable ${Math.round(durableMs)} ms later; ${last} messages`,
      );
      expect(orderedMs).toBeLessThan(5000);
      expect(durableMs).toBeLessThan(5000);
      await Promise.all([ordered.source.close(), durable.source.close()]);
      await Promise.all([ordered.done, durable.done]);
      pub.close();
    } finally {
      await nats.nc.close();
      await cluster.close();
    }
  }, 240_000);
});
