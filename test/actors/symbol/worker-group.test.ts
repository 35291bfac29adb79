import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { assign, type OwnershipHandler } from '../../../actors/symbol/ownership.js';
import { WorkerGroup } from '../../../actors/symbol/worker-group.js';
import { createLogger } from '../../../runtime/logger.js';
import type { GroupEntry, GroupStore } from '../../../store/group-kv.js';

const TTL = 3_000;
const log = createLogger('silent');

/**
 * A KV bucket in memory, as NATS KV behaves for the group: one revision counter, entries stamped
 * with the "server" clock (the faked Date), compare-and-set, a watch with last values then
 * changes. A client can be cut off: its calls then never answer (a paused or partitioned process).
 */
class MemoryBucket {
  revision = 0;
  readonly entries = new Map<string, GroupEntry>();
  private readonly watchers = new Set<(e: GroupEntry) => void>();

  write(key: string, value: string, deleted = false): GroupEntry {
    const e: GroupEntry = { key, value, revision: ++this.revision, createdMs: Date.now(), deleted };
    this.entries.set(key, e);
    for (const w of this.watchers) queueMicrotask(() => w(e));
    return e;
  }

  client(): MemoryClient {
    return new MemoryClient(this, this.watchers);
  }
}

class MemoryClient implements GroupStore {
  /** Killed: nothing answers, ever. */
  dead = false;
  /** Heartbeat puts fail (time out), as they do while the bucket's stream has no leader. */
  failPuts = false;
  /** The next this many puts never answer nor fail (a request lost in a reconnect). */
  hangPuts = 0;
  /** Compare-and-set writes fail (a timeout), as a release's write may. */
  failUpdates = false;
  /** Compare-and-set writes never answer (a PubAck slow under load). */
  hangUpdates = false;
  /** The next this many watches never start (their consumer's creation never answers). */
  hangWatches = 0;
  /** Drops every running watch without a word (its consumer gone with a server). */
  loseWatches(): void {
    for (const w of this.mine) this.watchers.delete(w);
    this.mine.clear();
  }
  private readonly mine = new Set<(e: GroupEntry) => void>();
  /** Watch entries wait here (a stalled watch consumer) until `releaseWatch`. */
  private held: (() => void)[] | null = null;
  holdWatch(): void {
    this.held ??= [];
  }
  releaseWatch(): void {
    const q = this.held ?? [];
    this.held = null;
    for (const f of q) f();
  }
  private paused: (() => void)[] | null = null;
  constructor(
    private readonly b: MemoryBucket,
    private readonly watchers: Set<(e: GroupEntry) => void>,
  ) {}
  /** SIGSTOP: calls and watch entries wait (in the socket) until resume. */
  pause(): void {
    this.paused ??= [];
  }
  resume(): void {
    const q = this.paused ?? [];
    this.paused = null;
    for (const f of q) f();
  }
  private op<T>(f: () => T): Promise<T> {
    if (this.dead) return new Promise<T>(() => undefined);
    if (this.paused) return new Promise<T>((resolve) => this.paused!.push(() => resolve(f())));
    return Promise.resolve().then(f);
  }
  put(key: string, value: string) {
    if (this.failPuts) return Promise.reject(new Error('timeout'));
    if (this.hangPuts > 0 && this.hangPuts--) return new Promise<number>(() => undefined);
    return this.op(() => this.b.write(key, value).revision);
  }
  create(key: string, value: string) {
    return this.op(() => {
      const cur = this.b.entries.get(key);
      return cur && !cur.deleted ? null : this.b.write(key, value).revision;
    });
  }
  update(key: string, value: string, revision: number) {
    if (this.failUpdates) return Promise.reject(new Error('timeout'));
    if (this.hangUpdates) return new Promise<number | null>(() => undefined);
    return this.op(() => (this.b.entries.get(key)?.revision === revision ? this.b.write(key, value).revision : null));
  }
  delete(key: string) {
    return this.op(() => void this.b.write(key, '', true));
  }
  async watch(onEntry: (e: GroupEntry) => void) {
    if (this.hangWatches > 0 && this.hangWatches--) return new Promise<() => void>(() => undefined);
    const w = (e: GroupEntry) => {
      if (this.dead) return;
      if (this.paused) this.paused.push(() => onEntry(e));
      else if (this.held) this.held.push(() => onEntry(e));
      else onEntry(e);
    };
    for (const e of this.b.entries.values()) queueMicrotask(() => w(e));
    this.watchers.add(w);
    this.mine.add(w);
    return () => {
      this.watchers.delete(w);
      this.mine.delete(w);
    };
  }
}

