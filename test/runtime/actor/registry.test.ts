import { describe, expect, it } from 'vitest';
import { ActorRegistry, Supervisor, type Behavior } from '../../../runtime/actor/index.js';
import { delay, log, policy, until } from './helpers.js';

type Key = `${string}:${string}`;

function counterBehavior(key: Key, events: string[], totals: Map<string, number>, postStopMs = 0): Behavior<number> {
  let sum = 0;
  return {
    preStart() {
      sum = totals.get(key) ?? 0; // "load snapshot"
      events.push(`${key}:preStart`);
    },
    receive(n) {
      if (n < 0) throw new Error('negative');
      sum += n;
    },
    async postStop() {
      if (postStopMs > 0) await delay(postStopMs);
      totals.set(key, sum); // "flush snapshot"
      events.push(`${key}:postStop`);
    },
  };
}

describe('ActorRegistry', () => {
  it('spawns one actor per key on the first message and routes later messages to it', async () => {
    const events: string[] = [];
    const totals = new Map<string, number>();
    const spawnedFor: string[] = [];
    const reg = new ActorRegistry<Key, number>('symbols', {
      behavior: (key) => {
        spawnedFor.push(key);
        return counterBehavior(key, events, totals);
      },
      supervisor: policy(),
      log,
      kind: 'symbol-test',
    });
    expect(reg.get('binance:BTC-USDT')).toBeUndefined();
    await reg.send('binance:BTC-USDT', 1);
    await reg.send('okx:BTC-USDT', 10);
    await reg.send('binance:BTC-USDT', 2);
    expect(reg.size).toBe(2);
    expect(reg.keys()).toEqual(['binance:BTC-USDT', 'okx:BTC-USDT']);
    expect(reg.get('binance:BTC-USDT')).toBe(reg.get('binance:BTC-USDT'));
    await reg.stopAll();
    expect(spawnedFor).toEqual(['binance:BTC-USDT', 'okx:BTC-USDT']);
    expect(totals.get('binance:BTC-USDT')).toBe(3);
    expect(totals.get('okx:BTC-USDT')).toBe(10);
  });

  it('passivates idle actors (postStop flushes state) and respawns them on the next message', async () => {
    const events: string[] = [];
    const totals = new Map<string, number>();
    const reg = new ActorRegistry<Key, number>('symbols', {
      behavior: (key) => counterBehavior(key, events, totals),
      supervisor: policy(),
      idleMs: 60,
      log,
    });
    const t0 = performance.now();
    await reg.send('v:A', 5);
    await until(() => events.includes('v:A:postStop'), 'passivation');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(60);
    expect(reg.size).toBe(0);
    expect(reg.get('v:A')).toBeUndefined();
    expect(totals.get('v:A')).toBe(5);
    await reg.send('v:A', 7);
    await until(() => count(events, 'v:A:preStart') === 2, 'respawn');
    await reg.stopAll();
    expect(totals.get('v:A')).toBe(12); // the respawned actor resumed from the flushed state
  });

  it('does not passivate an actor that keeps receiving', async () => {
    const events: string[] = [];
    const reg = new ActorRegistry<Key, number>('symbols', {
      behavior: (key) => counterBehavior(key, events, new Map()),
      supervisor: policy(),
      idleMs: 200,
      log,
    });
    for (let i = 0; i < 12; i++) {
      await reg.send('v:busy', 1);
      await delay(20);
    }
    expect(events).toEqual(['v:busy:preStart']);
    await reg.stopAll();
  });

  it("a respawned key starts only after its previous actor's postStop finished", async () => {
    const events: string[] = [];
    const totals = new Map<string, number>();
    const reg = new ActorRegistry<Key, number>('symbols', {
      behavior: (key) => counterBehavior(key, events, totals, 50),
      supervisor: policy(),
      idleMs: 30,
      log,
    });
    await reg.send('v:S', 1);
    await until(() => reg.size === 0, 'passivation started');
    expect(events).toEqual(['v:S:preStart']); // postStop (50 ms) still running
    await reg.send('v:S', 2);
    await until(() => count(events, 'v:S:preStart') === 2, 'respawn');
    expect(events.slice(0, 3)).toEqual(['v:S:preStart', 'v:S:postStop', 'v:S:preStart']);
    await reg.stopAll();
    expect(totals.get('v:S')).toBe(3);
  });

  it('stopAll stops every actor in spawn order, draining each, and later sends reject', async () => {
    const events: string[] = [];
    const totals = new Map<string, number>();
    const reg = new ActorRegistry<Key, number>('symbols', {
      behavior: (key) => counterBehavior(key, events, totals),
      supervisor: policy(),
      log,
    });
    const keys: Key[] = ['v:C', 'v:A', 'v:B'];
    for (const k of keys) for (let i = 1; i <= 3; i++) await reg.send(k, i);
    await reg.stopAll();
    expect(events.filter((e) => e.endsWith('postStop'))).toEqual(['v:C:postStop', 'v:A:postStop', 'v:B:postStop']);
    for (const k of keys) expect(totals.get(k)).toBe(6);
    await expect(reg.send('v:A', 1)).rejects.toMatchObject({ code: 'MAILBOX_CLOSED' });
    await expect(reg.send('v:new', 1)).rejects.toMatchObject({ code: 'MAILBOX_CLOSED' });
  });

  it('restarts a failing keyed actor under a shared supervisor; the ref stays the same', async () => {
    const events: string[] = [];
    const totals = new Map<string, number>();
    const sup = new Supervisor('workers', policy(), { log });
    const reg = new ActorRegistry<Key, number>('symbols', {
      behavior: (key) => counterBehavior(key, events, totals),
      supervisor: sup,
      log,
    });
    await reg.send('v:F', 4);
    const ref = reg.get('v:F');
    await reg.send('v:F', -1);
    await reg.send('v:F', 6);
    await until(() => count(events, 'v:F:preStart') === 2, 'restart');
    expect(reg.get('v:F')).toBe(ref);
    expect(sup.restarts).toBe(1);
    await reg.stopAll();
    // The failed incarnation flushed 4 in its postStop; the next one loaded it and added 6.
    expect(totals.get('v:F')).toBe(10);
    await sup.stop();
  });
});

function count(events: string[], e: string): number {
  return events.filter((x) => x === e).length;
}
