/**
 * Last trade id seen per symbol, for venues whose ids are sequential: says whether the next
 * trade is new, a repeat (overlap after reconnect or rotation) or leaves a gap. The time of that
 * trade is kept beside it: venues whose history pages by time (Kraken) start a backfill there.
 */
export type SeqVerdict = { kind: 'first' } | { kind: 'next' } | { kind: 'repeat' } | { kind: 'gap'; from: number; to: number };

// Shared verdicts: the per-trade path allocates nothing unless there is a gap.
const FIRST: SeqVerdict = { kind: 'first' };
const NEXT: SeqVerdict = { kind: 'next' };
const REPEAT: SeqVerdict = { kind: 'repeat' };

/** Position of one symbol, updated in place (one object per symbol, not per trade). */
interface Position {
  id: number;
  /** Trade time of `id`, when known (NaN otherwise). */
  ts: number;
}

export class GapTracker {
  private readonly last = new Map<string, Position>();

  /** Seeds the last id (e.g. the last trade stored in MD_TRADES) unless one is known already. */
  seed(symbol: string, lastId: number, ts = Number.NaN): void {
    if (!this.last.has(symbol)) this.last.set(symbol, { id: lastId, ts });
  }

  lastId(symbol: string): number | undefined {
    return this.last.get(symbol)?.id;
  }

  /** Trade time of the last id, if known. */
  lastTs(symbol: string): number | undefined {
    const ts = this.last.get(symbol)?.ts;
    return ts === undefined || Number.isNaN(ts) ? undefined : ts;
  }

  /** Classifies a trade covering ids [first, last] (at time `ts`) and advances the tracker. */
  observe(symbol: string, first: number, last: number, ts = Number.NaN): SeqVerdict {
    const prev = this.last.get(symbol);
    if (prev === undefined) {
      this.last.set(symbol, { id: last, ts });
      return FIRST;
    }
    const prevId = prev.id;
    if (last <= prevId) return REPEAT;
    prev.id = last;
    prev.ts = ts;
    if (first <= prevId + 1) return NEXT;
    return { kind: 'gap', from: prevId + 1, to: first - 1 };
  }

  /** Drops what we know of a symbol (a publish was lost): the next connection re-seeds it. */
  forget(symbol: string): void {
    this.last.delete(symbol);
  }

  /** Marks ids up to `last` (traded at `ts`) as covered (after a backfill published them). */
  advance(symbol: string, last: number, ts = Number.NaN): void {
    const prev = this.last.get(symbol);
    if (prev === undefined) this.last.set(symbol, { id: last, ts });
    else if (last > prev.id) {
      prev.id = last;
      prev.ts = ts;
    }
  }

  /**
   * Moves the position back to `lastGood` (a publish of `lastGood + 1` was lost): the next trade
   * then shows a gap from there and is backfilled, even if later ids were stored meanwhile. The
   * time is unknown from then on (a time-paged backfill starts from an earlier time, `sinceTs`).
   */
  rewind(symbol: string, lastGood: number, sinceTs = Number.NaN): void {
    const prev = this.last.get(symbol);
    if (prev !== undefined && lastGood < prev.id) {
      prev.id = lastGood;
      prev.ts = sinceTs;
    }
  }

  /** Symbols with a known position. */
  get size(): number {
    return this.last.size;
  }
}
