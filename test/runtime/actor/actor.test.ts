import { describe, expect, it } from 'vitest';
import { spawn, type ActorContext } from '../../../runtime/actor/index.js';
import { TickworkError } from '../../../runtime/errors.js';
import { registry } from '../../../runtime/metrics.js';
import { delay, gate, log, settled, until } from './helpers.js';

describe('actor mailbox', () => {
  it('processes messages FIFO, one at a time, even when receive is async', async () => {
    const seen: number[] = [];
    let active = 0;
    let maxActive = 0;
    const ref = spawn<number>(
      'fifo',
      () => ({
        async receive(n) {
          active++;
          maxActive = Math.max(maxActive, active);
          // Mixed sync/async gaps shuffle timing; order and exclusivity must not change.
          if (n % 3 === 0) await delay(1);
          else if (n % 3 === 1) await Promise.resolve();
          seen.push(n);
          active--;
        },
      }),
      { log, mailboxSize: 16 },
    );
    // Three producers interleave; each awaits send so back-pressure keeps the mailbox bounded.
    const producer = async (offset: number) => {
      for (let i = 0; i < 40; i++) await ref.send(offset + i * 3);
    };
    await Promise.all([producer(0), producer(1), producer(2)]);
    await ref.stop();
    expect(seen).toHaveLength(120);
    expect(maxActive).toBe(1);
    for (const offset of [0, 1, 2]) {
      const mine = seen.filter((n) => n % 3 === offset);
      expect(mine).toEqual([...mine].sort((a, b) => a - b));
    }
  });

  it('keeps global send order for synchronously enqueued messages and yields to I/O during long bursts', async () => {
    const seen: number[] = [];
    let ioRanAt = -1;
    const ref = spawn<number>(
      'burst',
      () => ({
        receive(n) {
          if (n === 0) setImmediate(() => (ioRanAt = seen.length));
          seen.push(n);
        },
      }),
      { log, mailboxSize: 2000 },
    );
    for (let i = 0; i < 2000; i++) expect(ref.trySend(i)).toBe(true);
    await ref.stop();
    expect(seen).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    // A setImmediate queued by the first message ran before the burst finished: the loop yields.
    expect(ioRanAt).toBeGreaterThan(0);
    expect(ioRanAt).toBeLessThan(2000);
  });

  it('back-pressure: a producer on a full mailbox waits until the actor drains, in FIFO order', async () => {
    const paused = gate();
    const seen: string[] = [];
    const ref = spawn<string>(
      'bp',
      () => ({
        async receive(m) {
          if (m === 'm1') await paused.promise;
          seen.push(m);
        },
      }),
      { log, mailboxSize: 2 },
    );
    await ref.send('m1');
    await until(() => ref.mailboxDepth === 0, 'm1 taken into receive');
    await ref.send('m2');
    await ref.send('m3');
    expect(ref.mailboxDepth).toBe(2);
    const p4 = settled(ref.send('m4'));
    const p5 = settled(ref.send('m5'));
    expect(ref.trySend('x')).toBe(false);
    await delay(60);
    // The actor is paused: both producers are still blocked and nothing was dropped or grown.
    expect(p4.done).toBe(false);
    expect(p5.done).toBe(false);
    expect(ref.mailboxDepth).toBe(2);
    expect(seen).toEqual([]);
    paused.open();
    await until(() => p4.done && p5.done, 'blocked producers released');
    expect(p4.error).toBeUndefined();
    expect(p5.error).toBeUndefined();
    await ref.stop();
    expect(seen).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('send resolves with a shared promise while there is room (no allocation per send)', async () => {
    const ref = spawn<number>('shared', () => ({ receive() {} }), { log });
    expect(ref.send(1)).toBe(ref.send(2));
    await ref.stop();
  });

  it('graceful stop drains the queue, aborts the signal, runs postStop once, then rejects sends', async () => {
    const seen: number[] = [];
    const events: string[] = [];
    const ref = spawn<number>(
      'drain',
      () => ({
        async receive(n) {
          await delay(2);
          seen.push(n);
        },
        postStop(ctx) {
          events.push(`postStop aborted=${ctx.signal.aborted} seen=${seen.length}`);
        },
      }),
      { log },
    );
    for (let i = 0; i < 5; i++) await ref.send(i);
    const stopped = ref.stop();
    await expect(ref.send(99)).rejects.toMatchObject({ code: 'MAILBOX_CLOSED' });
    expect(ref.trySend(99)).toBe(false);
    await stopped;
    await ref.done;
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(events).toEqual(['postStop aborted=true seen=5']);
  });

  it('stop({ drain: false }) drops queued messages and rejects blocked producers', async () => {
    const paused = gate();
    const seen: number[] = [];
    let postStops = 0;
    const ref = spawn<number>(
      'nodrain',
      () => ({
        async receive(n) {
          await paused.promise;
          seen.push(n);
        },
        postStop() {
          postStops++;
        },
      }),
      { log, mailboxSize: 1 },
    );
    await ref.send(1);
    await until(() => ref.mailboxDepth === 0, 'first message in receive');
    await ref.send(2);
    const blocked = ref.send(3);
    const stopped = ref.stop({ drain: false });
    await expect(blocked).rejects.toBeInstanceOf(TickworkError);
    paused.open();
    await stopped;
    expect(seen).toEqual([1]); // the in-flight message finishes; the queued one is dropped
    expect(postStops).toBe(1);
    expect(ref.mailboxDepth).toBe(0);
  });

  it('an unsupervised actor that fails logs and stops: later messages are dropped and sends reject', async () => {
    const seen: string[] = [];
    let postStops = 0;
    const ref = spawn<string>(
      'unsupervised',
      () => ({
        receive(m) {
          if (m === 'boom') throw new Error('boom');
          seen.push(m);
        },
        postStop() {
          postStops++;
        },
      }),
      { log },
    );
    ref.trySend('a');
    ref.trySend('boom');
    ref.trySend('b');
    await ref.done;
    expect(seen).toEqual(['a']);
    expect(postStops).toBe(1);
    await expect(ref.send('c')).rejects.toMatchObject({ code: 'MAILBOX_CLOSED' });
  });

  it('ctx.fail from an async callback fails the incarnation (unsupervised: stops it)', async () => {
    let ctxSeen: ActorContext<string> | undefined;
    const ref = spawn<string>(
      'async-fail',
      () => ({
        preStart(ctx) {
          ctxSeen = ctx;
          // Like a socket 'error' event firing outside any receive.
          setTimeout(ctx.fail, 10, new Error('socket error'));
        },
        receive() {},
      }),
      { log },
    );
    await ref.done;
    expect(ctxSeen?.signal.aborted).toBe(true);
    expect((ctxSeen?.signal.reason as Error).message).toBe('socket error');
  });

  it('preStart failure means postStop is not run (no half-loaded state gets flushed)', async () => {
    let postStops = 0;
    const ref = spawn<string>(
      'prestart-fail',
      () => ({
        async preStart() {
          await delay(1);
          throw new Error('load failed');
        },
        receive() {},
        postStop() {
          postStops++;
        },
      }),
      { log },
    );
    await ref.done;
    expect(postStops).toBe(0);
  });

  it('exports mailbox depth per kind and message timings', async () => {
    const paused = gate();
    const ref = spawn<number>(
      'metrics',
      () => ({
        async receive() {
          await paused.promise;
        },
      }),
      { log, kind: 'metrics-test' },
    );
    for (let i = 0; i < 4; i++) await ref.send(i);
    await until(() => ref.mailboxDepth === 3, 'one message in flight');
    const depth = await registry.getSingleMetric('tickwork_actor_mailbox_depth')!.get();
    expect(depth.values.find((v) => v.labels.kind === 'metrics-test')?.value).toBe(3);
    paused.open();
    await ref.stop();
    const after = await registry.getSingleMetric('tickwork_actor_mailbox_depth')!.get();
    expect(after.values.find((v) => v.labels.kind === 'metrics-test')?.value).toBe(0);
    const text = await registry.metrics();
    expect(text).toMatch(/tickwork_actor_message_seconds_count\{kind="metrics-test"\} 4/);
  });
});
