import type { Namespace } from '../runtime/namespace.js';
import type { Redis } from '../runtime/redis.js';
import { SnapshotStore } from './snapshots.js';

/** What one symbol actor has applied, as of its last snapshot. */
export interface AppliedState {
  /** Last MD_TRADES sequence in the snapshot. */
  seq: number;
  /** Latest trade applied, by (ts, id); null before any. */
  lastTrade: { id: string; ts: number } | null;
  /** The trade-id guard's snapshot (actors/symbol/trade-guard.ts restores it). */
  guard: unknown;
  savedAt: number;
}

/**
 * Read-only view of the symbol actors' Redis snapshots (the worker writes them), for processes
 * that must know what is already applied before they publish, e.g. `tickwork replay`.
 */
export class AppliedStateReader {
  private readonly snapshots: SnapshotStore;

  constructor(redis: Redis, ns: Namespace) {
    this.snapshots = new SnapshotStore(redis, ns);
  }

  /** The symbol's applied state, or null when no actor has snapshotted it. */
  async load(venue: string, symbol: string): Promise<AppliedState | null> {
    const snap = await this.snapshots.load<{ lastTrade?: { id?: unknown; ts?: unknown } | null }>(venue, symbol);
    if (!snap) return null;
    const last = snap.windows?.lastTrade;
    return {
      seq: snap.seq,
      lastTrade: last && typeof last.ts === 'number' ? { id: String(last.id), ts: last.ts } : null,
      guard: snap.guard ?? null,
      savedAt: snap.savedAt,
    };
  }
}
