import type { Namespace } from '../../runtime/namespace.js';
import { messageHeaders, type PipelinedPublisher, type PublishCallback } from '../../runtime/nats/index.js';
import { ATTR, traceHeaders, tracing, type Tracer } from '../../runtime/tracing.js';
import { dlqSubject, quoteSubject, tradeSubject } from '../../schemas/subjects.js';
import { tradeMsgId, type Trade } from '../../schemas/trade.js';
import type { Quote } from '../../schemas/quote.js';
import type { FrameReject } from '../../venues/kit/types.js';
import type { FeedStats } from './metrics.js';

export type { PublishCallback, PublishResult } from '../../runtime/nats/index.js';

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
 * the pipelined publisher. Every send is synchronous, so a frame's events go out as one batch
 * (one socket write) with no await per event; callers bound the PubAcks in flight once per frame
 * with `hasRoom`/`room()`. A trade's outcome (stored, duplicate, or the error that lost it) reaches
 * the callback given with it.
 */
export class MarketPublisher {
  /** Namespaced subjects per symbol, built once (the venue's symbol set is small and fixed). */
  private readonly tradeSubjects = new Map<string, string>();
  private readonly quoteSubjects = new Map<string, string>();
  private readonly onTrade: PublishCallback = (_err, r) => {
    if (r) this.stats.tradeStored(r.duplicate);
  };
  /** A lost quote is not worth a reconnect (the next one supersedes it); it is only not counted. */
  private readonly onQuote: PublishCallback = (_err, r) => {
    if (r) this.stats.quoteStored(r.duplicate);
  };

  constructor(
    private readonly publisher: PipelinedPublisher,
    private readonly ns: Namespace,
    private readonly stats: FeedStats,
  ) {}

  /** True while another frame's events may go out without waiting. */
  get hasRoom(): boolean {
    return this.publisher.hasRoom;
  }

  /** Resolves once the PubAcks in flight are below the bound. */
  room(): Promise<void> {
    return this.publisher.room();
  }

  /** Publishes one trade; `done` hears whether JetStream stored it (after the stats counted it). */
  trade(t: Trade, done?: PublishCallback): void {
    let subject = this.tradeSubjects.get(t.symbol);
    if (subject === undefined || t.venue !== this.stats.venue) {
      subject = this.ns.subject(tradeSubject(t.venue, t.symbol));
      if (t.venue === this.stats.venue) remember(this.tradeSubjects, t.symbol, subject);
    }
    const cb: PublishCallback = done === undefined ? this.onTrade : (err, r) => (this.onTrade(err, r), done(err, r));
    // Tracing off: this one check, nothing allocated; on, a coin toss before anything is built.
    const tracer = tracing.tracer;
    if (tracer !== null && tracer.sample() && this.traced(tracer, t, subject, cb)) return;
    this.publisher.send(subject, JSON.stringify(t), tradeMsgId(t), undefined, cb);
  }

  /**
   * A trade the sampler picks starts a trace: a span from the frame's arrival to the PubAck, its
   * context in the message's `traceparent` header for the worker. False when not sampled.
   */
  private traced(tracer: Tracer, t: Trade, subject: string, cb: PublishCallback): boolean {
    const span = tracer.root('feed publish trade', {
      role: 'producer',
      startMs: t.recvTs,
      attributes: { [ATTR.messagingSystem]: 'nats', [ATTR.messagingDestination]: subject, 'tickwork.venue': t.venue, 'tickwork.symbol': t.symbol, 'tickwork.trade_id': t.id },
    });
    if (span === null) return false;
    this.publisher.send(subject, JSON.stringify(t), tradeMsgId(t), messageHeaders(traceHeaders(span)), (err, r) => {
      span.end(r ? undefined : err);
      cb(err, r);
    });
    return true;
  }

  quote(q: Quote): void {
    let subject = this.quoteSubjects.get(q.symbol);
    if (subject === undefined || q.venue !== this.stats.venue) {
      subject = this.ns.subject(quoteSubject(q.venue, q.symbol));
      if (q.venue === this.stats.venue) remember(this.quoteSubjects, q.symbol, subject);
    }
    this.publisher.send(subject, JSON.stringify(q), quoteMsgId(q), undefined, this.onQuote);
  }

  /** The raw frame bytes go to md.dlq.<venue> with the reason in headers. */
  reject(r: FrameReject, raw: Uint8Array | string, source: string, done: PublishCallback): void {
    this.stats.rejected(r.reason);
    // Unique per rejected frame: two feed replicas may store the same bad frame twice; that is fine.
    const id = `dlq:${this.stats.venue}:${Date.now()}:${Math.random().toString(36).slice(2)}`;
    const info = { reason: r.reason, schemaPath: r.schemaPath, detail: r.detail, source };
    this.publisher.sendDeadLetter(this.ns.subject(dlqSubject(this.stats.venue)), raw, info, id, done);
  }

  /** Waits until everything published so far is acknowledged (or failed). */
  flush(): Promise<void> {
    return this.publisher.flush();
  }
}

/** Bounded cache: symbols come from frames, so garbage must not grow it without limit. */
function remember(cache: Map<string, string>, key: string, value: string): void {
  if (cache.size >= 10_000) cache.clear();
  cache.set(key, value);
}
