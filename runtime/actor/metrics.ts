import { counter, gauge, histogram, type Gauge } from '../metrics.js';

/**
 * Per-kind actor metrics. Labels are only `kind` (e.g. "symbol", "feed"), never a per-symbol
 * name, so cardinality stays at the number of kinds. Mailbox depth is a plain number bumped on
 * the hot path and summed per kind only when Prometheus scrapes.
 */
export interface KindMetrics {
  readonly kind: string;
  /** Messages queued across all live actors of this kind. */
  depth: number;
  readonly observeSeconds: (seconds: number) => void;
  readonly restarts: { inc(): void };
  readonly failures: { inc(): void };
}

const kinds = new Map<string, KindMetrics>();

// Passed as a variable (not a literal) so `collect` reaches prom-client through the shared helper.
const depthConfig = {
  name: 'tickwork_actor_mailbox_depth',
  help: 'Messages queued in actor mailboxes, summed per actor kind',
  labelNames: ['kind'] as const,
  collect(this: Gauge<'kind'>): void {
    for (const m of kinds.values()) this.set({ kind: m.kind }, m.depth);
  },
};
gauge(depthConfig);

const messageSeconds = histogram({
  name: 'tickwork_actor_message_seconds',
  help: 'Time an actor spent handling one message (receive until settled)',
  labelNames: ['kind'] as const,
  buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
});

const restartsTotal = counter({
  name: 'tickwork_actor_restarts_total',
  help: 'Actor restarts performed by supervisors',
  labelNames: ['kind'] as const,
});

const failuresTotal = counter({
  name: 'tickwork_actor_failures_total',
  help: 'Actor incarnations that failed (receive/preStart threw or ctx.fail was called)',
  labelNames: ['kind'] as const,
});

export function kindMetrics(kind: string): KindMetrics {
  let m = kinds.get(kind);
  if (m === undefined) {
    const seconds = messageSeconds.labels(kind);
    m = {
      kind,
      depth: 0,
      observeSeconds: (s) => seconds.observe(s),
      restarts: restartsTotal.labels(kind),
      failures: failuresTotal.labels(kind),
    };
    kinds.set(kind, m);
  }
  return m;
}
