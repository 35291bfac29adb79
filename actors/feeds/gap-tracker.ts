/**
 * Last trade id seen per symbol, for venues whose ids are sequential: says whether the next
 * trade is new, a repeat (overlap after reconnect or rotation) or leaves a gap.
 */
export type SeqVerdict = { kind: 'first' } | { kind: 'next' } | { kind: 'repeat' } | { kind: 'gap'; from: number; to: number };

// Shared verdicts: the per-trade path allocates nothing unless there is a gap.
const FIRST: SeqVerdict = { kind: 'first' };
const NEXT: SeqVerdict = { kind: 'next' };
const REPEAT: SeqVerdict = { kind: 'repeat' };

export class GapTracker {
  private readonly last = new Map<string, number>();

  /** Seeds the last id (e.g. the last trade stored in MD_TRADES) unless one is known already. */
  seed(symbol: string, lastId: number): void {
    if (!this.last.has(symbol)) this.last.set(symbol, lastId);
  }

  lastId(symbol: string): number | undefined {
    return this.last.get(symbol);
  }

  /** Classifies a trade covering ids [first, last] and advances the tracker. */
  observe(symbol: string, first: number, last: number): SeqVerdict {
    const prev = this.last.get(symbol);
    if (prev === undefined) {
      this.last.set(symbol, last);
      return FIRST;
    }
    if (last <= prev) return REPEAT;
    this.last.set(symbol, last);
    if (first <= prev + 1) return NEXT;
    return { kind: 'gap', from: prev + 1, to: first - 1 };
  }

  /** Drops what we know of a symbol (a publish was lost): the next connection re-seeds it. */
  forget(symbol: string): void {
    this.last.delete(symbol);
  }

  /** Marks ids up to `last` as covered (after a backfill published them). */
  advance(symbol: string, last: number): void {
    const prev = this.last.get(symbol);
    if (prev === undefined || last > prev) this.last.set(symbol, last);
  }

  /**
   * Moves the position back to `lastGood` (a publish of `lastGood + 1` was lost): the next trade
   * then shows a gap from there and is backfilled, even if later ids were stored meanwhile.
   */
  rewind(symbol: string, lastGood: number): void {
    const prev = this.last.get(symbol);
    if (prev !== undefined && lastGood < prev) this.last.set(symbol, lastGood);
  }

  /** Symbols with a known position. */
  get size(): number {
    return this.last.size;
  }
}
