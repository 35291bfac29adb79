import { headers } from '@nats-io/transport-node';
import type { Namespace } from '../../runtime/namespace.js';
import type { PipelinedPublisher, PublishResult } from '../../runtime/publisher.js';
import { DLQ_HEADERS, dlqSubject, quoteSubject, tradeSubject } from '../../schemas/subjects.js';
import { tradeMsgId, type Trade } from '../../schemas/trade.js';
import type { Quote } from '../../schemas/quote.js';
import type { FrameReject } from './venues/types.js';
import type { FeedStats } from './feed-metrics.js';

/**
 * Nats-Msg-Id of a quote. A venue's update id alone is not unique per quote (an update may move
 * one side only, several pushes may carry one id, and venues without one fall back to the time),
 * so the id is the update id (or venue time) plus the four values: equal ids mean the same quote,
 * which two feed replicas then store once.
 */
export const quoteMsgId = (q: Quote): string =>
  `${q.venue}:${q.symbol}:q:${q.updateId ?? q.ts}:${q.bidPrice}:${q.bidQty}:${q.askPrice}:${q.askQty}`;

/**
 * Where a feed's normalized events go: MD_TRADES / MD_QUOTES / MD_DLQ with Nats-Msg-Id, through
 * the pipelined publisher. `stored` resolves when JetStream acknowledged the message.
 */
export class MarketPublisher {
  private readonly onTrade = (r: PublishResult): void => this.stats.tradeStored(r.duplicate);
  private readonly onQuote = (r: PublishResult): void => this.stats.quoteStored(r.duplicate);
  /** Namespaced subjects per symbol, built once (the venue's symbol set is small and fixed). */
  private readonly tradeSubjects = new Map<string, string>();
  private readonly quoteSubjects = new Map<string, string>();

  constructor(
    private readonly publisher: PipelinedPublisher,
    private readonly ns: Namespace,
    private readonly stats: FeedStats,
  ) {}

  async trade(t: Trade): Promise<{ stored: Promise<PublishResult> }> {
    let subject = this.tradeSubjects.get(t.symbol);
    if (subject === undefined || t.venue !== this.stats.venue) {
      subject = this.ns.subject(tradeSubject(t.venue, t.symbol));
      if (t.venue === this.stats.venue) remember(this.tradeSubjects, t.symbol, subject);
    }
    const { stored } = await this.publisher.publish(subject, JSON.stringify(t), tradeMsgId(t));
    stored.then(this.onTrade, noop);
    return { stored };
  }

  /** A lost quote is not worth a reconnect (the next one supersedes it); it is only not counted. */
  async quote(q: Quote): Promise<void> {
    let subject = this.quoteSubjects.get(q.symbol);
    if (subject === undefined || q.venue !== this.stats.venue) {
      subject = this.ns.subject(quoteSubject(q.venue, q.symbol));
      if (q.venue === this.stats.venue) remember(this.quoteSubjects, q.symbol, subject);
    }
    const { stored } = await this.publisher.publish(subject, JSON.stringify(q), quoteMsgId(q));
    stored.then(this.onQuote, noop);
  }

  /** The raw frame bytes go to md.dlq.<venue> with the reason in headers. */
  async reject(r: FrameReject, raw: Uint8Array | string, source: string): Promise<{ stored: Promise<PublishResult> }> {
    const h = headers();
    h.set(DLQ_HEADERS.reason, r.reason);
    h.set(DLQ_HEADERS.schemaPath, oneLine(r.schemaPath));
    h.set(DLQ_HEADERS.detail, oneLine(r.detail));
    h.set(DLQ_HEADERS.source, source);
    this.stats.rejected(r.reason);
    // Unique per rejected frame: two feed replicas may store the same bad frame twice; that is fine.
    const id = `dlq:${this.stats.venue}:${Date.now()}:${Math.random().toString(36).slice(2)}`;
    return this.publisher.publish(this.ns.subject(dlqSubject(this.stats.venue)), raw, id, h);
  }

  flush(): Promise<void> {
    return this.publisher.flush();
  }
}

function noop(): void {}

/** Bounded cache: symbols come from frames, so garbage must not grow it without limit. */
function remember(cache: Map<string, string>, key: string, value: string): void {
  if (cache.size >= 10_000) cache.clear();
  cache.set(key, value);
}

/** A header value is one line (nats.js throws on CR/LF); paths and details may quote frame text. */
const oneLine = (s: string): string => s.replace(/[\r\n]+/g, ' ');
