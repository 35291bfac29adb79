/** The benches of the suite, in report order (a light module: the CLI validates `--only` without loading the bench). */
export const BENCHES = ['jetstream', 'e2e', 'latency', 'latency-high', 'floor', 'kernel', 'normalizer', 'book', 'backfill', 'memory', 'symbols', 'recovery', 'book-latency', 'scaleout'] as const;
export type BenchName = (typeof BENCHES)[number];