/** A worker: its group plus a handler recording what it runs. */
class Member implements OwnershipHandler {
  readonly running = new Map<string, number | null>();
  readonly events: string[] = [];
  readonly group: WorkerGroup;
  readonly client: MemoryClient;
  drainMs = 0;
  /** Every start throws (a snapshot read that times out while the stream elects a leader). */
  failStarts = false;
  starts = 0;
  constructor(bucket: MemoryBucket, id: string) {
    this.client = bucket.client();
    this.group = new WorkerGroup({ id, store: this.client, ttlMs: TTL, log });
  }
  async acquired(key: string, token: number | null) {
    this.starts++;
    if (this.failStarts) throw new Error('snapshot read timed out');
    this.running.set(key, token);
    this.events.push(`+${key}`);
    return true;
  }
  async release(key: string) {
    if (this.drainMs) await new Promise((r) => setTimeout(r, this.drainMs));
    this.running.delete(key);
    this.events.push(`-${key}`);
  }
  lost(key: string) {
    this.running.delete(key);
    this.events.push(`!${key}`);
  }
  /** Keys this worker holds right now (in-process check). */
  holding(): string[] {
    return [...this.running].filter(([k, t]) => this.group.holds(k, t)).map(([k]) => k);
  }
}

const KEYS = Array.from({ length: 40 }, (_, i) => `binance.S${i}-USDT`);

/** Advances the fake clocks in small steps, checking after each that no key is held by two members. */
async function run(ms: number, members: Member[], step = 50): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    await vi.advanceTimersByTimeAsync(step);
    const seen = new Map<string, string>();
    for (const m of members) {
      for (const k of m.holding()) {
        expect(seen.get(k), `${k} held by ${seen.get(k)} and ${m.group.id}`).toBeUndefined();
        seen.set(k, m.group.id);
      }
    }
  }
}

/** Member `a` alone on a fresh bucket, 2 s after it was given `keys`. */
async function loneMember(keys: string[]): Promise<Member> {
  return loneMemberOn(new MemoryBucket(), keys);
}

async function loneMemberOn(bucket: MemoryBucket, keys: string[]): Promise<Member> {
  const a = new Member(bucket, 'a');
  await a.group.start(a);
  a.group.observe(keys);
  await run(2_000, [a]);
  return a;
}

