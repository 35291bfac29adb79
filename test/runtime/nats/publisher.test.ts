import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TickworkError } from '../../../runtime/errors.js';
import { connectNats, PipelinedPublisher, type NatsHandles, type PublishResult } from '../../../runtime/nats/index.js';
import { startNatsServer, until, type NatsServerProcess } from '../../support/nats-server.js';
import { addStream, readStream, reorderings, trackUnhandled } from './helpers.js';

// PipelinedPublisher against one real nats-server that the tests kill -9 and restart with its
// store, as an operator restarting the node would.
describe('PipelinedPublisher on a nats-server that goes away (kill -9, restart with its store)', () => {
  let server: NatsServerProcess;
  let nats: NatsHandles;
  const unhandled = trackUnhandled();

  beforeAll(async () => {
    server = await startNatsServer();
    nats = await connectNats(server.url, 'publisher-test');
  }, 120_000);

  afterEach(async () => {
    // Every publisher path, failures included, keeps its rejections on promises someone handles.
    expect(unhandled.rejections).toEqual([]);
    // The next test starts on a connected client.
    if (server.running) await until('the client connected again', () => nats.jsm.getAccountInfo().then(() => true), 60_000, 200);
  });

  afterAll(async () => {
    unhandled.stop();
    await nats?.nc.close();
    await server?.close();
  });

  const index = (msgId: string) => Number(msgId.slice(msgId.lastIndexOf('-') + 1));

  it('keeps every message, once and in order per subject, across 5 s of server down time; says how many it reordered', async () => {
    await addStream(nats, 'PUB_KILL', ['pk.>']);
    const publisher = new PipelinedPublisher(nats, { maxInFlight: 4096, name: 'test-kill' });
    const total = 20_000;
    const subjects = 10;
    const results: (PublishResult | Error)[] = new Array(total);
    let acked = 0;
    let killedAt = 0;
    let killing: Promise<void> = Promise.resolve();
    for (let i = 0; i < total; i++) {
      // Mid-stream: thousands sent and not yet acknowledged when the server dies.
      if (i === 8000) {
        killing = (async () => {
          await server.kill('SIGKILL');
          killedAt = acked;
          await new Promise((r) => setTimeout(r, 5000));
          await server.start();
        })();
      }
      const { stored } = await publisher.publish(`pk.s${i % subjects}`, `m${i}`, `pk-${i}`);
      stored.then(
        (r) => ((results[i] = r), acked++),
        (err: Error) => (results[i] = err),
      );
    }
    await killing;
    const restartedAt = performance.now();
    await publisher.flush();
    const resumedMs = performance.now() - restartedAt;
    expect(killedAt).toBeLessThan(total);
    expect(results.filter((r) => r instanceof Error)).toEqual([]);

    const stored = await readStream(nats, 'PUB_KILL');
    expect(stored).toHaveLength(total);
    expect(new Set(stored.map((m) => m.msgId)).size).toBe(total);
    const observed = reorderings(stored, index);
    // The publisher's own count is the truth about its stream.
    expect(publisher.stats.reordered).toBe(observed);
    expect(results.filter((r) => (r as PublishResult).reordered).length).toBe(observed);
    console.log(`publisher kill -9 5 s: ${total} stored once, ${observed} reordered, ${publisher.stats.resent} re-sent, flushed ${Math.round(resumedMs)} ms after restart`);
    publisher.close();
  }, 180_000);

  it('holds messages while the server is down and rejects `stored` only after TICKWORK_PUBLISH_HOLD_MS', async () => {
    await addStream(nats, 'PUB_HOLD', ['ph.>']);
    const publisher = new PipelinedPublisher(nats, { maxInFlight: 64, holdMs: 2000, name: 'test-hold' });
    await (await publisher.publish('ph.a', 'first', 'ph-0')).stored;
    await server.kill('SIGKILL');
    await until('the client to see the disconnect', () => publisher.stats.pauses > 0, 10_000, 20);
    const t0 = performance.now();
    const stored: Promise<PublishResult>[] = [];
    for (let i = 0; i < 10; i++) stored.push((await publisher.publish('ph.a', `m${i}`, `ph-${i + 1}`)).stored);
    const outcomes = await Promise.allSettled(stored);
    const waited = performance.now() - t0;
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    const reason = (outcomes[0] as PromiseRejectedResult).reason as Error;
    expect(reason).toBeInstanceOf(TickworkError);
    expect(reason.message).toMatch(/within 2000 ms \(TICKWORK_PUBLISH_HOLD_MS\)/);
    expect(waited).toBeGreaterThanOrEqual(1900);
    expect(publisher.stats.failed).toBe(10);

    await server.start();
    // Published while the client may still be reconnecting: retried until the hold allows it.
    const again = await until('a publish after the restart', async () => {
      const { stored: after } = await publisher.publish('ph.a', 'after', 'ph-after');
      return after;
    }, 30_000, 100);
    expect(again.seq).toBeGreaterThan(1);
    publisher.close();
  }, 120_000);

  it('waits for a stream that is not there yet ("no responders"), then stores everything in order', async () => {
    const publisher = new PipelinedPublisher(nats, { maxInFlight: 256, name: 'test-503' });
    const stored: Promise<PublishResult>[] = [];
    for (let i = 0; i < 100; i++) stored.push((await publisher.publish(`late.s${i % 3}`, `m${i}`, `late-${i}`)).stored);
    await until('a pause for no responders', () => publisher.stats.pauses > 0, 10_000, 20);
    await new Promise((r) => setTimeout(r, 1000));
    expect(publisher.inFlight).toBe(100);
    await addStream(nats, 'PUB_LATE', ['late.>']);
    const results = await Promise.all(stored);
    expect(results.every((r) => !r.duplicate)).toBe(true);
    const msgs = await readStream(nats, 'PUB_LATE');
    expect(msgs.map((m) => m.msgId)).toEqual(Array.from({ length: 100 }, (_, i) => `late-${i}`));
    expect(publisher.stats.reordered).toBe(0);
    publisher.close();
  }, 60_000);

  it('fails at once on a PubAck error that waiting cannot fix, and on close; publishes waiting for room reject', async () => {
    await nats.jsm.streams.add({ name: 'PUB_FULL', subjects: ['full.>'], max_msgs_per_subject: 1, discard: 'new' as never, discard_new_per_subject: true });
    const publisher = new PipelinedPublisher(nats, { maxInFlight: 2, name: 'test-errors' });
    await (await publisher.publish('full.a', 'one', 'full-1')).stored;
    const second = (await publisher.publish('full.a', 'two', 'full-2')).stored;
    await expect(second).rejects.toThrow(/PubAck error for full\.a/);

    // Two in flight to a subject nobody stores, a third waiting for room: close ends all three.
    const a = await publisher.publish('nowhere.a', 'x', 'nw-1');
    const b = await publisher.publish('nowhere.a', 'y', 'nw-2');
    const waiting = publisher.publish('nowhere.a', 'z', 'nw-3');
    const sent: string[] = [];
    publisher.send('nowhere.b', 'w', 'nw-4', undefined, (err) => sent.push(err ? (err as Error).message : 'ok'));
    publisher.sendDeadLetter('nowhere.dlq', 'raw', { reason: 'schema', detail: 'a\nb', source: 'test' }, 'nw-dlq-1', (err) => sent.push(err ? (err as Error).message : 'ok'));
    const dlq = publisher.deadLetter('nowhere.dlq', 'raw', { reason: 'json', source: 'test' }, 'nw-dlq-2'); // waits for room
    const flushed = publisher.flush();
    publisher.close();
    await flushed;
    await expect(dlq).rejects.toThrow(/publisher closed/);
    await expect(a.stored).rejects.toThrow(/publisher closed/);
    await expect(b.stored).rejects.toThrow(/publisher closed/);
    await expect(waiting).rejects.toThrow(/publisher closed/);
    expect(sent).toEqual(['publisher closed before the PubAck', 'publisher closed before the PubAck']);
    const after: string[] = [];
    publisher.send('nowhere.b', 'v', 'nw-5', undefined, (err) => after.push((err as Error).message));
    expect(after).toEqual(['publisher closed']);
    await publisher.flush();
    await expect(publisher.room()).rejects.toThrow(/publisher closed/);
  }, 60_000);
});
