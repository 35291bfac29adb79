import { describe, expect, it } from 'vitest';
import { Supervisor, type ActorContext, type Behavior } from '../../../runtime/actor/index.js';
import { TickworkError } from '../../../runtime/errors.js';
import { delay, log, policy, until } from './helpers.js';

/** A behaviour that records its lifecycle into `events` and throws on 'boom'. */
function recorder(id: string, events: string[], seen?: string[]): () => Behavior<string> {
  return () => ({
    preStart() {
      events.push(`${id}:preStart`);
    },
    receive(m) {
      if (m === 'boom') throw new Error(`${id} boom`);
      seen?.push(`${id}:${m}`);
    },
    postStop() {
      events.push(`${id}:postStop`);
    },
  });
}

const count = (events: string[], e: string): number => events.filter((x) => x === e).length;

describe('Supervisor one-for-one', () => {
  it('restarts a failing child with a fresh behaviour; the ref is stable and queued messages survive', async () => {
    const events: string[] = [];
    const seen: string[] = [];
    let instances = 0;
    const sup = new Supervisor('s', policy(), { log });
    const ref = sup.start<string>({
      id: 'a',
      behavior: () => {
        instances++;
        return recorder('a', events, seen)();
      },
    });
    for (const m of ['1', 'boom', '2', 'boom', '3', 'boom', '4']) await ref.send(m);
    await until(() => seen.length === 4, 'all non-failing messages');
    expect(seen).toEqual(['a:1', 'a:2', 'a:3', 'a:4']); // failing messages are not retried, the rest keep order
    expect(sup.restarts).toBe(3);
    expect(instances).toBe(4);
    expect(count(events, 'a:preStart')).toBe(4);
    expect(count(events, 'a:postStop')).toBe(3); // best-effort postStop before each restart
    await sup.stop();
    expect(count(events, 'a:postStop')).toBe(4);
  });

  it('waits a jittered back-off before each restart: gaps >= chosen delay, caps grow by multiplier and clamp at maxMs', async () => {
    const chosen: number[] = [];
    const failedAt: number[] = [];
    const startedAt: number[] = [];
    const backoff = { initialMs: 30, maxMs: 60, multiplier: 3 };
    const sup = new Supervisor('s', { ...policy(), backoff }, {
      log,
      // Near-maximal jitter makes each delay ≈ its cap, so the caps are observable.
      random: () => {
        chosen.push(0.98);
        return 0.98;
      },
    });
    const ref = sup.start<string>({
      id: 'a',
      behavior: () => ({
        preStart() {
          startedAt.push(performance.now());
        },
        receive() {
          failedAt.push(performance.now());
          throw new Error('boom');
        },
      }),
    });
    for (let i = 0; i < 4; i++) {
      await until(() => startedAt.length === i + 1, `incarnation ${i + 1}`);
      await ref.send('boom');
    }
    await until(() => startedAt.length === 5, 'fifth incarnation');
    await sup.stop();
    const caps = [30, 60, 60, 60]; // 30·3^k clamped to 60 (unclamped: 90, 270, 810)
    expect(chosen).toHaveLength(4);
    for (let k = 0; k < 4; k++) {
      const delayMs = 0.98 * caps[k]!;
      const gap = startedAt[k + 1]! - failedAt[k]!;
      expect(gap).toBeGreaterThanOrEqual(delayMs);
      // Clamped: far below what the unclamped cap (>= 90 ms) would have produced.
      if (k >= 1) expect(gap).toBeLessThan(0.98 * 90 * 3);
    }
  });

  it('resetAfterMs: a child that ran that long since its last restart starts over at the first back-off attempt', async () => {
    const delays: number[] = [];
    const startedAt: number[] = [];
    const backoff = { initialMs: 20, maxMs: 400, multiplier: 4, resetAfterMs: 150 };
    const sup = new Supervisor('s', { ...policy(), backoff }, { log, random: () => 0.99 });
    const ref = sup.start<string>({
      id: 'a',
      behavior: () => ({
        preStart() {
          startedAt.push(performance.now());
        },
        receive() {
          throw new Error('boom');
        },
      }),
    });
    const failAndTime = async (k: number) => {
      await until(() => startedAt.length === k + 1, `incarnation ${k + 1}`, 3000);
      const t = performance.now();
      await ref.send('boom');
      await until(() => startedAt.length === k + 2, `incarnation ${k + 2}`, 3000);
      delays.push(startedAt[k + 1]! - t);
    };
    await failAndTime(0); // attempt 0: cap 20
    await failAndTime(1); // quick second failure, attempt 1: cap 80
    await delay(200); // healthy for longer than resetAfterMs
    await failAndTime(2); // back to attempt 0: cap 20, not 320
    await sup.stop();
    expect(delays[1]).toBeGreaterThanOrEqual(0.99 * 80);
    expect(delays[2]).toBeGreaterThanOrEqual(0.99 * 20);
    expect(delays[2]).toBeLessThan(0.99 * 80);
    expect(sup.restarts).toBe(3);
  });

  it('escalates to onEscalate when restarts exceed the intensity limit, and stops all children', async () => {
    const escalated: unknown[] = [];
    const events: string[] = [];
    const sup = new Supervisor('top', policy({ intensity: { maxRestarts: 2, withinMs: 2000 } }), {
      log,
      onEscalate: (err) => escalated.push(err),
    });
    const a = sup.start<string>({ id: 'a', behavior: recorder('a', events) });
    const b = sup.start<string>({ id: 'b', behavior: recorder('b', events) });
    for (let i = 0; i < 3; i++) {
      await until(() => count(events, 'a:preStart') === i + 1, `a incarnation ${i + 1}`);
      await a.send('boom');
    }
    await until(() => escalated.length === 1, 'escalation');
    expect(sup.restarts).toBe(2); // the third failure exceeded R=2 and was not restarted
    expect(escalated[0]).toBeInstanceOf(TickworkError);
    expect((escalated[0] as TickworkError).code).toBe('ESCALATED');
    expect(((escalated[0] as TickworkError).cause as Error).message).toBe('a boom');
    await a.done;
    await b.done;
    expect(count(events, 'b:postStop')).toBe(1);
    await expect(b.send('x')).rejects.toMatchObject({ code: 'MAILBOX_CLOSED' });
    // Never loops: no incarnation starts after giving up.
    await delay(60);
    expect(count(events, 'a:preStart')).toBe(3);
    expect(escalated).toHaveLength(1);
    expect(() => sup.start({ id: 'late', behavior: recorder('late', events) })).toThrow(TickworkError);
  });

  it('a nested supervisor escalates to its parent, which restarts it (children fresh, refs and mailboxes kept)', async () => {
    const top: unknown[] = [];
    const events: string[] = [];
    const seen: string[] = [];
    const parent = new Supervisor('parent', policy(), { log, onEscalate: (e) => top.push(e) });
    const child = new Supervisor('child', policy({ intensity: { maxRestarts: 1, withinMs: 2000 } }), { log, parent });
    const a = child.start<string>({ id: 'a', behavior: recorder('a', events, seen) });
    const b = child.start<string>({ id: 'b', behavior: recorder('b', events, seen) });
    await until(() => count(events, 'b:preStart') === 1, 'b started');
    await a.send('boom'); // restart 1 within the child's limit
    await until(() => count(events, 'a:preStart') === 2, 'a restarted by child');
    expect(parent.restarts).toBe(0);
    await a.send('boom'); // exceeds R=1: child gives up and escalates
    await b.send('queued-during-escalation');
    await until(() => parent.restarts === 1, 'parent restarted the child supervisor');
    await until(() => count(events, 'b:preStart') === 2 && count(events, 'a:preStart') === 3, 'children restarted');
    await a.send('after');
    await until(() => seen.includes('a:after') && seen.includes('b:queued-during-escalation'), 'refs work after restart');
    expect(count(events, 'b:postStop')).toBe(1); // b was stopped by the child supervisor when it gave up
    expect(top).toEqual([]);
    await parent.stop();
    await a.done;
    await b.done;
  });

  it('escalation goes all the way up when the parent also gives up', async () => {
    const top: unknown[] = [];
    const events: string[] = [];
    const parent = new Supervisor('parent', policy({ intensity: { maxRestarts: 0, withinMs: 2000 } }), {
      log,
      onEscalate: (e) => top.push(e),
    });
    const child = new Supervisor('child', policy({ intensity: { maxRestarts: 0, withinMs: 2000 } }), { log });
    parent.supervise(child);
    const a = child.start<string>({ id: 'a', behavior: recorder('a', events) });
    await a.send('boom');
    await until(() => top.length === 1, 'top-level escalation');
    const err = top[0] as TickworkError;
    expect(err.code).toBe('ESCALATED');
    expect(err.message).toContain('parent');
    expect((err.cause as TickworkError).message).toContain('child');
    await a.done;
    expect(parent.restarts).toBe(0);
    expect(child.restarts).toBe(0);
  });

  it('ctx.fail from an async callback triggers a restart; a stale context cannot fail the new incarnation', async () => {
    const contexts: ActorContext<string>[] = [];
    const sup = new Supervisor('s', policy(), { log });
    sup.start<string>({
      id: 'feed',
      behavior: () => ({
        preStart(ctx) {
          contexts.push(ctx);
          if (contexts.length === 1) setTimeout(() => ctx.fail(new Error('socket closed')), 5);
        },
        receive() {},
      }),
    });
    await until(() => contexts.length === 2, 'restart after ctx.fail');
    expect(sup.restarts).toBe(1);
    expect(contexts[0]!.signal.aborted).toBe(true);
    expect(contexts[1]!.signal.aborted).toBe(false);
    contexts[0]!.fail(new Error('late callback from the old socket'));
    await delay(40);
    expect(sup.restarts).toBe(1);
    expect(contexts).toHaveLength(2);
    await sup.stop();
    expect(contexts[1]!.signal.aborted).toBe(true);
  });

  it('stop() stops children in reverse start order, draining each', async () => {
    const events: string[] = [];
    const seen: string[] = [];
    const sup = new Supervisor('s', policy(), { log });
    const refs = ['a', 'b', 'c'].map((id) => sup.start<string>({ id, behavior: recorder(id, events, seen) }));
    for (const r of refs) for (const m of ['1', '2']) r.trySend(m);
    await sup.stop();
    expect(events.filter((e) => e.endsWith('postStop'))).toEqual(['c:postStop', 'b:postStop', 'a:postStop']);
    expect(seen.sort()).toEqual(['a:1', 'a:2', 'b:1', 'b:2', 'c:1', 'c:2']);
  });
});