describe('WorkerGroup (KV in memory, fake clocks)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'Date', 'performance', 'setImmediate'] });
    vi.setSystemTime(Date.UTC(2025, 0, 1));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('two members share the symbols, each held by exactly one, tokens = KV revisions', async () => {
    const bucket = new MemoryBucket();
    const a = new Member(bucket, 'a');
    const b = new Member(bucket, 'b');
    await a.group.start(a);
    await b.group.start(b);
    a.group.observe(KEYS);
    b.group.observe(KEYS);
    await run(2_000, [a, b]);
    expect(a.running.size + b.running.size).toBe(KEYS.length);
    expect(Math.abs(a.running.size - b.running.size)).toBeLessThanOrEqual(Math.ceil(KEYS.length * 0.05) * 2);
    for (const [k, token] of [...a.running, ...b.running]) expect(bucket.entries.get(`l.${k}`)?.revision).toBe(token);
  });

  it('a dead member (no heartbeat) is taken over after the TTL in server time, not before', async () => {
    const bucket = new MemoryBucket();
    const a = new Member(bucket, 'a');
    const b = new Member(bucket, 'b');
    await a.group.start(a);
    await b.group.start(b);
    for (const m of [a, b]) m.group.observe(KEYS);
    await run(2_000, [a, b]);
    const hers = [...b.running.keys()];
    expect(hers.length).toBeGreaterThan(0);
    b.client.dead = true; // killed: no more heartbeats, no answers
    await run(TTL - 500, [a, b]);
    for (const k of hers) expect(a.running.has(k)).toBe(false);
    expect(b.holding()).toEqual([]); // it knows too: its own heartbeat is too old
    await run(1_500, [a, b]);
    expect(a.running.size).toBe(KEYS.length);
    for (const k of hers) expect(a.running.get(k)).toBeGreaterThan(0);
  });

  it('a member paused past its TTL stops holding at once, before anyone may take its symbols, and rejoins', async () => {
    const bucket = new MemoryBucket();
    const a = new Member(bucket, 'a');
    const b = new Member(bucket, 'b');
    await a.group.start(a);
    await b.group.start(b);
    for (const m of [a, b]) m.group.observe(KEYS);
    await run(2_000, [a, b]);
    const hers = [...b.running.keys()];
    b.client.pause();
    // The others may take b's symbols only after TTL; b must have stopped trusting them by then.
    await run(TTL - 200, [a, b]);
    expect(b.holding()).toEqual([]);
    expect(b.events.filter((e) => e.startsWith('!')).length).toBe(hers.length);
    await run(1_000, [a, b]);
    expect(a.running.size).toBe(KEYS.length);
    b.client.resume(); // SIGCONT
    await run(4_000, [a, b]);
    expect(b.running.size).toBeGreaterThan(0);
    expect(a.running.size + b.running.size).toBe(KEYS.length);
  });

  it('takes over only on a heartbeat of its own stored a TTL after the owner\'s last: a stalled watch is no evidence', async () => {
    // b's watch stalls right after delivering b's own heartbeat, and b's next heartbeats fail (a
    // lost stream leader), while a goes on heartbeating. By b's clock a looks dead a TTL later,
    // while b still trusts its own last heartbeat: b must not take a's symbols on that estimate.
    const bucket = new MemoryBucket();
    const a = new Member(bucket, 'a');
    const b = new Member(bucket, 'b');
    await a.group.start(a);
    await vi.advanceTimersByTimeAsync(700); // b's heartbeats 700 ms after a's
    await b.group.start(b);
    for (const m of [a, b]) m.group.observe(KEYS);
    await run(2_010, [a, b], 10); // just after b's third heartbeat
    const hers = [...a.running.keys()];
    expect(hers.length).toBeGreaterThan(0);
    b.client.holdWatch();
    b.client.failPuts = true;
    await run(4_000, [a, b], 10);
    expect(b.events.filter((e) => e.startsWith('+') && hers.includes(e.slice(1)))).toEqual([]);
    for (const k of hers) expect(a.running.has(k), k).toBe(true); // (and b's too: b looked dead to a)
    b.client.failPuts = false;
    b.client.releaseWatch();
    await run(4_000, [a, b]);
    expect(a.running.size + b.running.size).toBe(KEYS.length);
    expect(b.running.size).toBeGreaterThan(0);
  });

  it('a dead member is taken over even when the survivor\'s heartbeats are far apart: one is sent for the takeover', async () => {
    const bucket = new MemoryBucket();
    const a = new Member(bucket, 'a');
    const b = new Member(bucket, 'b');
    await a.group.start(a);
    await vi.advanceTimersByTimeAsync(500); // a's regular heartbeats come half a period after b's deadline
    await b.group.start(b);
    for (const m of [a, b]) m.group.observe(KEYS);
    await run(2_000, [a, b]);
    const hers = [...b.running.keys()];
    b.client.dead = true;
    // TTL after b's last heartbeat, plus a's evidence heartbeat and its echo: well before a's next regular beat would add a third of the TTL.
    await run(TTL + 400, [a, b]);
    for (const k of hers) expect(a.running.get(k), k).toBeGreaterThan(0);
  });

  it('a heartbeat that never answers does not hold the next ones back: the member keeps its symbols', async () => {
    const a = await loneMember(KEYS);
    expect(a.holding()).toHaveLength(KEYS.length);
    a.client.hangPuts = 1;
    await run(3 * TTL, [a]);
    // It may have given them up for a moment (no heartbeat within TTL - margin), but it heartbeats again and holds them.
    expect(a.holding()).toHaveLength(KEYS.length);
    expect(a.group.view().members).toEqual(['a']);
  });

  it('a watch lost without a word, whose re-creation first hangs, is started again: new symbols are acquired', async () => {
    const a = await loneMember(KEYS.slice(0, 10));
    expect(a.holding()).toHaveLength(10);
    a.client.loseWatches();
    a.client.hangWatches = 2;
    await run(1_000, [a]);
    a.group.observe(KEYS.slice(10, 20));
    await run(4 * TTL, [a]);
    expect(a.holding()).toHaveLength(20);
  });

  it('a foreign write to a held lease (another owner, or a value that does not parse) means lost, not a crash', async () => {
    const bucket = new MemoryBucket();
    const a = new Member(bucket, 'a');
    await a.group.start(a);
    a.group.observe(KEYS.slice(0, 3));
    await run(500, [a]);
    expect(a.running.size).toBe(3);
    const before = new Map(a.running);
    bucket.write(`l.${KEYS[0]}`, '{"owner":"mallory"}');
    bucket.write(`l.${KEYS[1]}`, 'garbage \u0000');
    await run(100, [a]);
    expect(a.events.slice(3, 5).sort()).toEqual([`!${KEYS[0]}`, `!${KEYS[1]}`].sort());
    expect(a.group.holds(KEYS[0]!, before.get(KEYS[0]!)!)).toBe(false);
    // Neither lease names a live member: taken again, with new tokens.
    await run(1_000, [a]);
    expect(a.running.size).toBe(3);
    expect(a.running.get(KEYS[0]!)).toBeGreaterThan(before.get(KEYS[0]!)!);
  });

  it('a joining member gets its share by hand-over: drain, release, then acquire — never two holders', async () => {
    const bucket = new MemoryBucket();
    const a = new Member(bucket, 'a');
    a.drainMs = 200;
    await a.group.start(a);
    a.group.observe(KEYS);
    await run(1_500, [a]);
    expect(a.running.size).toBe(KEYS.length);
    const b = new Member(bucket, 'b');
    await b.group.start(b);
    b.group.observe(KEYS);
    await run(3_000, [a, b]);
    expect(b.running.size).toBeGreaterThan(KEYS.length / 4);
    expect(a.running.size + b.running.size).toBe(KEYS.length);
    expect(a.events.filter((e) => e.startsWith('!'))).toEqual([]);
  });

  it('a start that fails is retried with back-off, its lease given back meanwhile: once starts work, every symbol has one owner', async () => {
    const bucket = new MemoryBucket();
    const a = new Member(bucket, 'a');
    a.failStarts = true;
    await a.group.start(a);
    a.group.observe(KEYS);
    await run(2_000, [a]);
    expect(a.running.size).toBe(0);
    // Doubling from 250 ms: at most 4 tries per key in 2 s (an immediate retry would spin without end).
    expect(a.starts).toBeGreaterThanOrEqual(KEYS.length);
    expect(a.starts).toBeLessThanOrEqual(4 * KEYS.length);
    const b = new Member(bucket, 'b');
    await b.group.start(b);
    b.group.observe(KEYS);
    await run(1_000, [a, b]);
    a.failStarts = false;
    await run(2 * TTL, [a, b]);
    expect(a.running.size + b.running.size).toBe(KEYS.length);
    expect(a.running.size).toBeGreaterThan(0);
    expect(b.running.size).toBeGreaterThan(0);
    for (const [k, token] of [...a.running, ...b.running]) expect(bucket.entries.get(`l.${k}`)?.revision, k).toBe(token);
  });

  it('a lease whose release write failed is given back later: the member it was handed to gets it (no orphan while the old owner lives)', async () => {
    const bucket = new MemoryBucket();
    const a = await loneMemberOn(bucket, KEYS);
    expect(a.running.size).toBe(KEYS.length);
    a.client.failUpdates = true;
    const b = new Member(bucket, 'b');
    await b.group.start(b);
    b.group.observe(KEYS);
    await run(2_000, [a, b]);
    const handed = KEYS.filter((k) => !a.running.has(k));
    expect(handed.length).toBeGreaterThan(0);
    for (const k of handed) expect(b.running.has(k), k).toBe(false); // their leases still name a, which is live
    a.client.failUpdates = false;
    await run(2 * TTL, [a, b]);
    expect(a.running.size + b.running.size).toBe(KEYS.length);
    for (const k of handed) expect(b.running.has(k), k).toBe(true);
  });

  it('a symbol drained and stopped for a hand-over is no longer shown as owned while its release write is unanswered', async () => {
    const bucket = new MemoryBucket();
    const a = await loneMemberOn(bucket, KEYS);
    a.client.hangUpdates = true;
    const b = new Member(bucket, 'b');
    await b.group.start(b);
    b.group.observe(KEYS);
    await run(1_000, [a, b]);
    const released = a.events.filter((e) => e.startsWith('-')).map((e) => e.slice(1));
    expect(released.length).toBeGreaterThan(0);
    const shown = new Set(a.group.view().owned.map((o) => o.key));
    for (const k of released) expect(shown.has(k), k).toBe(false);
    expect(shown.size).toBe(KEYS.length - released.length);
  });

  it('leaving hands everything over at once (no TTL wait)', async () => {
    const bucket = new MemoryBucket();
    const a = new Member(bucket, 'a');
    const b = new Member(bucket, 'b');
    await a.group.start(a);
    await b.group.start(b);
    for (const m of [a, b]) m.group.observe(KEYS);
    await run(1_500, [a, b]);
    const stopping = b.group.stop();
    await run(500, [a, b]);
    await stopping;
    expect(a.running.size).toBe(KEYS.length);
  });
});

