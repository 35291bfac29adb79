import type { Logger } from '../../runtime/logger.js';
import type { ArbitrageRecord } from '../../schemas/arbitrage.js';
import { spreadMetrics as m } from './metrics.js';

/** What the writer needs of store/arbitrage.ts `ArbitrageStore`. */
export interface ArbitrageSink {
  insert(records: readonly ArbitrageRecord[]): Promise<number>;
}

export interface ArbitrageWriterOptions {
  flushMs: number;
  /** Rows per INSERT statement. */
  batchSize?: number;
  /** Held while PostgreSQL is down; beyond it the oldest are dropped (signals age fast). */
  maxBuffered?: number;
}

/**
 * Opportunities → PostgreSQL in small batches, one INSERT per flush interval instead of one
 * per signal. A failed batch stays buffered and is retried on the next flush; inserts are
 * insert-once by id, so a retry after an unknown outcome stores nothing twice.
 */
export class ArbitrageWriter {
  private buffer: ArbitrageRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | null = null;
  private failing = false;
  private readonly batchSize: number;
  private readonly maxBuffered: number;

  constructor(
    private readonly sink: ArbitrageSink,
    private readonly log: Logger,
    private readonly opts: ArbitrageWriterOptions,
  ) {
    this.batchSize = opts.batchSize ?? 500;
    this.maxBuffered = opts.maxBuffered ?? 10_000;
  }

  get pending(): number {
    return this.buffer.length;
  }

  add(rec: ArbitrageRecord): void {
    this.buffer.push(rec);
    this.trim();
    m.pgPending.set(this.buffer.length);
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.opts.flushMs);
  }

  /** Writes what is buffered (one flush at a time; a call during a flush joins it). */
  flush(): Promise<void> {
    return (this.flushing ??= this.write().finally(() => (this.flushing = null)));
  }

  /** Stops the timer and makes a last attempt at everything buffered. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flushing;
    await this.flush();
    if (this.buffer.length > 0) this.log.error({ lost: this.buffer.length }, 'arbitrage opportunities not written to PostgreSQL at shutdown');
  }

  private async write(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.batchSize);
      try {
        await this.sink.insert(batch);
      } catch (err) {
        this.buffer = batch.concat(this.buffer);
        this.trim();
        m.pgFailures.inc();
        if (!this.failing) this.log.warn({ err: (err as Error).message, pending: this.buffer.length }, 'arbitrage insert failed; retrying each flush');
        this.failing = true;
        break;
      }
      m.pgWritten.inc(batch.length);
      if (this.failing) this.log.info('arbitrage inserts recovered');
      this.failing = false;
    }
    m.pgPending.set(this.buffer.length);
  }

  private trim(): void {
    const over = this.buffer.length - this.maxBuffered;
    if (over > 0) {
      this.buffer.splice(0, over);
      m.pgDropped.inc(over);
    }
  }
}
