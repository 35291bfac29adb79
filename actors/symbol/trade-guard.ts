/**
 * Recognizes a trade id already applied, for duplicates that reach the stream after its
 * Nats-Msg-Id window. Venues with numeric, per-symbol increasing ids (Binance, OKX, Coinbase,
 * Kraken v2, Bybit v5) need only the highest id; other ids (UUIDs, synthetic ids) are kept in a
 * bounded recent set.
 */
export interface TradeGuardSnapshot {
  max: string | null;
  recent: string[];
}

const NUMERIC = /^[0-9]{1,30}$/;

export class TradeGuard {
  private max: string | null = null;
  private readonly recent = new Set<string>();

  constructor(private readonly recentLimit = 4096) {}

  /** True if `id` was seen already; otherwise records it. */
  seen(id: string): boolean {
    if (NUMERIC.test(id)) {
      if (this.max !== null && compareNumeric(id, this.max) <= 0) return true;
      this.max = id;
      return false;
    }
    if (this.recent.has(id)) return true;
    this.recent.add(id);
    if (this.recent.size > this.recentLimit) this.recent.delete(this.recent.values().next().value!);
    return false;
  }

  toSnapshot(): TradeGuardSnapshot {
    return { max: this.max, recent: [...this.recent] };
  }

  static fromSnapshot(s: TradeGuardSnapshot | null | undefined, recentLimit?: number): TradeGuard {
    const g = new TradeGuard(recentLimit);
    if (s) {
      g.max = s.max;
      for (const id of s.recent) g.recent.add(id);
    }
    return g;
  }
}

/** Compares non-negative integer strings without parsing (ids exceed 2^53). */
function compareNumeric(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}
