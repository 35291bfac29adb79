import type { Logger } from '../../runtime/logger.js';
import { counter, gauge } from '../../runtime/metrics.js';
import { StreamSource, type DeadLetterPolicy, type Delivered, type NatsHandles } from '../../runtime/nats/index.js';
import { TradeCheck, type Trade } from '../../schemas/trade.js';

const m = {
  delivered: counter({ name: 'tickwork_worker_delivered_total', help: 'MD_TRADES messages delivered to this worker by its main consumer (its own or, on NATS 2.9, skipped)', labelNames: ['worker'] as const }),
  lag: gauge({ name: 'tickwork_worker_consumer_lag', help: 'MD_TRADES messages not yet delivered to this worker', labelNames: ['shard'] as const }),
  recreated: counter({ name: 'tickwork_worker_consumer_recreated_total', help: 'Main consumers re-created for a new set of owned subjects or a change between filtered and catch-up reads (NATS >= 2.10)', labelNames: ['worker'] as const }),
  scanning: gauge({ name: 'tickwork_worker_delivery_catching_up', help: '1 while the main read is unfiltered to catch up a backlog (NATS >= 2.10), 0 while filtered to the owned subjects', labelNames: ['worker'] as const }),
};

/**
 * nats-server 2.10 serves a consumer with several filter subjects slowly from its store: the
 * further from the end of the stream, the slower each message (100,000 messages over 100
 * subjects, 2.10.27: 400–900 messages per second from the start with 2 or 100 filters, against
 * 200,000 per second unfiltered; at the tail, live, it keeps up). So a main read more than
 * CATCH_UP_ENTER messages behind the stream's end reads unfiltered, passing over other workers'
 * subjects without parsing them (as on 2.9), until fewer than CATCH_UP_EXIT remain; then it is
 * filtered again. Delivery per worker is total/N once caught up.
 */
const CATCH_UP_ENTER = 5_000;
const CATCH_UP_EXIT = 500;
/**
 * No filter: MD_TRADES holds only its namespace's `md.trade.>`. Not the wildcard itself, which
 * would make the source ask the server for the stream's subjects at every (re)creation, often
 * while a stream leader is being elected (see StreamSource.open).
 */
const WHOLE_STREAM: string[] = [];

export interface TradeDeliveryOptions {
  nats: NatsHandles;
  /** MD_TRADES (namespaced). */
  stream: string;
  /** `md.trade.` (namespaced): a subject minus it is the key `<venue>.<SYMBOL>`. */
  prefix: string;
  /** NATS >= 2.10: a consumer filtered to the owned subjects; otherwise one over md.trade.> skipping the rest. */
  multiFilter: boolean;
  deadLetter: DeadLetterPolicy;
  /** This worker (metric label) and its shard label. */
  worker: string;
  shard: string;
  log: Logger;
  /** The key is owned and its trades go to its actor. */
  routed(key: string): boolean;
  /** A key seen on the bus (the universe grows by the full read's subjects). */
  seen(key: string): void;
  /** The owned trades of one batch, in stream order; the promise is back-pressure. */
  deliver(items: readonly Delivered<Trade>[]): Promise<void> | void;
}

/**
 * The worker's main read of MD_TRADES, from the end of the stream at start (every actor reads its
 * own past when it starts). On NATS >= 2.10 an ordered consumer whose filter_subjects are exactly
 * the owned symbols' subjects, re-created when they change, so a worker is delivered its own
 * trades only; on 2.9 one consumer over `md.trade.>` that skips other subjects without parsing
 * them (correct, every worker reads everything). On 2.10, a backlog is read unfiltered (see
 * CATCH_UP_ENTER).
 *
 * A symbol added at stream sequence J (read before its actor starts) is read by its actor's
 * catch-up up to at least J; a re-created consumer starts no later than J + 1, so nothing of it
 * falls between the two.
 */
export class TradeDelivery {
  private source: StreamSource<Trade> | null = null;
  private loop: Promise<void> | null = null;
  /** Stream sequence the consumer has passed (its next start is after it). */
  private lastSeq = 0;
  private readonly filters = new Set<string>();
  /** The earliest join point of symbols added since the consumer was created. */
  private restartFrom: number | null = null;
  private recreateTimer: NodeJS.Timeout | null = null;
  private recreating: Promise<void> | null = null;
  private stopped = false;
  /** Re-creations that failed in a row (back-off). */
  private failures = 0;
  private readonly prefixLen: number;
  /** The open read is unfiltered to catch up (2.10). */
  private catchingUp = false;
  /**
   * The furthest the stream is known to reach: join points (read when symbols are acquired) and
   * what batches say remains. Chooses the kind of read without asking the server (which may not
   * answer while a stream leader is elected, when a read is most often re-created).
   */
  private knownEnd = 0;
  /** A change between filtered and catch-up reads was asked for by the consumer loop. */
  private switchAsked = false;

  constructor(private readonly opts: TradeDeliveryOptions) {
    this.prefixLen = opts.prefix.length;
  }

  get filtered(): boolean {
    return this.opts.multiFilter;
  }

  /** Starts reading after `afterSeq` (the stream's last sequence at start). */
  async start(afterSeq: number): Promise<void> {
    this.lastSeq = afterSeq;
    this.knownEnd = afterSeq;
    if (!this.opts.multiFilter) await this.open(WHOLE_STREAM, afterSeq);
  }

