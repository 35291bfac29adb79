import { counter, gauge } from '../../runtime/metrics.js';

/** Per-venue feed metrics (issue 3): labels stay low-cardinality (venue, reason, kind). */
export const feedMetrics = {
  frames: counter({ name: 'tickwork_feed_frames_total', help: 'WebSocket frames received', labelNames: ['venue', 'class'] as const }),
  trades: counter({ name: 'tickwork_feed_trades_published_total', help: 'Trades stored in MD_TRADES (first copy)', labelNames: ['venue'] as const }),
  quotes: counter({ name: 'tickwork_feed_quotes_published_total', help: 'Quotes stored in MD_QUOTES', labelNames: ['venue'] as const }),
  duplicates: counter({ name: 'tickwork_feed_duplicates_suppressed_total', help: 'Publishes JetStream rejected as duplicates (Nats-Msg-Id)', labelNames: ['venue', 'kind'] as const }),
  reconnects: counter({ name: 'tickwork_feed_reconnects_total', help: 'Connection restarts', labelNames: ['venue', 'cause'] as const }),
  gapsDetected: counter({ name: 'tickwork_feed_gaps_detected_total', help: 'Trade id gaps detected', labelNames: ['venue'] as const }),
  gapsFilled: counter({ name: 'tickwork_feed_gaps_filled_total', help: 'Trade id gaps filled by backfill', labelNames: ['venue'] as const }),
  gapTradesMissing: counter({ name: 'tickwork_feed_gap_trades_unfilled_total', help: 'Trade ids that could not be backfilled', labelNames: ['venue'] as const }),
  backfilled: counter({ name: 'tickwork_feed_backfilled_trades_total', help: 'Trades published from REST backfill', labelNames: ['venue'] as const }),
  dlq: counter({ name: 'tickwork_feed_dlq_total', help: 'Frames sent to the DLQ', labelNames: ['venue', 'reason'] as const }),
  lastMessageAge: gauge({ name: 'tickwork_feed_last_message_age_seconds', help: 'Seconds since the last frame from the venue', labelNames: ['venue'] as const }),
  connected: gauge({ name: 'tickwork_feed_connections_open', help: 'Open venue connections', labelNames: ['venue'] as const }),
  rateLimited: counter({ name: 'tickwork_feed_rate_limit_waits_total', help: 'Times a connect or subscribe waited for the venue rate limit', labelNames: ['venue', 'what'] as const }),
};
