import { backoffDelay, sleep } from '../../runtime/backoff.js';
import type { Logger } from '../../runtime/logger.js';
import { counter, gauge } from '../../runtime/metrics.js';
import type { Namespace } from '../../runtime/namespace.js';
import { ATTR, traceParentOf, tracing, type TraceSpan, type Tracer } from '../../runtime/tracing.js';
import { PipelinedPublisher, StreamSource, type Batch, type DeadLetterInfo, type Delivered, type NatsHandles } from '../../runtime/nats/index.js';
import { CANDLE_REVISION_HEADER, CandleCheck, parseCandleRevision, type Candle } from '../../schemas/candle.js';
import { candleSubjectTokens, checkCandle } from '../../schemas/candle-check.js';
import { dlqSubjectOf, STREAMS, STREAM_SUBJECTS } from '../../schemas/subjects.js';
import type { CandleStore, RevisedCandle } from '../../store/candles.js';

const m = {
  written: counter({ name: 'tickwork_sink_candles_total', help: 'Candles written to PostgreSQL by the sink', labelNames: [] as const }),
  retries: counter({ name: 'tickwork_sink_retries_total', help: 'Batch writes retried (PostgreSQL unavailable)', labelNames: [] as const }),
  rejected: counter({
    name: 'tickwork_sink_rejected_total',
    help: 'MD_CANDLES messages refused by the sink and dead-lettered (json, schema, CANDLE_* consistency, revision, store)',
    labelNames: ['reason'] as const,
  }),
  pending: gauge({
    name: 'tickwork_sink_consumer_pending',
    help: 'MD_CANDLES messages not yet written: undelivered plus delivered and unacknowledged (the sink consumer)',
    labelNames: [] as const,
  }),
};

export interface CandleSinkDeps {
  nats: NatsHandles;
  ns: Namespace;
  store: CandleStore;
  log: Logger;
  /** True for a venue/symbol that trades in sessions (TICKWORK_SESSIONS): its bars have session lengths. */
  session?: (venue: string, symbol: string) => boolean;
  batchSize?: number;
  /** How long a batch waits for more candles after its first, ms. */
  batchWaitMs?: number;
  /** How often the backlog gauge asks the consumer, ms (default 5000). */
  pendingEveryMs?: number;
}

/** A PostgreSQL error about the values of a statement (SQLSTATE class 22 data exception, 23 integrity): retrying cannot help. */
/** How long a batch waits for MD_TRADES' info to reach a candle's revision before the candle is refused as forged. */
const REVISION_AHEAD_PATIENCE_MS = 3_000;

const isDataError = (err: unknown): boolean => /^2[23]/.test(String((err as { code?: unknown }).code ?? ''));

/**
 * MD_CANDLES → PostgreSQL. A durable consumer with explicit acks: a batch is acknowledged only
 * after its upsert committed, and retried with back-off while PostgreSQL is down (the messages
 * stay unacknowledged, so nothing is lost across crashes either). The upsert is idempotent.
 *
 * The bus is not trusted (publish permissions do not cover server-side publishes: app/nats-auth.ts),
 * so a candle is written only as a worker publishes it: the schema, the subject's tf/venue/symbol,
 * the candle's own consistency (schemas/candle-check.ts) and a revision (Tickwork-Revision) no
 * later than MD_TRADES' last sequence. Whatever fails goes to md.dlq.<venue> with its reason.
 */
export class CandleSink {
  private running = false;
  private loop: Promise<void> | null = null;
  private source: StreamSource<Candle> | null = null;
  private readonly dlq: PipelinedPublisher;
  private pendingTimer: NodeJS.Timeout | null = null;
  /** MD_TRADES' last sequence as last read: no worker can have emitted a revision beyond it. */
  private tradesLastSeq = 0;
  private readonly loggedAt = new Map<string, number>();

  constructor(private readonly deps: CandleSinkDeps) {
    this.dlq = new PipelinedPublisher(deps.nats, { maxInFlight: 64 });
  }

