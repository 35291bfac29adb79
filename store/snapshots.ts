import type { Namespace } from '../runtime/namespace.js';
import type { Redis } from '../runtime/redis.js';
import { stateKey, symbolsKey, type LiveState } from '../schemas/state.js';

/**
 * Redis adapter for symbol actors: the recovery snapshot (window state + last applied stream
 * sequence, one key so they move together) and the live state the API reads (`state:` key),
 * written in one MULTI; plus the shard's resume checkpoint and the symbol → worker registry.
 */
export interface SymbolSnapshot<W = unknown> {
  v: 1;
  /** Last MD_TRADES sequence applied to `windows`. */
  seq: number;
  windows: W;
  /** Trade-id guard state (see actors/symbol/trade-guard.ts). */
  guard: unknown;
  /** Per timeframe, the latest openTime closed (tells corrections from first closes). */
  closedUpTo?: Record<string, number>;
  savedAt: number;
}

export class SnapshotStore {
  constructor(
    private readonly redis: Redis,
    private readonly ns: Namespace,
  ) {}

  private snapKey(venue: string, symbol: string): string {
    return this.ns.key(`snap:${venue}:${symbol}`);
  }

  async load<W>(venue: string, symbol: string): Promise<SymbolSnapshot<W> | null> {
    const raw = await this.redis.get(this.snapKey(venue, symbol));
    return raw ? (JSON.parse(raw) as SymbolSnapshot<W>) : null;
  }

  /** Snapshot and live state atomically (MULTI/EXEC). */
  async save(venue: string, symbol: string, snap: SymbolSnapshot, state: LiveState): Promise<void> {
    const res = await this.redis
      .multi()
      .set(this.snapKey(venue, symbol), JSON.stringify(snap))
      .set(this.ns.key(stateKey(venue, symbol)), JSON.stringify(state))
      .exec();
    const failed = res?.find(([err]) => err);
    if (!res || failed) throw failed?.[0] ?? new Error('redis MULTI aborted');
  }

  /** Live state only (frequent, cheap); not a recovery point. */
  async saveState(venue: string, symbol: string, state: LiveState): Promise<void> {
    await this.redis.set(this.ns.key(stateKey(venue, symbol)), JSON.stringify(state));
  }

  async registerSymbols(entries: { venue: string; symbol: string; worker: string }[]): Promise<void> {
    if (entries.length === 0) return;
    const now = Date.now();
    const args: string[] = [];
    for (const e of entries) args.push(`${e.venue}:${e.symbol}`, JSON.stringify({ worker: e.worker, updatedAt: now }));
    await this.redis.hset(this.ns.key(symbolsKey), ...args);
  }

  /** The stream sequence a shard may resume after (everything at or below it is in snapshots). */
  async loadCheckpoint(shard: string): Promise<number | null> {
    const raw = await this.redis.get(this.ns.key(`checkpoint:${shard}`));
    return raw === null ? null : Number(raw);
  }

  async saveCheckpoint(shard: string, seq: number): Promise<void> {
    await this.redis.set(this.ns.key(`checkpoint:${shard}`), String(seq));
  }
}
