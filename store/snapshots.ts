import { TickworkError } from '../runtime/errors.js';
import type { Namespace } from '../runtime/namespace.js';
import type { Redis } from '../runtime/redis.js';
import { stateKey, symbolsKey } from '../schemas/state.js';

/**
 * Redis adapter for symbol actors: the recovery snapshot (window state + trade guard + last
 * applied stream sequence, one key so they move together), the live state the API reads
 * (`state:` key, one JSON string per symbol), the fence of each symbol and the symbol → worker
 * registry.
 *
 * Fencing: every snapshot and live-state write carries the writer's lease token (the NATS KV
 * revision at which it acquired the symbol) and runs as a script that refuses it when
 * `fence:<venue>:<SYMBOL>` holds a higher one; a new owner raises the fence before it loads the
 * snapshot, so a paused former owner cannot write anything it would then read. A null token
 * writes unfenced (static shards: one process per shard by deployment).
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

/** One symbol's live state for a pipelined write. */
export interface LiveStateWrite {
  venue: string;
  symbol: string;
  /** Lease token; null = unfenced. */
  token: number | null;
  /** The LiveState as JSON. */
  json: string;
}

// KEYS[1] the fence, KEYS[2..] keys to set to ARGV[2..]; ARGV[1] the token ('' = unfenced).
// Returns 1 when written, 0 when the fence holds a higher token.
const FENCED_SET = `
if ARGV[1] ~= '' then
  local f = tonumber(redis.call('GET', KEYS[1]) or '0')
  if f > tonumber(ARGV[1]) then return 0 end
end
for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[i]) end
return 1`;

// KEYS[1] the fence, ARGV[1] the token: raises the fence to it; 0 when it is already higher.
const RAISE_FENCE = `
local f = tonumber(redis.call('GET', KEYS[1]) or '0')
if f > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1`;

interface FencedCommands {
  twFencedSet(numKeys: number, ...args: string[]): Promise<number>;
  twRaiseFence(fence: string, token: string): Promise<number>;
}
type Pipe = ReturnType<Redis['pipeline']> & { twFencedSet(numKeys: number, ...args: string[]): unknown };

export class SnapshotStore {
  private readonly cmd: FencedCommands;

  constructor(
    private readonly redis: Redis,
    private readonly ns: Namespace,
  ) {
    // EVALSHA with a fallback to EVAL (ioredis): one script load per connection.
    redis.defineCommand('twFencedSet', { lua: FENCED_SET });
    redis.defineCommand('twRaiseFence', { lua: RAISE_FENCE, numberOfKeys: 1 });
    this.cmd = redis as unknown as FencedCommands;
  }

  private snapKey(venue: string, symbol: string): string {
    return this.ns.key(`snap:${venue}:${symbol}`);
  }

  private fenceKey(venue: string, symbol: string): string {
    return this.ns.key(`fence:${venue}:${symbol}`);
  }

  /** The snapshot, or null; TickworkError SNAPSHOT_INVALID when the stored bytes are not one. */
  async load<W>(venue: string, symbol: string): Promise<SymbolSnapshot<W> | null> {
    const raw = await this.redis.get(this.snapKey(venue, symbol));
    if (raw === null) return null;
    let snap: SymbolSnapshot<W>;
    try {
      snap = JSON.parse(raw) as SymbolSnapshot<W>;
    } catch (err) {
      throw new TickworkError('SNAPSHOT_INVALID', `snapshot of ${venue}:${symbol} is not JSON: ${(err as Error).message}`);
    }
    if (typeof snap !== 'object' || snap === null || snap.v !== 1 || !Number.isSafeInteger(snap.seq) || snap.seq < 0 || typeof snap.windows !== 'object') {
      throw new TickworkError('SNAPSHOT_INVALID', `snapshot of ${venue}:${symbol} has no version 1, seq and windows`);
    }
    return snap;
  }

  /** Writes the snapshot (JSON) unless fenced; false when a newer owner's fence refused it. */
  async save(venue: string, symbol: string, token: number | null, json: string): Promise<boolean> {
    const r = await this.cmd.twFencedSet(2, this.fenceKey(venue, symbol), this.snapKey(venue, symbol), tokenArg(token), json);
    return r === 1;
  }

  /** Live states in one pipeline (one round trip); per entry, false when fenced. */
  async writeStates(entries: readonly LiveStateWrite[]): Promise<boolean[]> {
    if (entries.length === 0) return [];
    const pipe = this.redis.pipeline() as Pipe;
    for (const e of entries) pipe.twFencedSet(2, this.fenceKey(e.venue, e.symbol), this.ns.key(stateKey(e.venue, e.symbol)), tokenArg(e.token), e.json);
    const res = await pipe.exec();
    if (!res) throw new TickworkError('SERVICE_UNAVAILABLE', 'redis pipeline aborted');
    return res.map(([err, r]) => {
      if (err) throw err;
      return r === 1;
    });
  }

  /** Raises the symbol's fence to `token`; false when it already holds a higher one (a newer owner). */
  async raiseFence(venue: string, symbol: string, token: number): Promise<boolean> {
    return (await this.cmd.twRaiseFence(this.fenceKey(venue, symbol), String(token))) === 1;
  }

  /** Names this connection (CLIENT LIST, MONITOR) after the worker, also on reconnects. */
  async nameConnection(name: string): Promise<void> {
    this.redis.options.connectionName = name;
    await this.redis.client('SETNAME', name);
  }

  async registerSymbols(entries: { venue: string; symbol: string; worker: string }[]): Promise<void> {
    if (entries.length === 0) return;
    const now = Date.now();
    const args: string[] = [];
    for (const e of entries) args.push(`${e.venue}:${e.symbol}`, JSON.stringify({ worker: e.worker, updatedAt: now }));
    await this.redis.hset(this.ns.key(symbolsKey), ...args);
  }
}

const tokenArg = (token: number | null): string => (token === null ? '' : String(token));
