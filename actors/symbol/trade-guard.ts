import { TickworkError } from '../../runtime/errors.js';

/** `expired`: below the guard's floor, too old to tell, treated as seen. */
export type TradeIdVerdict = 'new' | 'duplicate' | 'expired';

export interface TradeGuardLimits {
  /** Most intervals of numeric ids kept (default 1024). */
  maxIntervals?: number;
  /** Holes lying entirely more than this many ids below an id being admitted are forgotten (default 10^8). */
  horizon?: bigint | number;
  /** Most non-numeric ids kept (default 4096). */
  maxTextIds?: number;
}

/** Snapshot, version 2. */
export interface TradeGuardSnapshot {
  v: 2;
  /** Numeric ids below this are treated as seen; null while nothing was forgotten. */
  floor: string | null;
  /** Seen numeric ids as ascending, disjoint, non-adjacent intervals: `"lo-hi"`, or `"id"` for one id. */
  ranges: string[];
  /** Seen non-numeric ids, oldest first. */
  recent: string[];
}

/** The format written before version 2 (highest numeric id only): restored as the interval [0, max]. */
export interface LegacyTradeGuardSnapshot {
  max: string | null;
  recent: string[];
}

export interface TradeGuardStats {
  /** Ids answered `expired` (below the floor: treated as seen). */
  expired: number;
  /** Intervals dropped by the bounds (with the holes below them). */
  dropped: number;
}

export const DEFAULT_MAX_INTERVALS = 1024;
export const DEFAULT_HORIZON = 100_000_000n;
export const DEFAULT_MAX_TEXT_IDS = 4096;

const CANONICAL = /^(0|[1-9][0-9]*)$/;
const RANGE = /^(0|[1-9][0-9]*)(?:-(0|[1-9][0-9]*))?$/;

/**
 * Recognizes a trade id already applied, exactly, in whatever order trades arrive: retried
 * publishes reorder the stream, and venues legitimately send ids 30–34 after 35.
 *
 * - Canonical decimal ids (`0` or no leading zero) form a set of closed intervals; contiguous ids
 *   merge, so a feed without holes costs one interval.
 * - Bounded: beyond `maxIntervals` intervals the oldest holes are forgotten, and so is every hole
 *   lying entirely more than `horizon` ids below an id being admitted; the floor rises to the
 *   first interval kept. An id below the floor is treated as seen (verdict `expired`, counted).
 *   The horizon counts from the id admitted, not the highest one: the hole under the top interval
 *   is never forgotten for distance, so one hostile huge id cannot expire the real ids below it.
 * - Any other id (UUIDs, synthetic ids, non-canonical numerals) is kept, exact as a string, in an
 *   insertion-ordered set of the last `maxTextIds`.
 */
export class TradeGuard {
  readonly stats: TradeGuardStats = { expired: 0, dropped: 0 };
  private readonly maxIntervals: number;
  private readonly horizon: bigint;
  private readonly maxTextIds: number;
  /** Intervals [lo[i], hi[i]] for head ≤ i < lo.length, ascending; entries before head are dead. */
  private lo: bigint[] = [];
  private hi: bigint[] = [];
  private head = 0;
  private floor: bigint | null = null;
  private readonly text = new Set<string>();

  constructor(limits: TradeGuardLimits = {}) {
    const { maxIntervals = DEFAULT_MAX_INTERVALS, horizon = DEFAULT_HORIZON, maxTextIds = DEFAULT_MAX_TEXT_IDS } = limits;
    if (!(Number.isInteger(maxIntervals) && maxIntervals >= 1)) badLimit('maxIntervals', maxIntervals);
    if (!(typeof horizon === 'bigint' ? horizon >= 0n : Number.isSafeInteger(horizon) && horizon >= 0)) badLimit('horizon', horizon);
    if (!(Number.isInteger(maxTextIds) && maxTextIds >= 1)) badLimit('maxTextIds', maxTextIds);
    this.maxIntervals = maxIntervals;
    this.horizon = BigInt(horizon);
    this.maxTextIds = maxTextIds;
  }

  /** Highest numeric id recorded, or null. */
  get highest(): bigint | null {
    const n = this.hi.length;
    return n > this.head ? this.hi[n - 1]! : null;
  }

  /** Whether `id` was applied already (or is too old to tell); records it when `new`. */
  admit(id: string): TradeIdVerdict {
    if (!CANONICAL.test(id)) return this.admitText(id);
    const x = BigInt(id);
    const n = this.hi.length;
    if (n > this.head) {
      const top = this.hi[n - 1]!;
      // the common case: the next id of a feed in order
      if (x === top + 1n) {
        this.hi[n - 1] = x;
        return 'new';
      }
      if (x > top) {
        this.lo.push(x);
        this.hi.push(x);
        this.bound(x);
        return 'new';
      }
    }
    if (this.floor !== null && x < this.floor) {
      this.stats.expired++;
      return 'expired';
    }
    return this.admitBelowTop(x);
  }

