/** A Prometheus histogram read from a /metrics text: cumulative buckets, sum and count (label sets added up). */
export interface Histogram {
  /** [upper bound in seconds, cumulative count], ascending. */
  buckets: [number, number][];
  sum: number;
  count: number;
}

/** `name`'s series whose labels contain `labels` (e.g. `kind="symbol"`), summed over the rest. */
export function parseHistogram(text: string, name: string, labels = ''): Histogram {
  const byLe = new Map<number, number>();
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(\w+?)(_bucket|_sum|_count)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name || (labels && !(m[3] ?? '').includes(labels))) continue;
    const v = Number(m[4]);
    if (m[2] === '_sum') sum += v;
    else if (m[2] === '_count') count += v;
    else {
      const le = /le="([^"]+)"/.exec(m[3] ?? '')?.[1];
      const bound = le === '+Inf' ? Infinity : Number(le);
      byLe.set(bound, (byLe.get(bound) ?? 0) + v);
    }
  }
  return { buckets: [...byLe].sort((a, b) => a[0] - b[0]), sum, count };
}

/** What was observed between two readings of the same histogram. */
export function histogramDelta(after: Histogram, before: Histogram): Histogram {
  const prev = new Map(before.buckets);
  return { buckets: after.buckets.map(([le, c]) => [le, c - (prev.get(le) ?? 0)]), sum: after.sum - before.sum, count: after.count - before.count };
}

/** Upper bound (ms) of the bucket holding the p-quantile: the quantile is at most this. */
export function bucketQuantileMs(h: Histogram, p: number): number {
  const rank = p * h.count;
  for (const [le, c] of h.buckets) if (c >= rank) return le * 1000;
  return Number.NaN;
}

export const meanMs = (h: Histogram): number => (h.count > 0 ? (1000 * h.sum) / h.count : Number.NaN);
