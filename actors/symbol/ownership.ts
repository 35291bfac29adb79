import { gauge } from '../../runtime/metrics.js';
import { shardOf } from './config.js';

/**
 * Which venue+symbols this worker runs, and since when. Keys are trade-subject tails,
 * `<venue>.<SYMBOL>`. Two implementations: static shards (`--shard i/N`, FNV hash) and the worker
 * group (leases on NATS KV, worker-group.ts).
 */
export interface Ownership {
  readonly kind: 'static' | 'group';
  /** Starts deciding; `handler` is told about every symbol gained and lost. */
  start(handler: OwnershipHandler): Promise<void>;
  /** Symbols that exist (the stream's subjects, trades seen): the universe to share out. */
  observe(keys: Iterable<string>): void;
  /** The in-process check before a write: `key` is still ours with `token`. */
  holds(key: string, token: number | null): boolean;
  /** A write for `key` was refused by a fence: someone newer owns it. */
  fenced(key: string): void;
  /** What this worker owns now, for `GET /v1/ownership`. */
  view(): OwnershipView;
  /** Hands every symbol back (each drained first) and leaves. */
  stop(): Promise<void>;
}

export interface OwnershipHandler {
  /**
   * `key` is ours with fencing `token` (null: unfenced static shard): raise the fences, start the
   * symbol. Resolves false when a fence shows a newer owner (the lease is then given up).
   */
  acquired(key: string, token: number | null): Promise<boolean>;
  /** Hand `key` over: stop taking its trades and drain its actor (final snapshot); the lease is released after. */
  release(key: string): Promise<void>;
  /** `key` is lost (lease expired or taken): stop at once and write nothing more for it. */
  lost(key: string): void;
}

export interface OwnedSymbol {
  key: string;
  /** Fencing token (KV revision at acquisition); null for static shards. */
  token: number | null;
  /** Epoch ms (this process's clock) when it was acquired. */
  since: number;
}

export interface OwnershipView {
  worker: string;
  kind: 'static' | 'group';
  /** Live members as this worker sees them (itself for a static shard). */
  members: string[];
  owned: OwnedSymbol[];
}

export const ownedGauge = gauge({ name: 'tickwork_worker_owned_symbols', help: 'Venue+symbols this worker owns', labelNames: ['worker'] as const });

/**
 * Static shard i of N: owns every symbol whose FNV-1a hash of `venue:SYMBOL` is i modulo N, from
 * the moment it is seen, unfenced (the deployment guarantees one process per shard).
 */
export class StaticOwnership implements Ownership {
  readonly kind = 'static';
  private handler: OwnershipHandler | null = null;
  private readonly owned = new Map<string, OwnedSymbol>();
  private readonly starting = new Set<string>();

  constructor(
    private readonly worker: string,
    private readonly shard: { index: number; count: number },
    private readonly now: () => number = Date.now,
  ) {}

  async start(handler: OwnershipHandler): Promise<void> {
    this.handler = handler;
  }

  observe(keys: Iterable<string>): void {
    const handler = this.handler;
    if (handler === null) return;
    for (const key of keys) {
      if (this.owned.has(key) || this.starting.has(key)) continue;
      const dot = key.indexOf('.');
      if (dot <= 0 || shardOf(key.slice(0, dot), key.slice(dot + 1), this.shard.count) !== this.shard.index) continue;
      this.starting.add(key);
      this.owned.set(key, { key, token: null, since: this.now() });
      void handler.acquired(key, null).finally(() => this.starting.delete(key));
    }
    ownedGauge.set({ worker: this.worker }, this.owned.size);
  }

  holds(key: string): boolean {
    return this.owned.has(key);
  }

  fenced(): void {
    // unfenced: nothing refuses a static shard's writes
  }

  view(): OwnershipView {
    return { worker: this.worker, kind: this.kind, members: [this.worker], owned: [...this.owned.values()] };
  }

  async stop(): Promise<void> {
    const handler = this.handler;
    if (handler === null) return;
    await Promise.all([...this.owned.keys()].map((key) => handler.release(key)));
    this.owned.clear();
  }
}

/**
 * Rendezvous (highest random weight) assignment with bounded loads: each key goes to the member
 * ranking highest for it among those below `ceil(loadFactor × keys / members)`. Keys are placed in
 * the order of their own hash, so every worker computes the same answer from the same inputs; a
 * member joining or leaving moves about 1/N of the keys (plus the few the load bound displaces).
 * The bound (5 % over an even share) also bounds the smallest share: every worker is delivered
 * close to 1/N of the trades, not what the hash happens to give it (±12 % at 50 keys a worker).
 */
export function assign(keys: Iterable<string>, members: readonly string[], loadFactor = 1.05): Map<string, string> {
  const out = new Map<string, string>();
  if (members.length === 0) return out;
  const ordered = [...keys].map((k) => ({ k, h: mix(fnv(k)) })).sort((a, b) => a.h - b.h || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  const cap = Math.max(1, Math.ceil((loadFactor * ordered.length) / members.length));
  const seeds = members.map((id) => fnv(id));
  const load = new Array<number>(members.length).fill(0);
  const scores = new Array<number>(members.length);
  for (const { k, h } of ordered) {
    for (let i = 0; i < members.length; i++) scores[i] = mix(seeds[i]! ^ h);
    let best = -1;
    for (let i = 0; i < members.length; i++) {
      if (load[i]! >= cap) continue;
      if (best < 0 || scores[i]! > scores[best]! || (scores[i] === scores[best] && members[i]! < members[best]!)) best = i;
    }
    load[best]!++;
    out.set(k, members[best]!);
  }
  return out;
}

function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3's finalizer: FNV alone mixes its last characters poorly for rendezvous scores. */
function mix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}