  toSnapshot(): TradeGuardSnapshot {
    const ranges: string[] = [];
    for (let i = this.head; i < this.lo.length; i++) {
      const lo = this.lo[i]!;
      const hi = this.hi[i]!;
      ranges.push(lo === hi ? lo.toString() : `${lo}-${hi}`);
    }
    return { v: 2, floor: this.floor === null ? null : this.floor.toString(), ranges, recent: [...this.text] };
  }

  /** Restores a snapshot of either version (a missing one gives an empty guard). */
  static fromSnapshot(s: TradeGuardSnapshot | LegacyTradeGuardSnapshot | null | undefined, limits?: TradeGuardLimits): TradeGuard {
    const g = new TradeGuard(limits);
    if (s === null || s === undefined) return g;
    if (!Array.isArray(s.recent) || !s.recent.every((id) => typeof id === 'string')) invalid('recent must be an array of strings');
    if ('v' in s) {
      if (s.v !== 2) invalid(`unknown version ${JSON.stringify(s.v)}`);
      if (s.floor !== null) {
        if (typeof s.floor !== 'string' || !CANONICAL.test(s.floor)) invalid(`bad floor ${JSON.stringify(s.floor)}`);
        g.floor = BigInt(s.floor);
      }
      if (!Array.isArray(s.ranges)) invalid('ranges must be an array');
      for (const r of s.ranges) {
        const m = typeof r === 'string' ? RANGE.exec(r) : null;
        if (m === null) invalid(`bad range ${JSON.stringify(r)}`);
        const lo = BigInt(m[1]!);
        const hi = m[2] === undefined ? lo : BigInt(m[2]);
        const n = g.hi.length;
        if (hi < lo || (n > 0 && lo <= g.hi[n - 1]! + 1n) || (g.floor !== null && lo < g.floor)) invalid(`ranges not ascending, disjoint and above the floor at ${JSON.stringify(r)}`);
        g.lo.push(lo);
        g.hi.push(hi);
      }
    } else if (s.max !== null) {
      // numerals of the old guard could carry leading zeros; BigInt reads them alike
      if (typeof s.max !== 'string' || !/^[0-9]{1,64}$/.test(s.max)) invalid(`bad legacy max ${JSON.stringify(s.max)}`);
      g.lo.push(0n);
      g.hi.push(BigInt(s.max));
    }
    for (const id of s.recent) g.admitText(id);
    const top = g.highest;
    if (top !== null) g.bound(top); // the limits may be smaller than the snapshot's
    return g;
  }

  private admitText(id: string): TradeIdVerdict {
    const text = this.text;
    if (text.has(id)) return 'duplicate';
    text.add(id);
    if (text.size > this.maxTextIds) text.delete(text.values().next().value!);
    return 'new';
  }

  /** Slow path: x is at most the highest id and at least the floor. */
  private admitBelowTop(x: bigint): TradeIdVerdict {
    const lo = this.lo;
    const hi = this.hi;
    // last interval starting at or below x (head − 1 if none)
    let a = this.head;
    let b = lo.length - 1;
    while (a <= b) {
      const mid = (a + b) >>> 1;
      if (lo[mid]! <= x) a = mid + 1;
      else b = mid - 1;
    }
    const i = b;
    if (i >= this.head && x <= hi[i]!) return 'duplicate';
    const joinsLeft = i >= this.head && hi[i]! + 1n === x;
    const joinsRight = i + 1 < lo.length && lo[i + 1]! - 1n === x;
    if (joinsLeft && joinsRight) {
      hi[i] = hi[i + 1]!;
      lo.splice(i + 1, 1);
      hi.splice(i + 1, 1);
    } else if (joinsLeft) hi[i] = x;
    else if (joinsRight) lo[i + 1] = x;
    else {
      lo.splice(i + 1, 0, x);
      hi.splice(i + 1, 0, x);
      this.bound(x);
    }
    return 'new';
  }

  /**
   * Forgets the oldest holes: beyond `maxIntervals`, and every hole lying entirely more than
   * `horizon` below `ref` (the id just admitted). The floor rises to the first interval kept.
   */
  private bound(ref: bigint): void {
    const lo = this.lo;
    const n = lo.length;
    const oldest = ref - this.horizon;
    let h = this.head;
    while (h < n - 1 && (n - h > this.maxIntervals || lo[h + 1]! <= oldest)) h++;
    if (h === this.head) return;
    this.stats.dropped += h - this.head;
    this.floor = lo[h]!;
    this.head = h;
    if (h > 64 && h * 2 > n) {
      this.lo = lo.slice(h);
      this.hi = this.hi.slice(h);
      this.head = 0;
    }
  }
}

function badLimit(name: string, value: unknown): never {
  throw new TickworkError('CONFIG_INVALID', `trade guard: ${name} must be a non-negative integer (1 or more for counts), got ${String(value)}`);
}

function invalid(why: string): never {
  throw new TickworkError('SNAPSHOT_INVALID', `trade guard snapshot: ${why}`);
}