describe('assign (rendezvous with bounded loads)', () => {
  const keys = Array.from({ length: 1000 }, (_, i) => `v.K${i}`);

  it('gives every key one member, loads within the bound', () => {
    const members = ['w1', 'w2', 'w3', 'w4'];
    const a = assign(keys, members);
    expect(a.size).toBe(keys.length);
    const load = members.map((m) => [...a.values()].filter((x) => x === m).length);
    for (const l of load) expect(l).toBeLessThanOrEqual(Math.ceil((1.05 * keys.length) / 4));
    for (const l of load) expect(l).toBeGreaterThanOrEqual(keys.length - 3 * Math.ceil((1.05 * keys.length) / 4));
  });

  it('is the same whatever the order of its inputs, and moves about 1/N of the keys when a member joins', () => {
    const a3 = assign(keys, ['w1', 'w2', 'w3']);
    expect(assign([...keys].reverse(), ['w3', 'w1', 'w2'])).toEqual(a3);
    const a4 = assign(keys, ['w1', 'w2', 'w3', 'w4']);
    const moved = keys.filter((k) => a3.get(k) !== a4.get(k)).length;
    expect(moved).toBeGreaterThan(keys.length / 4 - 60);
    expect(moved).toBeLessThan(keys.length / 4 + 120);
  });
});
