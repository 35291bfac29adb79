import type { Logger } from '../../runtime/logger.js';
import type { ArbitrageRecord } from '../../schemas/arbitrage.js';
import { spreadMetrics as m } from './metrics.js';

/** What the writer needs of store/arbitrage.ts `ArbitrageStore`. */
export interface ArbitrageSink {
  /** Episode rows (id = episode id): inserted, or updated in place while open. */
  upsertEpisodes(rows: readonly ArbitrageRecord[]): Promise<number>;
}

export interface ArbitrageWriterOptions {
  flushMs: number;
  /** Rows per INSERT statement. */
  batchSize?: number;
  /** Held while PostgreSQL is down; beyond it the oldest are dropped (signals age fast). */
  maxBuffered?: number;
}

/**
 * Episode rows → PostgreSQL in small batches, one statement per flush interval instead of one
 * per event. Rows are coalesced by episode id (only the newest state of an episode is written),
 * a failed batch stays buffered and is retried on the next flush, and the upsert never lets an
 * older state replace a newer one, so a retry after an unknown outcome changes nothing.
 */
export class ArbitrageWriter {
  private buffer: ArbitrageRecord[] = [];
  /** Index of each buffered episode id in `buffer`. */
  private readonly at = new Map<string, number>();
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
    const i = this.at.get(rec.id);
    if (i !== undefined) this.buffer[i] = rec;
    else {
      this.at.set(rec.id, this.buffer.push(rec) - 1);
      this.trim();
    }
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
    if (this.buffer.length > 0) this.log.error({ lost: this.buffer.length }, 'arbitrage episodes not written to PostgreSQL at shutdown');
  }

  private async write(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, this.batchSize);
      this.reindex();
      try {
        await this.sink.upsertEpisodes(batch);
      } catch (err) {
        // rows of the same episodes added meanwhile are newer: they win over the failed ones
        const newer = new Set(this.buffer.map((r) => r.id));
        this.buffer = batch.filter((r) => !newer.has(r.id)).concat(this.buffer);
        this.reindex();
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
      this.reindex();
    }
  }

  private reindex(): void {
    this.at.clear();
    this.buffer.forEach((r, i) => this.at.set(r.id, i));
  }
}
