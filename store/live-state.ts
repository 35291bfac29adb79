import type { Namespace } from '../runtime/namespace.js';
import type { Redis } from '../runtime/redis.js';
import type { SymbolEntry } from '../schemas/api.js';
import { feedHealthKey, stateKey, symbolsKey, type FeedHealth, type LiveState } from '../schemas/state.js';

/** Seconds a feed's health entry outlives its last write: a feed gone for a minute disappears. */
const HEALTH_TTL_S = 60;

/**
 * Redis adapter for what the query service reads live: the symbol actors' `state:` keys, the
 * `symbols` registry, and the feeds' health (`feed:<venue>`, written here by the feed process).
 * Symbol actors write their state through SnapshotStore, atomically with their snapshots.
 */
export class LiveStateStore {
  constructor(
    private readonly redis: Redis,
    private readonly ns: Namespace,
  ) {}

  /** One GET: the symbol actor writes the whole LiveState as one JSON string. */
  async state(venue: string, symbol: string): Promise<LiveState | null> {
    const raw = await this.redis.get(this.ns.key(stateKey(venue, symbol)));
    return raw === null ? null : (JSON.parse(raw) as LiveState);
  }

  /** The live state of each pair and the health of each venue's feed, in one MGET. */
  async overview(pairs: readonly { venue: string; symbol: string }[], venues: readonly string[]): Promise<{ states: (LiveState | null)[]; feeds: FeedHealth[] }> {
    const keys = [...pairs.map((s) => this.ns.key(stateKey(s.venue, s.symbol))), ...venues.map((v) => this.ns.key(feedHealthKey(v)))];
    const values = keys.length ? await this.redis.mget(...keys) : [];
    return {
      states: values.slice(0, pairs.length).map((raw) => (raw ? (JSON.parse(raw) as LiveState) : null)),
      feeds: values
        .slice(pairs.length)
        .filter((v): v is string => v !== null)
        .map((v) => JSON.parse(v) as FeedHealth),
    };
  }

  async isKnown(venue: string, symbol: string): Promise<boolean> {
    return (await this.redis.hexists(this.ns.key(symbolsKey), `${venue}:${symbol}`)) === 1;
  }

  /** Every venue/symbol a worker registered, with its worker, sorted. */
  async symbols(): Promise<SymbolEntry[]> {
    const all = await this.redis.hgetall(this.ns.key(symbolsKey));
    const out: SymbolEntry[] = [];
    for (const [field, value] of Object.entries(all)) {
      const at = field.indexOf(':');
      if (at <= 0) continue;
      const meta = safeJson(value) as { worker?: unknown; updatedAt?: unknown } | null;
      out.push({
        venue: field.slice(0, at),
        symbol: field.slice(at + 1),
        worker: typeof meta?.worker === 'string' ? meta.worker : null,
        updatedAt: typeof meta?.updatedAt === 'number' ? meta.updatedAt : null,
      });
    }
    return out.sort((a, b) => a.venue.localeCompare(b.venue) || a.symbol.localeCompare(b.symbol));
  }

  /** Writes every venue's feed health in one pipeline. */
  async writeFeedHealth(entries: readonly FeedHealth[]): Promise<void> {
    if (entries.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const h of entries) pipe.set(this.ns.key(feedHealthKey(h.venue)), JSON.stringify(h), 'EX', HEALTH_TTL_S);
    await pipe.exec();
  }
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}