  async start(): Promise<void> {
    const { nats, ns, log } = this.deps;
    this.source = await StreamSource.open({
      nats,
      stream: ns.stream(STREAMS.candles),
      filter: ns.subject(STREAM_SUBJECTS.candles),
      start: { durable: this.durable, ackWaitMs: 120_000, maxAckPending: 20_000 },
      check: CandleCheck,
      deadLetter: { publisher: this.dlq, subjectFor: (subject) => ns.subject(dlqSubjectOf(ns.unsubject(subject))) },
      onInvalid: (why) => m.rejected.inc({ reason: why.reason }),
      maxBatch: this.deps.batchSize ?? 2000,
      lingerMs: this.deps.batchWaitMs ?? 200,
      log,
    });
    this.running = true;
    this.loop = this.run(this.source);
    const every = this.deps.pendingEveryMs ?? 5000;
    this.pendingTimer = setInterval(() => void this.measurePending(), every);
    this.pendingTimer.unref();
    void this.measurePending();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.pendingTimer) clearInterval(this.pendingTimer);
    await this.source?.close();
    await this.loop;
    await this.dlq.flush();
    this.dlq.close();
  }

  private get durable(): string {
    return this.deps.ns.name('pg_sink');
  }

  private async run(source: StreamSource<Candle>): Promise<void> {
    for await (const batch of source) {
      const accepted = await this.screen(batch);
      if (accepted) await this.write(batch, accepted);
      if (!this.running) break;
    }
  }

  /** The consumer's backlog: asked of the server, so it moves while the sink is stuck on PostgreSQL too. */
  private async measurePending(): Promise<void> {
    try {
      const info = await this.deps.nats.jsm.consumers.info(this.deps.ns.stream(STREAMS.candles), this.durable);
      m.pending.set(info.num_pending + info.num_ack_pending);
    } catch (err) {
      this.deps.log.debug({ err: (err as Error).message }, 'sink consumer info failed');
    }
  }

  /**
   * The candles of a batch a worker could have published; the rest are rejected (dead-lettered,
   * terminated). Null when the sink stopped before it could check revisions (the batch is redelivered).
   */
  private async screen(batch: Batch<Candle>): Promise<Delivered<Candle>[] | null> {
    const { ns, session } = this.deps;
    const ok: Delivered<Candle>[] = [];
    const revisions = new Map<Delivered<Candle>, number>();
    for (const item of batch.items) {
      const c = item.value;
      const tokens = candleSubjectTokens(ns.unsubject(item.subject));
      if (!tokens?.closed) {
        await this.reject(batch, item, 'CANDLE_SUBJECT_MISMATCH', `not a closed-candle subject: ${item.subject}`);
        continue;
      }
      const bad = checkCandle(c, { ...tokens, session: session?.(c.venue, c.symbol) ?? false });
      if (bad) {
        await this.reject(batch, item, bad.code, bad.message);
        continue;
      }
      const revision = parseCandleRevision(item.headers?.get(CANDLE_REVISION_HEADER));
      if (revision === null) {
        await this.reject(batch, item, 'CANDLE_REVISION_INVALID', `${CANDLE_REVISION_HEADER} ${JSON.stringify(item.headers?.get(CANDLE_REVISION_HEADER)).slice(0, 40)}`);
        continue;
      }
      revisions.set(item, revision);
      ok.push(item);
    }
    const highest = Math.max(0, ...revisions.values());
    if (highest > this.tradesLastSeq && !(await this.readTradesLastSeq(batch))) return null;
    // Still ahead: a stream info answered by a replica that lags (a leader change in a cluster
    // only guarantees the leader's view) says less than the worker saw. Read again for a while
    // before calling the candle forged: a real revision is stored in MD_TRADES by then.
    for (let waited = 0, delay = 100; highest > this.tradesLastSeq && waited < REVISION_AHEAD_PATIENCE_MS; waited += delay, delay *= 2) {
      batch.working();
      await sleep(delay);
      if (!(await this.readTradesLastSeq(batch))) return null;
    }
    const accepted: Delivered<Candle>[] = [];
    for (const item of ok) {
      const revision = revisions.get(item)!;
      if (revision > this.tradesLastSeq) {
        await this.reject(batch, item, 'CANDLE_REVISION_AHEAD', `revision ${revision} beyond MD_TRADES' last sequence ${this.tradesLastSeq}`);
        continue;
      }
      (item.value as RevisedCandle).revision = revision;
      accepted.push(item);
    }
    return accepted;
  }

  /** Refreshes MD_TRADES' last sequence, retrying while NATS does not answer; false if stopped meanwhile. */
  private async readTradesLastSeq(batch: Batch<Candle>): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        const info = await this.deps.nats.jsm.streams.info(this.deps.ns.stream(STREAMS.trades));
        this.tradesLastSeq = Math.max(this.tradesLastSeq, info.state.last_seq);
        return true;
      } catch (err) {
        if (!this.running) {
          batch.nak();
          return false;
        }
        const delay = backoffDelay(attempt, { initialMs: 200, maxMs: 5_000, multiplier: 2 });
        this.deps.log.warn({ err: (err as Error).message, attempt, delay }, 'MD_TRADES info failed; candle revisions unchecked, retrying');
        batch.working();
        await sleep(delay);
      }
    }
  }

  private reject(batch: Batch<Candle>, item: Delivered<Candle>, reason: string, detail: string): Promise<void> {
    const why: DeadLetterInfo = { reason, detail, source: `${item.subject}@${item.seq}` };
    // A flood of forged candles must not flood the log: one line per reason per 10 s, the metric counts all.
    const now = Date.now();
    if (now - (this.loggedAt.get(reason) ?? 0) >= 10_000) {
      this.loggedAt.set(reason, now);
      this.deps.log.warn({ subject: item.subject, seq: item.seq, reason, detail }, 'candle refused by the sink; dead-lettered');
    }
    return batch.reject(item, why);
  }

  /** Retries until written; holds the batch (messages stay unacked, ack deadline extended). */
  private async write(batch: Batch<Candle>, items: Delivered<Candle>[]): Promise<void> {
    const tracer = tracing.tracer;
    const spans = tracer === null ? null : this.upsertSpans(tracer, items);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.upsertOrIsolate(batch, items);
        batch.ack();
        m.written.inc(items.length);
        if (spans) for (const s of spans) s.end();
        return;
      } catch (err) {
        m.retries.inc();
        const delay = backoffDelay(attempt, { initialMs: 200, maxMs: 5_000, multiplier: 2 });
        this.deps.log.warn({ err: (err as Error).message, attempt, delay, batch: items.length }, 'candle upsert failed; retrying');
        batch.working();
        if (!this.running && attempt > 3) {
          // Shutting down: leave the batch unacknowledged; it is redelivered on the next start.
          batch.nak();
          if (spans) for (const s of spans) s.end(err);
          return;
        }
        await sleep(delay);
      }
    }
  }

  /** A span per sampled candle of the batch (one whose headers carry a trace), around the batch's upsert until it commits. */
  private upsertSpans(tracer: Tracer, items: readonly Delivered<Candle>[]): TraceSpan[] | null {
    let spans: TraceSpan[] | null = null;
    for (const item of items) {
      const parent = traceParentOf(item.headers);
      if (parent === null) continue;
      const span = tracer.child('sink upsert candles', parent, {
        role: 'client',
        attributes: {
          [ATTR.dbSystem]: 'postgresql',
          [ATTR.dbOperation]: 'upsert',
          [ATTR.dbCollection]: 'candles',
          'tickwork.batch_size': items.length,
          'tickwork.tf': item.value.tf,
          'tickwork.open_time': item.value.openTime,
        },
      });
      if (span !== null) (spans ??= []).push(span);
    }
    return spans;
  }

  /**
   * One upsert; when PostgreSQL refuses the values themselves (not its availability), halves the
   * batch until the candle it refuses is found and dead-letters that one, so one poisoned candle
   * cannot hold the sink (and every candle behind it) forever.
   */
  private async upsertOrIsolate(batch: Batch<Candle>, items: Delivered<Candle>[]): Promise<void> {
    if (items.length === 0) return;
    try {
      await this.deps.store.upsert(items.map((i) => i.value));
    } catch (err) {
      if (!isDataError(err)) throw err;
      if (items.length === 1) {
        await this.reject(batch, items[0]!, 'store', (err as Error).message);
        return;
      }
      const half = items.length >> 1;
      await this.upsertOrIsolate(batch, items.slice(0, half));
      await this.upsertOrIsolate(batch, items.slice(half));
    }
  }
}