  /** `key` is owned from stream sequence `joinSeq` on (its actor reads up to at least there). */
  add(key: string, joinSeq: number): void {
    if (!this.opts.multiFilter) return;
    // Already read (owned again without a remove between): still read again from its new join
    // point, as its actor's catch-up ends there.
    this.filters.add(key);
    this.knownEnd = Math.max(this.knownEnd, joinSeq);
    this.restartFrom = Math.min(this.restartFrom ?? Infinity, joinSeq);
    this.scheduleRecreate();
  }

  remove(key: string): void {
    if (!this.opts.multiFilter || !this.filters.delete(key)) return;
    this.scheduleRecreate();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.recreateTimer) clearTimeout(this.recreateTimer);
    await this.recreating?.catch(() => undefined);
    await this.close();
  }

  private scheduleRecreate(delayMs = 50): void {
    if (this.recreateTimer !== null || this.stopped) return;
    // Acquisitions come in bursts (start, takeover): one consumer for the burst.
    this.recreateTimer = setTimeout(() => {
      this.recreateTimer = null;
      // One re-creation at a time, in order (after the previous one, whether it worked or not).
      const run = (this.recreating ?? Promise.resolve()).then(
        () => this.recreate(),
        () => this.recreate(),
      );
      this.recreating = run;
      run.then(
        () => {
          this.failures = 0;
        },
        (err: unknown) => {
          // A NATS node lost, a leader election: the consumer could not be created. Nothing is
          // delivered until it is, so try again (from the same point) rather than crash or stall.
          this.failures++;
          const delay = Math.min(5_000, 100 * 2 ** Math.min(this.failures, 6));
          this.opts.log.warn({ err: (err as Error)?.message, attempt: this.failures, delayMs: delay }, 'trade delivery: consumer not created; retrying');
          this.scheduleRecreate(delay);
        },
      ).finally(() => {
        if (this.recreating === run) this.recreating = null;
      });
    }, delayMs);
    this.recreateTimer.unref?.();
  }

  /** Closes the main consumer and opens it again from where it was (its owned subjects on 2.10, md.trade.> on 2.9). */
  private async recreate(): Promise<void> {
    if (this.stopped) return;
    await this.close();
    const from = Math.min(this.lastSeq, this.restartFrom ?? Infinity);
    this.opts.log.debug({ from, lastSeq: this.lastSeq, restartFrom: this.restartFrom, knownEnd: this.knownEnd, owned: this.filters.size }, 'trade delivery: re-creating the main read');
    this.restartFrom = null;
    this.switchAsked = false;
    if (this.opts.multiFilter && this.filters.size === 0) return;
    m.recreated.inc({ worker: this.opts.worker });
    try {
      const { opts } = this;
      const catchUp = opts.multiFilter && this.knownEnd - from > CATCH_UP_ENTER;
      if (catchUp !== this.catchingUp) opts.log.debug({ from, catchUp }, catchUp ? 'trade delivery: unfiltered read to catch up' : 'trade delivery: filtered again');
      this.catchingUp = catchUp;
      m.scanning.set({ worker: opts.worker }, catchUp ? 1 : 0);
      await this.open(opts.multiFilter && !catchUp ? [...this.filters].map((k) => opts.prefix + k) : WHOLE_STREAM, from);
    } catch (err) {
      // The next attempt starts no later than this one would have.
      this.restartFrom = Math.min(this.restartFrom ?? Infinity, from);
      throw err;
    }
  }

  private async open(filter: string | string[], afterSeq: number): Promise<void> {
    const { opts } = this;
    const source = await StreamSource.open<Trade>({
      nats: opts.nats,
      stream: opts.stream,
      filter,
      start: { afterSeq },
      check: TradeCheck,
      deadLetter: opts.deadLetter,
      skip: (subject) => {
        m.delivered.inc({ worker: opts.worker });
        const key = subject.slice(this.prefixLen);
        if (opts.routed(key)) return false;
        opts.seen(key);
        return true;
      },
      maxBatch: 512,
      prefetch: 20_000,
      name: 'worker',
      log: opts.log,
    });
    this.source = source;
    this.loop = this.consume(source);
  }

  private async close(): Promise<void> {
    const source = this.source;
    this.source = null;
    await source?.close();
    await this.loop;
    this.loop = null;
  }

  private async consume(source: StreamSource<Trade>): Promise<void> {
    try {
      for await (const batch of source) {
        const p = this.opts.deliver(batch.items);
        if (p) await p;
        // Skipped and dead-lettered messages are behind us too.
        this.lastSeq = Math.max(this.lastSeq, batch.lastSeq);
        const pending = batch.pending();
        m.lag.set({ shard: this.opts.shard }, pending);
        // A filtered read's pending counts its own subjects only: a lower bound of the end.
        this.knownEnd = Math.max(this.knownEnd, batch.lastSeq + pending);
        if (this.source !== source) return;
        // Caught up, or fallen behind a filtered read's reach: read the other way from here on.
        if (this.opts.multiFilter && !this.switchAsked && (this.catchingUp ? pending < CATCH_UP_EXIT : pending > CATCH_UP_ENTER)) {
          this.switchAsked = true;
          this.scheduleRecreate(0);
        }
      }
    } catch (err) {
      if (this.source !== source || this.stopped) return;
      // The read ended with an error (the consumer or its server gone): open it again from where it was.
      this.opts.log.error({ err }, 'trade delivery failed; re-creating the consumer');
      this.scheduleRecreate(500);
    }
  }
}
