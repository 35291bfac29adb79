import { counter, gauge } from '../../runtime/metrics.js';

/** The spread actors' metrics (one set per process, shared by every symbol: low cardinality). */
export const spreadMetrics = {
  opportunities: counter({ name: 'tickwork_arb_opportunities_total', help: 'Cross-venue opportunities emitted to md.arb', labelNames: [] as const }),
  quotes: counter({ name: 'tickwork_arb_quotes_total', help: 'Quotes considered by spread actors (stale ones included)', labelNames: [] as const }),
  stale: counter({
    name: 'tickwork_arb_stale_quotes_total',
    help: 'Quotes dropped as stale: on arrival, or expired from the book before a comparison',
    labelNames: ['stage'] as const,
  }),
  invalid: counter({ name: 'tickwork_arb_invalid_quotes_total', help: 'MD_QUOTES messages that are not quotes (dead-lettered)', labelNames: [] as const }),
  pgWritten: counter({ name: 'tickwork_arb_pg_written_total', help: 'Opportunities sent to PostgreSQL in committed batches', labelNames: [] as const }),
  pgFailures: counter({ name: 'tickwork_arb_pg_failures_total', help: 'Opportunity batch inserts that failed (retried next flush)', labelNames: [] as const }),
  pgDropped: counter({ name: 'tickwork_arb_pg_dropped_total', help: 'Opportunities dropped because the PostgreSQL buffer was full', labelNames: [] as const }),
  pgPending: gauge({ name: 'tickwork_arb_pg_pending', help: 'Opportunities waiting for the next PostgreSQL batch', labelNames: [] as const }),
};