describe('Supervisor all-for-one', () => {
  it("a child's failure stops its siblings (reverse order) and restarts all in start order, mailboxes preserved", async () => {
    const events: string[] = [];
    const seen: string[] = [];
    const sup = new Supervisor('s', policy({ strategy: 'all-for-one', backoff: { initialMs: 40, maxMs: 40, multiplier: 1 } }), {
      log,
      random: () => 1,
    });
    const refs = ['a', 'b', 'c'].map((id) => sup.start<string>({ id, behavior: recorder(id, events, seen) }));
    await until(() => count(events, 'c:preStart') === 1, 'all started');
    events.length = 0;
    await refs[1]!.send('boom');
    await until(() => count(events, 'a:postStop') === 1, 'siblings stopped');
    // Sent during the back-off: must be delivered after the restart, not lost.
    await refs[0]!.send('kept-a');
    await refs[2]!.send('kept-c');
    await until(() => count(events, 'c:preStart') === 1, 'group restart');
    expect(events).toEqual([
      'b:postStop',
      'c:postStop',
      'a:postStop',
      'a:preStart',
      'b:preStart',
      'c:preStart',
    ]);
    expect(sup.restarts).toBe(3);
    await until(() => seen.includes('a:kept-a') && seen.includes('c:kept-c'), 'preserved messages delivered');
    await sup.stop();
  });
});

