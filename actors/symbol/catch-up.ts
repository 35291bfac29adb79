import type { Logger } from '../../runtime/logger.js';
import { counter } from '../../runtime/metrics.js';

const m = {
  reads: counter({ name: 'tickwork_worker_catch_up_reads_total', help: 'Catch-up reads of MD_TRADES: shared (one read for several symbols) or single (one subject)', labelNames: ['kind'] as const }),
  symbols: counter({ name: 'tickwork_worker_catch_up_symbols_total', help: 'Symbol catch-ups served, by the kind of read that served them', labelNames: ['kind'] as const }),
};

/** One stored message of a read: its stream sequence, subject and decoded value. */
export interface CatchUpItem<T> {
  seq: number;
  subject: string;
  value: T;
}

/** A read of the stream from a sequence on, in stream order, batch by batch; `lastSeq` counts passed-over messages too. */
export type CatchUpRead<T> = AsyncIterable<{ items: readonly CatchUpItem<T>[]; lastSeq: number }> & { close(): Promise<void> };

export interface CatchUpReaderOptions<T> {
  /**
   * Opens a read after `afterSeq`: of `subject` alone, or (null) of the whole stream passing
   * over, undecoded, the subjects `wanted` refuses.
   */
  open(subject: string | null, afterSeq: number, wanted: (subject: string) => boolean): Promise<CatchUpRead<T>>;
  log: Logger;
  /** Requests made within this long are read together (ms; default 20). */
  gatherMs?: number;
  /** A request further than this many messages from the furthest end asked for reads alone (default 100,000). */
  span?: number;
  /** Batches queued per request before the shared read waits for it (default 4). */
  queued?: number;
}

interface Request<T> {
  subject: string;
  afterSeq: number;
  until: number;
  queue: { seq: number; value: T }[][];
  done: boolean;
  cancelled: boolean;
  error: Error | null;
  /** Wakes the request's reader (something queued, done or failed). */
  wake: (() => void) | null;
  /** Wakes the shared read waiting for this request to take what is queued. */
  drained: (() => void) | null;
}

/**
 * Catch-ups of many symbols at once (a worker's start, a takeover) read MD_TRADES once: requests
 * made within `gatherMs` whose starts lie within `span` messages of the end share one read of the whole
 * stream from the earliest start, each given its own subject's messages after its start up to its
 * `until` (the subject's last message when it asked), in stream order — what a read of the subject
 * alone would give. One filtered scan per symbol costs the server the stream distance each time,
 * one after another on nats-server 2.9 (about 67 ms per symbol 25,000 messages back): 100 symbols
 * took seconds where one shared read takes a fraction of one. A lone request reads its subject.
 */
export class CatchUpReader<T> {
  private pending: Request<T>[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** The shared read under way: requests made meanwhile wait for it and are read together after. */
  private shared: Promise<void> | null = null;
  private readonly gatherMs: number;
  private readonly span: number;
  private readonly queued: number;

  constructor(private readonly opts: CatchUpReaderOptions<T>) {
    this.gatherMs = opts.gatherMs ?? 20;
    this.span = opts.span ?? 100_000;
    this.queued = opts.queued ?? 4;
  }

  /** `subject`'s messages after `afterSeq` up to `until`, in batches; nothing when `until <= afterSeq`. */
  async *read(subject: string, afterSeq: number, until: number): AsyncGenerator<{ seq: number; value: T }[]> {
    if (until <= afterSeq) return;
    const req: Request<T> = { subject, afterSeq, until, queue: [], done: false, cancelled: false, error: null, wake: null, drained: null };
    this.pending.push(req);
    this.timer ??= setTimeout(() => this.gather(), this.gatherMs);
    try {
      for (;;) {
        const next = req.queue.shift();
        if (next !== undefined) {
          wakeUp(req, 'drained');
          yield next;
          continue;
        }
        if (req.error) throw req.error;
        if (req.done) return;
        await new Promise<void>((resolve) => (req.wake = resolve));
      }
    } finally {
      // Stopped early (the lease lost): the shared read no longer waits for it.
      req.cancelled = true;
      wakeUp(req, 'drained');
    }
  }

  /**
   * Requests within `span` messages of the furthest `until` share one read (when there are two or
   * more); the others read their own subject: a shared read carries every message of the stream
   * over the wire, a filtered one only the subject's, so a long way back alone is cheaper filtered.
   */
  private gather(): void {
    this.timer = null;
    if (this.shared !== null) return; // gathered again when it ends
    const reqs = this.pending.sort((a, b) => a.afterSeq - b.afterSeq);
    this.pending = [];
    const end = Math.max(...reqs.map((r) => r.until));
    const near = reqs.filter((r) => end - r.afterSeq <= this.span);
    const alone = near.length >= 2 ? reqs.filter((r) => end - r.afterSeq > this.span) : reqs;
    if (near.length >= 2) {
      // One shared read at a time: symbols starting one after another (each on its first trade)
      // would otherwise each start another read of the same stretch, each with its own buffers.
      this.shared = this.serve(near).finally(() => {
        this.shared = null;
        if (this.pending.length > 0) this.timer ??= setTimeout(() => this.gather(), this.gatherMs);
      });
    }
    for (const r of alone) void this.serve([r]);
  }

  private async serve(reqs: Request<T>[]): Promise<void> {
    const kind = reqs.length === 1 ? 'single' : 'shared';
    m.reads.inc({ kind });
    m.symbols.inc({ kind }, reqs.length);
    const bySubject = new Map<string, Request<T>[]>();
    for (const r of reqs) bySubject.set(r.subject, [...(bySubject.get(r.subject) ?? []), r]);
    const from = reqs[0]!.afterSeq;
    let read: CatchUpRead<T> | null = null;
    try {
      read = await this.opts.open(kind === 'single' ? reqs[0]!.subject : null, from, (s) => bySubject.has(s));
      for await (const batch of read) {
        const out = new Map<Request<T>, { seq: number; value: T }[]>();
        for (const item of batch.items) {
          for (const r of bySubject.get(item.subject) ?? []) {
            if (item.seq <= r.afterSeq || item.seq > r.until || r.cancelled) continue;
            let list = out.get(r);
            if (list === undefined) out.set(r, (list = []));
            list.push({ seq: item.seq, value: item.value });
          }
        }
        for (const [r, list] of out) r.queue.push(list);
        let open = 0;
        for (const r of reqs) {
          if (!r.done && !r.cancelled && batch.lastSeq >= r.until) r.done = true;
          if (!r.done && !r.cancelled) open++;
          wakeUp(r, 'wake');
        }
        if (open === 0) break;
        // Back-pressure: the read goes on once every request has taken all but a few batches.
        for (const r of reqs) {
          while (!r.cancelled && r.queue.length > this.queued) await new Promise<void>((resolve) => (r.drained = resolve));
        }
      }
      for (const r of reqs) {
        // The read ended before a request's last message (closed by the server, a stream purge).
        if (!r.done && !r.cancelled) r.error = new Error(`catch-up read of ${r.subject} ended before sequence ${r.until}`);
      }
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message, symbols: reqs.length }, 'catch-up read failed');
      for (const r of reqs) if (!r.done) r.error = err as Error;
    } finally {
      for (const r of reqs) wakeUp(r, 'wake');
      await read?.close().catch((err: unknown) => this.opts.log.debug({ err: (err as Error).message }, 'catch-up read not closed cleanly'));
    }
  }
}

function wakeUp<T>(r: Request<T>, which: 'wake' | 'drained'): void {
  const f = r[which];
  r[which] = null;
  f?.();
}
