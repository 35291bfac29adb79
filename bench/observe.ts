import type { Namespace } from '../runtime/namespace.js';
import type { Redis } from '../runtime/redis.js';
import { stateKey } from '../schemas/state.js';
import { preciseNow } from './stats.js';

/** Sums over the live states server-side, so a poll costs one round trip and no JSON in the bench. */
const TOTALS_LUA = `
local applied, newest, found, minSeq = 0, 0, 0, -1
for _, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v then
    local o = cjson.decode(v)
    applied = applied + o.tradesApplied
    if o.updatedAt > newest then newest = o.updatedAt end
    if minSeq < 0 or o.lastSeq < minSeq then minSeq = o.lastSeq end
    found = found + 1
  end
end
return {applied, newest, found, minSeq}`;

export interface AppliedTotals {
  /** Σ tradesApplied over the symbols' live states. */
  applied: number;
  /** Latest `updatedAt` (worker clock, ms): when the last of those states was built. */
  newest: number;
  /** Symbols that have a live state. */
  found: number;
}

export async function appliedTotals(redis: Redis, ns: Namespace, venue: string, symbols: string[]): Promise<AppliedTotals> {
  const keys = symbols.map((s) => ns.key(stateKey(venue, s)));
  const [applied, newest, found] = (await redis.eval(TOTALS_LUA, keys.length, ...keys)) as number[];
  return { applied: applied!, newest: newest!, found: found! };
}

export interface StateSeen {
  /** Index of the symbol in the watched list. */
  s: number;
  lastSeq: number;
  tradesApplied: number;
  /** When the reader had the value (sub-ms clock, see preciseNow). */
  at: number;
  /** The JSON as read. */
  raw: string;
}

/**
 * An independent reader of live state: Redis CLIENT TRACKING in broadcast mode on the state keys'
 * prefix pushes each key's name on every write (to a separate subscriber connection); the reader
 * then GETs the key on its own connection. A write is therefore seen one invalidation push plus
 * one GET round trip after it happened, with no polling interval.
 */
export class StateWatcher {
  private readonly keys: string[];
  private readonly index = new Map<string, number>();
  private readonly busy: boolean[];
  private readonly dirty: boolean[];
  private readonly seqRe = /"lastSeq":(\d+)/;
  private readonly appliedRe = /"tradesApplied":(\d+)/;
  reads = 0;
  private closed = false;
  private handler: ((ch: Buffer, msg: Buffer | Buffer[] | null) => void) | null = null;

  private constructor(
    private readonly sub: Redis,
    private readonly tracker: Redis,
    private readonly reader: Redis,
    symbols: string[],
    ns: Namespace,
    venue: string,
    private readonly onSeen: (seen: StateSeen) => void,
  ) {
    this.keys = symbols.map((s) => ns.key(stateKey(venue, s)));
    this.keys.forEach((k, i) => this.index.set(k, i));
    this.busy = this.keys.map(() => false);
    this.dirty = this.keys.map(() => false);
  }

  static async start(
    conns: { sub: Redis; tracker: Redis; reader: Redis },
    ns: Namespace,
    venue: string,
    symbols: string[],
    onSeen: (seen: StateSeen) => void,
  ): Promise<StateWatcher> {
    const w = new StateWatcher(conns.sub, conns.tracker, conns.reader, symbols, ns, venue, onSeen);
    const id = (await conns.sub.client('ID')) as number;
    w.handler = (_ch: Buffer, msg: Buffer | Buffer[] | null) => {
      if (msg === null) return; // flush of the whole tracking table: nothing to read
      for (const k of Array.isArray(msg) ? msg : [msg]) w.touched(k.toString());
    };
    conns.sub.on('messageBuffer', w.handler);
    await conns.sub.subscribe('__redis__:invalidate');
    await conns.tracker.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(id), 'BCAST', 'PREFIX', ns.key('state:'));
    return w;
  }

  /** Reads every watched key once now (a starting point before any write arrives). */
  async readAll(): Promise<void> {
    await Promise.all(this.keys.map((_, i) => this.read(i)));
  }

  private touched(key: string): void {
    const i = this.index.get(key);
    if (i === undefined || this.closed) return;
    if (this.busy[i]) this.dirty[i] = true;
    else void this.read(i);
  }

  private async read(i: number): Promise<void> {
    this.busy[i] = true;
    try {
      const raw = await this.reader.get(this.keys[i]!);
      const at = preciseNow();
      this.reads++;
      if (raw !== null) {
        const seq = this.seqRe.exec(raw);
        const applied = this.appliedRe.exec(raw);
        if (seq && applied) this.onSeen({ s: i, lastSeq: Number(seq[1]), tradesApplied: Number(applied[1]), at, raw });
      }
    } finally {
      this.busy[i] = false;
    }
    // A write landed while the GET was in flight: read again so it is not missed.
    if (this.dirty[i] && !this.closed) {
      this.dirty[i] = false;
      await this.read(i);
    }
  }

  async stop(): Promise<void> {
    this.closed = true;
    await this.tracker.call('CLIENT', 'TRACKING', 'OFF').catch(() => undefined);
    await this.sub.unsubscribe().catch(() => undefined);
    if (this.handler) this.sub.off('messageBuffer', this.handler);
  }
}

/** Median round trip of a GET on `redis`, ms: the reader's own share of a measured latency. */
export async function getRoundTripMs(redis: Redis, key: string, n = 200): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = preciseNow();
    await redis.get(key);
    xs.push(preciseNow() - t);
  }
  xs.sort((a, b) => a - b);
  return xs[xs.length >> 1]!;
}