describe('restart types', () => {
  it('permanent restarts after a normal exit (ctx.stop); transient and temporary do not', async () => {
    const events: string[] = [];
    const sup = new Supervisor('s', policy(), { log });
    const make = (id: string) => () => ({
      preStart() {
        events.push(`${id}:preStart`);
      },
      receive(m: string, ctx: ActorContext<string>) {
        if (m === 'exit') ctx.stop();
        if (m === 'boom') throw new Error('boom');
      },
    });
    const perm = sup.start<string>({ id: 'perm', behavior: make('perm'), restart: 'permanent' });
    const trans = sup.start<string>({ id: 'trans', behavior: make('trans'), restart: 'transient' });
    const temp = sup.start<string>({ id: 'temp', behavior: make('temp'), restart: 'temporary' });
    await perm.send('exit');
    await trans.send('exit');
    await until(() => count(events, 'perm:preStart') === 2, 'permanent restarted after normal exit');
    await trans.done; // transient: normal exit is final
    expect(count(events, 'trans:preStart')).toBe(1);
    await temp.send('boom');
    await temp.done; // temporary: even a failure is final
    expect(count(events, 'temp:preStart')).toBe(1);
    expect(sup.restarts).toBe(1);
    await sup.stop();
  });

  it('transient restarts after a failure', async () => {
    const events: string[] = [];
    const sup = new Supervisor('s', policy(), { log });
    const ref = sup.start<string>({ id: 't', behavior: recorder('t', events), restart: 'transient' });
    await ref.send('boom');
    await until(() => count(events, 't:preStart') === 2, 'transient restarted');
    expect(sup.restarts).toBe(1);
    await sup.stop();
  });
});
