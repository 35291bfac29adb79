import type { Counter } from 'prom-client';
import { counter, gauge } from '../../runtime/metrics.js';

/** Per-venue feed metrics (issue 3): labels stay low-cardinality (venue, class, reason, kind, cause). */
export const feedMetrics = {
  frames: counter({ name: 'tickwork_feed_frames_total', help: 'WebSocket frames received, by classification', labelNames: ['venue', 'class'] as const }),
  trades: counter({ name: 'tickwork_feed_trades_published_total', help: 'Trades stored in MD_TRADES (first copy)', labelNames: ['venue'] as const }),
  quotes: counter({ name: 'tickwork_feed_quotes_published_total', help: 'Quotes stored in MD_QUOTES', labelNames: ['venue'] as const }),
  duplicates: counter({
    name: 'tickwork_feed_duplicates_suppressed_total',
    help: 'Duplicates not stored: JetStream Nats-Msg-Id hits (kind trade/quote) and repeated trade ids dropped before publishing (kind trade-seq)',
    labelNames: ['venue', 'kind'] as const,
  }),
  reconnects: counter({ name: 'tickwork_feed_reconnects_total', help: 'Connection restarts and rotations, by cause', labelNames: ['venue', 'cause'] as const }),
  gapsDetected: counter({ name: 'tickwork_feed_gaps_detected_total', help: 'Trade id gaps detected', labelNames: ['venue'] as const }),
  gapsFilled: counter({ name: 'tickwork_feed_gaps_filled_total', help: 'Trade id gaps filled by backfill', labelNames: ['venue'] as const }),
  gapTradesMissing: counter({ name: 'tickwork_feed_gap_trades_unfilled_total', help: 'Trade ids that could not be backfilled', labelNames: ['venue'] as const }),
  backfilled: counter({ name: 'tickwork_feed_backfilled_trades_total', help: 'Trades published from REST backfill', labelNames: ['venue'] as const }),
  dlq: counter({ name: 'tickwork_feed_dlq_total', help: 'Frames sent to the DLQ, by reason', labelNames: ['venue', 'reason'] as const }),
  lastMessageAge: gauge({ name: 'tickwork_feed_last_message_age_seconds', help: 'Seconds since the last frame from the venue', labelNames: ['venue'] as const }),
  connected: gauge({ name: 'tickwork_feed_connections_open', help: 'Open venue connections', labelNames: ['venue'] as const }),
  rateLimited: counter({ name: 'tickwork_feed_rate_limit_waits_total', help: 'Times a connect or subscribe waited for the venue rate limit', labelNames: ['venue', 'what'] as const }),
};

export type ReconnectCause = 'closed' | 'error' | 'connect-failed' | 'silence' | 'publish' | 'rotation';

/**
 * The counters of one venue feed (FeedSupervisor), kept as plain numbers for health and tests and
 * mirrored into the process metrics. Label children are cached, so the per-frame path does no
 * label hashing or allocation.
 */
export class FeedStats {
  /** Frames received by classification: 'data', 'reject', control kinds, 'stale' (socket no longer known). */
  readonly frames = new Map<string, number>();
  framesTotal = 0;
  trades = 0;
  quotes = 0;
  /** JetStream duplicate hits (Nats-Msg-Id), all kinds and by kind. */
  duplicates = 0;
  tradeDuplicates = 0;
  quoteDuplicates = 0;
  /** Repeated sequential trade ids dropped before publishing (overlap after reconnect/rotation). */
  repeats = 0;
  dlq = 0;
  readonly dlqByReason = new Map<string, number>();
  reconnects = 0;
  readonly reconnectsByCause = new Map<string, number>();
  gapsDetected = 0;
  gapsFilled = 0;
  backfilled = 0;
  unfilledIds = 0;

  private readonly frameChildren = new Map<string, Counter.Internal>();
  private readonly tradesChild: Counter.Internal;
  private readonly quotesChild: Counter.Internal;
  private readonly dupTrade: Counter.Internal;
  private readonly dupQuote: Counter.Internal;
  private readonly dupSeq: Counter.Internal;

  constructor(readonly venue: string) {
    this.tradesChild = feedMetrics.trades.labels(venue);
    this.quotesChild = feedMetrics.quotes.labels(venue);
    this.dupTrade = feedMetrics.duplicates.labels(venue, 'trade');
    this.dupQuote = feedMetrics.duplicates.labels(venue, 'quote');
    this.dupSeq = feedMetrics.duplicates.labels(venue, 'trade-seq');
    // Present from the start (value 0), so dashboards and scrapes see every series of the venue.
    for (const cause of ['closed', 'error', 'connect-failed', 'silence', 'publish', 'rotation']) feedMetrics.reconnects.labels(venue, cause);
    feedMetrics.gapsDetected.labels(venue);
    feedMetrics.gapsFilled.labels(venue);
    feedMetrics.gapTradesMissing.labels(venue);
    feedMetrics.backfilled.labels(venue);
    feedMetrics.connected.labels(venue);
  }

  frame(cls: string): void {
    this.framesTotal++;
    this.frames.set(cls, (this.frames.get(cls) ?? 0) + 1);
    let child = this.frameChildren.get(cls);
    if (child === undefined) {
      // `ignored:<what>` folds into one series: the label set stays small whatever venues send.
      child = feedMetrics.frames.labels(this.venue, cls.startsWith('ignored:') ? 'ignored' : cls);
      this.frameChildren.set(cls, child);
    }
    child.inc();
  }

  tradeStored(duplicate: boolean): void {
    if (duplicate) {
      this.duplicates++;
      this.tradeDuplicates++;
      this.dupTrade.inc();
    } else {
      this.trades++;
      this.tradesChild.inc();
    }
  }

  quoteStored(duplicate: boolean): void {
    if (duplicate) {
      this.duplicates++;
      this.quoteDuplicates++;
      this.dupQuote.inc();
    } else {
      this.quotes++;
      this.quotesChild.inc();
    }
  }

  repeat(): void {
    this.repeats++;
    this.dupSeq.inc();
  }

  rejected(reason: string): void {
    this.dlq++;
    this.dlqByReason.set(reason, (this.dlqByReason.get(reason) ?? 0) + 1);
    feedMetrics.dlq.inc({ venue: this.venue, reason });
  }

  reconnect(cause: ReconnectCause): void {
    this.reconnects++;
    this.reconnectsByCause.set(cause, (this.reconnectsByCause.get(cause) ?? 0) + 1);
    feedMetrics.reconnects.inc({ venue: this.venue, cause });
  }

  gap(): void {
    this.gapsDetected++;
    feedMetrics.gapsDetected.inc({ venue: this.venue });
  }

  gapFilled(): void {
    this.gapsFilled++;
    feedMetrics.gapsFilled.inc({ venue: this.venue });
  }

  backfill(n: number): void {
    this.backfilled += n;
    feedMetrics.backfilled.inc({ venue: this.venue }, n);
  }

  unfilled(ids: number): void {
    this.unfilledIds += ids;
    feedMetrics.gapTradesMissing.inc({ venue: this.venue }, ids);
  }
}
