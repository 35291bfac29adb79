import { counter, gauge, histogram } from '../../runtime/metrics.js';

/** The book feed's metrics; labels stay low-cardinality (venue, reason, type, state, result). */
export const bookMetrics = {
  resyncs: counter({
    name: 'tickwork_book_resyncs_total',
    help: 'Book resyncs requested, by reason (initial = first sync; gap, out-of-order, checksum, crossed, ... = a book that broke)',
    labelNames: ['venue', 'reason'] as const,
  }),
  events: counter({ name: 'tickwork_book_events_published_total', help: 'Book events published on md.book.*, by type', labelNames: ['venue', 'type'] as const }),
  split: counter({ name: 'tickwork_book_snapshots_split_total', help: 'Book snapshot events larger than the NATS max payload, sent in parts', labelNames: ['venue'] as const }),
  states: gauge({ name: 'tickwork_book_books', help: 'Books by state (syncing, live, stale)', labelNames: ['venue', 'state'] as const }),
  snapshots: counter({
    name: 'tickwork_book_rest_snapshots_total',
    help: 'REST depth snapshot requests, by result (ok, rate-limited, banned, error)',
    labelNames: ['venue', 'result'] as const,
  }),
  waits: counter({
    name: 'tickwork_book_rate_limit_waits_total',
    help: 'Times a resync waited for the venue budget (resyncs per minute, REST weight, Retry-After)',
    labelNames: ['venue', 'what'] as const,
  }),
  dlq: counter({ name: 'tickwork_book_dlq_total', help: 'Book frames sent to the DLQ for levels the engine refuses', labelNames: ['venue'] as const }),
  cacheErrors: counter({ name: 'tickwork_book_cache_errors_total', help: 'Failed Redis book writes', labelNames: ['venue'] as const }),
  cacheWrite: histogram({
    name: 'tickwork_book_cache_write_seconds',
    help: 'Redis write of the changed books (one pipeline), from send to acknowledgement',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
  }),
  frameToCache: histogram({
    name: 'tickwork_book_frame_to_cache_seconds',
    help: 'From a book frame off the socket to the Redis write holding its change, acknowledged',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1],
  }),
};
