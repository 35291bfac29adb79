import { backoffCap } from '../../runtime/backoff.js';
import type { Logger } from '../../runtime/logger.js';
import { counter, gauge, histogram } from '../../runtime/metrics.js';
import type { GroupEntry, GroupStore } from '../../store/group-kv.js';
import { assign, ownedGauge, type OwnedSymbol, type Ownership, type OwnershipHandler, type OwnershipView } from './ownership.js';

const m = {
  takeovers: counter({ name: 'tickwork_worker_takeovers_total', help: 'Symbols taken over from a worker that was no longer live', labelNames: ['worker'] as const }),
  changes: counter({ name: 'tickwork_worker_lease_changes_total', help: 'Lease changes of this worker: acquired, released, lost', labelNames: ['worker', 'kind'] as const }),
  renew: histogram({
    name: 'tickwork_worker_lease_renew_seconds',
    help: 'One membership heartbeat (the renewal of every lease this worker holds): put to PubAck',
    labelNames: ['worker'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  }),
  members: gauge({ name: 'tickwork_group_members', help: 'Live members of the worker group as this worker sees them', labelNames: ['worker'] as const }),
  unowned: gauge({ name: 'tickwork_group_unowned_symbols', help: 'Known symbols whose lease has no live owner, as this worker sees them', labelNames: ['worker'] as const }),
};

export interface WorkerGroupOptions {
  /** This worker's id: unique per process (KV key characters only: letters, digits, - _ =). */
  id: string;
  store: GroupStore;
  /** TICKWORK_LEASE_TTL_MS. */
  ttlMs: number;
  log: Logger;
  /** Monotonic clock, ms (performance.now): keeps running through SIGSTOP, never steps. */
  monotonic?: () => number;
  /** Wall clock for `since` in views. */
  now?: () => number;
  /** Acquisitions in flight at most (each raises fences and reads a snapshot). */
  concurrency?: number;
}

interface Member {
  /** Server time of its last heartbeat. */
  createdMs: number;
}

interface Lease {
  /** null: released; undefined: the value does not parse (anyone may take it). */
  owner: string | null | undefined;
  revision: number;
  deleted: boolean;
}

interface Held extends OwnedSymbol {
  /** released: drained and stopped here, the lease's release being written (no longer shown as owned). */
  state: 'acquiring' | 'active' | 'releasing' | 'released';
}

/** Member keys `m.<id>`, lease keys `l.<venue>.<SYMBOL>`. */
const MEMBER = 'm.';
const LEASE = 'l.';
/** A released lease's value. */
const FREE = JSON.stringify({ owner: null });

/**
 * The worker group on NATS KV (no other coordination service):
 *
 * - Membership: every worker puts `m.<id>` every TTL/3. A member is live while its last
 *   heartbeat is younger than the TTL in SERVER time: KV entry timestamps, with this process's
 *   monotonic clock only measuring time elapsed since the latest entry it received. Client wall
 *   clocks are never compared.
 * - Ownership: the desired owner of each known symbol is the rendezvous choice among live
 *   members (bounded loads). A lease `l.<venue>.<SYMBOL>` = `{owner}` is taken by create, or by
 *   update at the revision seen when it is free, released, unreadable or its owner is not live
 *   (compare-and-set); the revision written is the fencing token. A current owner that is no
 *   longer the desired one drains the symbol, then releases; the new owner acquires after.
 * - Self-fencing: a worker holds its leases only while its own last acknowledged heartbeat was
 *   sent less than TTL − margin ago by its monotonic clock, so after SIGSTOP … SIGCONT (or a cut
 *   connection) it knows at once that they are gone, before anyone else may take them. A heartbeat
 *   acknowledged only after that point may have been stored more than a TTL after the previous one
 *   (a stream leader lost in between): the others may have judged the worker dead in the gap, so
 *   every lease is dropped. A foreign write to a held lease (another revision, a value that does
 *   not parse) means lost, never a crash.
 * - Takeover on evidence, not on an estimate: a lease whose owner is not live is taken only once
 *   the watch has delivered one of this worker's own heartbeats stored at least a TTL after the
 *   owner's last one (the stream orders entries, so no heartbeat of the owner's can hide before
 *   it; one stored after it comes too late for the owner to keep its leases, by the rule above).
 *   A heartbeat is sent at once when a takeover waits for it.
 * - Decisions are taken only on a fresh view: the watch must have delivered this worker's own
 *   latest heartbeat (a stalled watch would make every other member look dead).
 */
export class WorkerGroup implements Ownership {
  readonly kind = 'group';
  private handler: OwnershipHandler | null = null;
  private readonly members = new Map<string, Member>();
  private readonly leases = new Map<string, Lease>();
  private readonly held = new Map<string, Held>();
  private readonly universe = new Set<string>();
  /** Keys with a KV operation in flight (acquire or release). */
  private readonly busy = new Set<string>();
  /** Keys whose last start (or give-back) failed: left alone before `at` (monotonic); `attempt` counts the failures in a row. */
  private readonly backoff = new Map<string, { at: number; attempt: number }>();
  private readonly monotonic: () => number;
  private readonly now: () => number;
  private readonly margin: number;
  private readonly concurrency: number;
  /** Server time reference: the newest entry timestamp seen and when (monotonic) it was received. */
  private serverTs = 0;
  private serverAt = 0;
  private maxRevision = 0;
  /** Last acknowledged heartbeat: monotonic send time and its revision. */
  private heartbeat: { sentAt: number; revision: number } | null = null;
  /** Server time of this worker's newest heartbeat the watch has delivered. */
  private ownSeenMs = 0;
  /** When a heartbeat was last sent for a waiting takeover (monotonic). */
  private evidenceBeatAt = Number.NEGATIVE_INFINITY;
  /** Acknowledged heartbeats the watch has not delivered yet (revision, monotonic ack time), oldest first. */
  private unseen: { revision: number; ackAt: number }[] = [];
  /** Monotonic send time of the heartbeat in flight; null when none is. */
  private heartbeatSince: number | null = null;
  private stopWatch: (() => void) | null = null;
  private watchStartedAt = 0;
  /** Bumped by every (re)start of the watch: a watch that comes up after a newer one started is stopped at once. */
  private watchGeneration = 0;
  private timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private reconcileQueued = false;
  private desired: { members: string; universe: number; map: Map<string, string> } | null = null;
  private lastWarnAt = 0;

  constructor(private readonly opts: WorkerGroupOptions) {
    if (!/^[-_=a-zA-Z0-9]+$/.test(opts.id)) throw new RangeError(`worker group: id ${JSON.stringify(opts.id)} has characters a KV key cannot`);
    this.monotonic = opts.monotonic ?? (() => performance.now());
    this.now = opts.now ?? Date.now;
    // Stop trusting the leases this long before the others may take them (a heartbeat's own latency, scheduling).
    this.margin = Math.max(250, Math.min(2_000, opts.ttlMs / 5));
    this.concurrency = opts.concurrency ?? 16;
  }

  get id(): string {
    return this.opts.id;
  }

  async start(handler: OwnershipHandler): Promise<void> {
    this.handler = handler;
    await this.watch();
    await this.beat();
    const every = Math.max(50, Math.floor(this.opts.ttlMs / 3));
    this.timers.push(setInterval(() => void this.beat(), every));
    // Liveness is judged by time passing, not only by entries arriving.
    this.timers.push(
      setInterval(() => {
        this.checkWatch();
        this.reconcile();
      }, Math.max(50, Math.min(250, Math.floor(this.opts.ttlMs / 20)))),
    );
    for (const t of this.timers) t.unref();
    this.reconcile();
  }

  observe(keys: Iterable<string>): void {
    let added = false;
    for (const k of keys) {
      if (this.universe.has(k) || !validKey(k)) continue;
      this.universe.add(k);
      added = true;
    }
    if (added) this.queueReconcile();
  }

  holds(key: string, token: number | null): boolean {
    const h = this.held.get(key);
    return h !== undefined && h.token === token && this.selfValid();
  }

  fenced(key: string): void {
    const h = this.held.get(key);
    if (h === undefined) return;
    this.lose(key, 'fenced');
  }

  view(): OwnershipView {
    return {
      worker: this.opts.id,
      kind: this.kind,
      members: this.liveMembers(),
      owned: [...this.held.values()].filter((h) => (h.state === 'active' || h.state === 'releasing') && this.selfValid()).map(({ key, token, since }) => ({ key, token, since })),
    };
  }

  /** Drains and releases every symbol, then leaves the group (others take over at once, without waiting for the TTL). */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    // Acquisitions and releases in flight finish first (an acquired symbol is then released too).
    const deadline = this.monotonic() + this.opts.ttlMs;
    while (this.busy.size > 0 && this.monotonic() < deadline) await new Promise((r) => setTimeout(r, 20));
    const keys = [...this.held.keys()].filter((k) => this.held.get(k)!.state === 'active');
    await this.limited(keys, (k) => this.release(k));
    this.stopWatch?.();
    try {
      await this.opts.store.delete(MEMBER + this.opts.id);
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'worker group: membership not deleted (others wait for its TTL)');
    }
    ownedGauge.set({ worker: this.opts.id }, 0);
  }

  // ---- membership ----------------------------------------------------------------------------

  private async beat(): Promise<void> {
    if (this.stopping) return;
    const sentAt = this.monotonic();
    // One at a time; a put that has neither answered nor failed in a TTL (its own timeout is half
    // of it) no longer holds the next ones back.
    if (this.heartbeatSince !== null && sentAt - this.heartbeatSince < this.opts.ttlMs) return;
    this.heartbeatSince = sentAt;
    try {
      // Half the TTL at most: a heartbeat stuck on a lost stream leader (5 s by default) would block
      // the next ones past the lease; failing early lets the next one go to the new leader.
      const revision = await this.opts.store.put(MEMBER + this.opts.id, JSON.stringify({ id: this.opts.id, at: this.now() }), Math.max(250, Math.floor(this.opts.ttlMs / 2)));
      // Acknowledged after our leases had already lapsed: it may have been stored more than a TTL
      // after the previous one, and others may have taken them in the gap, whatever this heartbeat
      // says now. They are given up (and taken again by compare-and-set if still free).
      const ackAt = this.monotonic();
      if (this.heartbeat !== null && ackAt >= this.heartbeat.sentAt + this.opts.ttlMs - this.margin && this.held.size > 0) {
        this.opts.log.warn({ worker: this.opts.id, symbols: this.held.size }, 'worker group: heartbeat gap past the lease (paused or starved); every lease dropped');
        for (const key of [...this.held.keys()]) this.lose(key, 'heartbeat gap');
      }
      if (this.heartbeat === null || sentAt > this.heartbeat.sentAt) this.heartbeat = { sentAt, revision };
      if (revision > this.maxRevision && this.unseen.length < 64) this.unseen.push({ revision, ackAt });
      m.renew.observe({ worker: this.opts.id }, (this.monotonic() - sentAt) / 1000);
    } catch (err) {
      this.warn('worker group: heartbeat failed', err);
    } finally {
      if (this.heartbeatSince === sentAt) this.heartbeatSince = null;
    }
    this.reconcile();
  }

  /**
   * A watch that has not delivered a heartbeat of ours acknowledged a while ago is stuck (its
   * consumer lost with a server, or never created): start it again. Checked on the timer, not
   * only after a heartbeat, so a stuck watch is found whatever the heartbeats do. Only a heartbeat
   * acknowledged more than an interval + 1 s ago counts: one just acknowledged may still be on
   * its way through the watch.
   */
  private checkWatch(): void {
    while (this.unseen.length > 0 && this.unseen[0]!.revision <= this.maxRevision) this.unseen.shift();
    const oldest = this.unseen[0];
    if (this.stopping || oldest === undefined) return;
    const now = this.monotonic();
    const grace = this.opts.ttlMs / 3 + 1_000;
    if (now - oldest.ackAt <= grace || now - this.watchStartedAt <= grace) return;
    this.warn(`worker group: the watch has not shown our heartbeat of ${Math.round(now - oldest.ackAt)} ms ago; reading the group again`, null);
    void this.rewatch();
  }

  /** Our leases are ours only while our last acknowledged heartbeat is younger than TTL − margin. */
  private selfValid(): boolean {
    const hb = this.heartbeat;
    const valid = hb !== null && this.monotonic() - hb.sentAt < this.opts.ttlMs - this.margin;
    // Found lapsed by a write's check: give the leases up now, not at the next timer.
    if (!valid && this.held.size > 0) this.queueReconcile();
    return valid;
  }

  /** The watch has delivered our latest heartbeat: what it shows of the others is recent enough to decide on. */
  private fresh(): boolean {
    return this.heartbeat !== null && this.maxRevision >= this.heartbeat.revision;
  }

  private serverNow(): number {
    return this.serverTs + (this.monotonic() - this.serverAt);
  }

  private live(id: string): boolean {
    if (id === this.opts.id) return this.selfValid();
    const mem = this.members.get(id);
    return mem !== undefined && this.serverNow() - mem.createdMs < this.opts.ttlMs;
  }

  private liveMembers(): string[] {
    const out: string[] = [];
    for (const id of this.members.keys()) if (this.live(id)) out.push(id);
    if (this.selfValid() && !this.members.has(this.opts.id)) out.push(this.opts.id);
    return out.sort();
  }

  // ---- the watch -----------------------------------------------------------------------------

  private async watch(): Promise<void> {
    this.watchStartedAt = this.monotonic();
    const generation = ++this.watchGeneration;
    let stop: () => void = () => undefined;
    const started = this.opts.store.watch(
      (e) => {
        if (generation === this.watchGeneration) this.onEntry(e);
      },
      () => {
        if (!this.stopping && this.stopWatch === stop) void this.rewatch();
      },
    );
    // Creating the watch's consumer can hang while the bucket's stream elects a leader: give up
    // after a TTL (a late one is stopped when it comes) and let the caller try again.
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`watch not started in ${this.opts.ttlMs} ms`)), this.opts.ttlMs);
      timer.unref();
    });
    try {
      stop = await Promise.race([started, gaveUp]);
    } catch (err) {
      void started.then((late) => late(), () => undefined);
      // Superseded meanwhile by a newer watch: that one stands, nothing to retry.
      if (generation !== this.watchGeneration) return;
      throw err;
    } finally {
      clearTimeout(timer);
    }
    if (generation !== this.watchGeneration || this.stopping) {
      stop();
      return;
    }
    this.stopWatch = stop;
  }

  /** A compare-and-set on `key` failed: if the watch shows nothing newer of it soon, read everything again. */
  private suspectView(key: string, revision: number): void {
    const t = setTimeout(() => {
      const seen = this.leases.get(key)?.revision ?? 0;
      if (seen <= revision && this.monotonic() - this.watchStartedAt > 1_000) void this.rewatch();
    }, 500);
    t.unref();
  }

  private async rewatch(): Promise<void> {
    if (this.stopping) return;
    this.stopWatch?.();
    this.stopWatch = null;
    try {
      await this.watch();
    } catch (err) {
      this.warn('worker group: watch failed; retrying', err);
      const t = setTimeout(() => void this.rewatch(), 1_000);
      t.unref();
    }
  }

  private onEntry(e: GroupEntry): void {
    const at = this.monotonic();
    if (e.revision > this.maxRevision) this.maxRevision = e.revision;
    // Entries arrive after they were written: the estimate lags the server a little, never leads it.
    if (e.createdMs > this.serverNow()) {
      this.serverTs = e.createdMs;
      this.serverAt = at;
    }
    if (e.key.startsWith(MEMBER)) {
      const id = e.key.slice(MEMBER.length);
      if (e.deleted) this.members.delete(id);
      else this.members.set(id, { createdMs: e.createdMs });
      if (id === this.opts.id && !e.deleted && e.createdMs > this.ownSeenMs) this.ownSeenMs = e.createdMs;
    } else if (e.key.startsWith(LEASE)) {
      const key = e.key.slice(LEASE.length);
      const lease: Lease = { owner: e.deleted ? null : parseOwner(e.value), revision: e.revision, deleted: e.deleted };
      this.leases.set(key, lease);
      const h = this.held.get(key);
      // Our own writes: the acquisition carries our token (its echo before the token is known finds
      // no entry yet), the release names no owner and may echo before its PubAck.
      const ownRelease = (h?.state === 'releasing' || h?.state === 'released') && lease.owner === null;
      if (h !== undefined && !ownRelease && h.token !== e.revision && e.revision > (h.token ?? 0)) this.lose(key, 'foreign write');
    }
    this.queueReconcile();
  }

  // ---- decisions -----------------------------------------------------------------------------

  private queueReconcile(): void {
    if (this.reconcileQueued) return;
    this.reconcileQueued = true;
    queueMicrotask(() => {
      this.reconcileQueued = false;
      this.reconcile();
    });
  }

  private reconcile(): void {
    if (this.stopping || this.handler === null) return;
    const me = this.opts.id;
    if (!this.selfValid()) {
      if (this.held.size > 0) {
        this.opts.log.warn({ worker: me, symbols: this.held.size }, 'worker group: own heartbeat too old (paused or cut off); every lease dropped');
        for (const key of [...this.held.keys()]) this.lose(key, 'heartbeat');
      }
      m.members.set({ worker: me }, 0);
      return;
    }
    if (!this.fresh()) return;
    const members = this.liveMembers();
    const desired = this.desiredOwners(members);
    let unowned = 0;
    let awaitingEvidence = false;
    const toAcquire: { key: string; lease: Lease | undefined }[] = [];
    for (const key of this.universe) {
      const lease = this.leases.get(key);
      const owner = lease?.owner;
      if (!(typeof owner === 'string' && this.live(owner) && !lease!.deleted)) unowned++;
      if (this.held.has(key) || this.busy.has(key) || (this.backoff.get(key)?.at ?? 0) > this.monotonic()) continue;
      if (desired.get(key) !== me) {
        // A lease naming us that we do not hold (a start that failed, a release whose write failed,
        // leases dropped on a heartbeat gap): nobody else may take it while we live, so it is
        // given back, or the symbol would be left to no one.
        if (lease !== undefined && !lease.deleted && owner === me) void this.disown(key, lease.revision);
        continue;
      }
      if (lease === undefined || lease.deleted || owner === null || owner === undefined || owner === me) toAcquire.push({ key, lease });
      else if (!this.live(owner)) {
        if (this.provenDead(owner)) toAcquire.push({ key, lease });
        else awaitingEvidence = true;
      }
    }
    // A takeover waits for a heartbeat of ours stored after the owner's deadline: send one now (twice a second at most).
    if (awaitingEvidence && this.monotonic() - this.evidenceBeatAt >= 500) {
      this.evidenceBeatAt = this.monotonic();
      void this.beat();
    }
    for (const [key, h] of this.held) {
      const want = desired.get(key);
      if (h.state === 'active' && want !== undefined && want !== me && !this.busy.has(key)) void this.release(key);
    }
    m.members.set({ worker: me }, members.length);
    m.unowned.set({ worker: me }, unowned);
    ownedGauge.set({ worker: me }, this.held.size);
    const room = this.concurrency - this.busy.size;
    for (const { key, lease } of toAcquire.slice(0, Math.max(0, room))) void this.acquire(key, lease);
  }

  /**
   * The watch has delivered a heartbeat of ours stored at least a TTL after `owner`'s last one:
   * `owner` was dead then. An owner without a membership entry in a fresh view is no worker (a
   * worker heartbeats before it writes a lease, and deletes its entry only after releasing).
   */
  private provenDead(owner: string): boolean {
    const last = this.members.get(owner)?.createdMs;
    return last === undefined || this.ownSeenMs >= last + this.opts.ttlMs;
  }

  private desiredOwners(members: string[]): Map<string, string> {
    const sig = members.join(',');
    const d = this.desired;
    if (d !== null && d.members === sig && d.universe === this.universe.size) return d.map;
    const map = assign(this.universe, members);
    this.desired = { members: sig, universe: this.universe.size, map };
    return map;
  }

  private async acquire(key: string, lease: Lease | undefined): Promise<void> {
    const { store, log } = this.opts;
    const me = this.opts.id;
    this.busy.add(key);
    try {
      const value = JSON.stringify({ owner: me });
      const token = lease === undefined || lease.deleted ? await store.create(LEASE + key, value) : await store.update(LEASE + key, value, lease.revision);
      if (token === null) {
        // Someone else was quicker, or our view of the key is stale (a watch that missed entries).
        this.suspectView(key, lease?.revision ?? 0);
        return;
      }
      const previous = lease?.deleted ? null : lease?.owner;
      this.held.set(key, { key, token, since: this.now(), state: 'acquiring' });
      m.changes.inc({ worker: me, kind: 'acquired' });
      if (typeof previous === 'string' && previous !== me) m.takeovers.inc({ worker: me });
      const ok = await this.handler!.acquired(key, token);
      const h = this.held.get(key);
      if (h === undefined || h.token !== token) return; // lost while acquiring
      if (!ok) {
        this.lose(key, 'fenced');
        await this.failedStart(key, token);
        return;
      }
      h.state = 'active';
      this.backoff.delete(key);
      log.debug({ key, token, previous }, 'worker group: symbol acquired');
    } catch (err) {
      this.warn(`worker group: acquiring ${key} failed`, err);
      const h = this.held.get(key);
      if (h !== undefined) {
        this.lose(key, 'acquire failed');
        await this.failedStart(key, h.token);
      }
    } finally {
      this.busy.delete(key);
      ownedGauge.set({ worker: me }, this.held.size);
      this.queueReconcile();
    }
  }

  private async release(key: string): Promise<void> {
    const h = this.held.get(key);
    if (h === undefined || h.state !== 'active') return;
    h.state = 'releasing';
    this.busy.add(key);
    try {
      await this.handler!.release(key);
      // Nothing of it runs here any more: not shown as owned while the release is written (its
      // new owner may show it before our write is acknowledged).
      h.state = 'released';
      // Released only while still ours: a lease lost meanwhile belongs to someone else already.
      if (this.held.get(key) === h && this.selfValid()) {
        await this.freeLease(key, h.token!);
        m.changes.inc({ worker: this.opts.id, kind: 'released' });
      }
    } catch (err) {
      this.warn(`worker group: releasing ${key} failed (the lease expires with the TTL)`, err);
    } finally {
      if (this.held.get(key) === h) this.held.delete(key);
      this.busy.delete(key);
      ownedGauge.set({ worker: this.opts.id }, this.held.size);
      this.queueReconcile();
    }
  }

  /**
   * The symbol did not start under a lease we wrote: try again later (doubling up to the TTL: an
   * immediate retry of a start that fails at once would spin), and give the lease back meanwhile
   * so that it never names a worker that is not running the symbol.
   */
  private async failedStart(key: string, token: number | null): Promise<void> {
    this.backOff(key);
    if (token === null) return;
    try {
      await this.freeLease(key, token);
    } catch {
      // Still named ours: reconcile gives it back once another member is the desired owner.
    }
  }

  /** Gives back a lease that names us while we do not hold it (compare-and-set at the revision seen). */
  private async disown(key: string, revision: number): Promise<void> {
    this.busy.add(key);
    try {
      const done = await this.freeLease(key, revision);
      if (done === null) this.suspectView(key, revision);
      else {
        this.backoff.delete(key);
        this.opts.log.info({ worker: this.opts.id, key }, 'worker group: lease not held here given back');
      }
    } catch (err) {
      this.warn(`worker group: giving back the lease of ${key} failed`, err);
      this.backOff(key);
    } finally {
      this.busy.delete(key);
      this.queueReconcile();
    }
  }

  /** Writes the lease free (no owner) by compare-and-set at `revision`; null if it changed meanwhile. */
  private freeLease(key: string, revision: number): Promise<number | null> {
    return this.opts.store.update(LEASE + key, FREE, revision);
  }

  /** The next failure's wait: 250 ms doubling up to the TTL, without jitter (one worker's own retries). */
  private backOff(key: string): void {
    const attempt = (this.backoff.get(key)?.attempt ?? -1) + 1;
    const delayMs = backoffCap(attempt, { initialMs: 250, maxMs: this.opts.ttlMs, multiplier: 2 });
    this.backoff.set(key, { at: this.monotonic() + delayMs, attempt });
  }

  private lose(key: string, why: string): void {
    const h = this.held.get(key);
    if (h === undefined) return;
    this.held.delete(key);
    m.changes.inc({ worker: this.opts.id, kind: 'lost' });
    this.opts.log.warn({ key, token: h.token, why }, 'worker group: symbol lost');
    this.handler?.lost(key);
    ownedGauge.set({ worker: this.opts.id }, this.held.size);
  }

  private async limited(keys: string[], f: (k: string) => Promise<void>): Promise<void> {
    let i = 0;
    const run = async (): Promise<void> => {
      while (i < keys.length) await f(keys[i++]!);
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, keys.length) }, run));
  }

  /** One warning per 5 s: a NATS outage must not flood the log. */
  private warn(msg: string, err: unknown): void {
    const t = this.monotonic();
    if (t - this.lastWarnAt < 5_000) return;
    this.lastWarnAt = t;
    this.opts.log.warn({ worker: this.opts.id, err: (err as Error)?.message }, msg);
  }
}

/** A KV key may hold letters, digits, - _ = / and dots between tokens. */
function validKey(key: string): boolean {
  return /^[-_=/a-zA-Z0-9]+(\.[-_=/a-zA-Z0-9]+)*$/.test(key);
}

/** The owner named by a lease value; undefined when it is not ours to read (a forged value). */
function parseOwner(value: string): string | null | undefined {
  try {
    const v = JSON.parse(value) as { owner?: unknown };
    if (v === null || typeof v !== 'object') return undefined;
    if (v.owner === null) return null;
    return typeof v.owner === 'string' ? v.owner : undefined;
  } catch {
    return undefined;
  }
}
