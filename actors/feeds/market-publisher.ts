import { headers } from '@nats-io/transport-node';
import type { Namespace } from '../../runtime/namespace.js';
import type { PipelinedPublisher, PublishResult } from '../../runtime/publisher.js';
import { DLQ_HEADERS, dlqSubject, quoteSubject, tradeSubject } from '../../schemas/subjects.js';
import { tradeMsgId, type Trade } from '../../schemas/trade.js';
import type { Quote } from '../../schemas/quote.js';
import type { FrameReject } from './venues/types.js';
import { feedMetrics } from './feed-metrics.js';

/**
 * Where a feed's normalized events go: MD_TRADES / MD_QUOTES / MD_DLQ with Nats-Msg-Id, through
 * the pipelined publisher. `stored` resolves when JetStream acknowledged the message.
 */
export class MarketPublisher {
  constructor(
    private readonly publisher: PipelinedPublisher,
    private readonly ns: Namespace,
    private readonly venue: string,
  ) {}

  async trade(t: Trade): Promise<{ stored: Promise<PublishResult> }> {
    const { stored } = await this.publisher.publish(this.ns.subject(tradeSubject(t.venue, t.symbol)), JSON.stringify(t), tradeMsgId(t));
    stored.then(
      (r) => (r.duplicate ? feedMetrics.duplicates.inc({ venue: this.venue, kind: 'trade' }) : feedMetrics.trades.inc({ venue: this.venue })),
      () => undefined,
    );
    return { stored };
  }

  async quote(q: Quote): Promise<void> {
    const id = `${q.venue}:${q.symbol}:q:${q.updateId ?? `${q.ts}:${q.bidPrice}:${q.bidQty}:${q.askPrice}:${q.askQty}`}`;
    const { stored } = await this.publisher.publish(this.ns.subject(quoteSubject(q.venue, q.symbol)), JSON.stringify(q), id);
    stored.then(
      (r) => (r.duplicate ? feedMetrics.duplicates.inc({ venue: this.venue, kind: 'quote' }) : feedMetrics.quotes.inc({ venue: this.venue })),
      () => undefined,
    );
  }

  /** The raw frame bytes go to md.dlq.<venue> with the reason in headers. */
  async reject(r: FrameReject, raw: Uint8Array | string, source: string): Promise<{ stored: Promise<PublishResult> }> {
    const h = headers();
    h.set(DLQ_HEADERS.reason, r.reason);
    h.set(DLQ_HEADERS.schemaPath, r.schemaPath);
    h.set(DLQ_HEADERS.detail, r.detail.replace(/[\r\n]+/g, ' '));
    h.set(DLQ_HEADERS.source, source);
    feedMetrics.dlq.inc({ venue: this.venue, reason: r.reason });
    // Unique per rejected frame: two feed replicas may store the same bad frame twice; that is fine.
    const id = `dlq:${this.venue}:${Date.now()}:${Math.random().toString(36).slice(2)}`;
    return this.publisher.publish(this.ns.subject(dlqSubject(this.venue)), raw, id, h);
  }

  flush(): Promise<void> {
    return this.publisher.flush();
  }
}
