import { clearBookOutput, newBookOutput, type BookOutput, type BookRequest } from '../book/index.js';
import type { Logger } from '../../runtime/logger.js';
import type { BookFrame, BookRouter, VenueAdapter } from '../../venues/kit/types.js';
import { bookMetrics } from './book-metrics.js';
import type { BookPublisher } from './book-publisher.js';

/**
 * What a feed connection tells the books it carries (the hook in connection.ts): which socket is
 * current, the book frames each socket frame parsed into, and when the socket is gone.
 */
export interface ConnectionBooks {
  /** Socket `gen` is open; `send` writes requests on it within its budgets (resubscribes). */
  linked(gen: number, adapter: VenueAdapter, send: (frames: string[]) => Promise<void>): void;
  /** The book frames of one socket frame (`raw`, for the DLQ), received at `recvTs`. */
  frames(gen: number, frames: readonly BookFrame[], raw: Uint8Array, recvTs: number): void;
  /** The incarnation ended (closed, failed, silent): every book of the connection resyncs. */
  unlinked(now: number): void;
}

/** Carries out a resync a sync asked for, under the venue's limits (book-resync.ts). */
export interface ResyncExecutor {
  enqueue(driver: BookDriver, req: BookRequest): void;
}

export interface BookDriverDeps {
  venue: string;
  router: BookRouter;
  publisher: BookPublisher;
  resyncs: ResyncExecutor;
  /** Where the connection's frames come from (DLQ source). */
  source: string;
  log: Logger;
  now?: () => number;
}

/**
 * The books of one feed connection: frames in through the venue's router (pure syncs), their
 * output out: events to the BookPublisher, refused levels to the DLQ, resync requests to the
 * venue's queue. Frames of a socket other than the current one are ignored (a rotation's overlap,
 * frames queued from a dead socket): the books resynced when the socket changed.
 */
export class BookDriver implements ConnectionBooks {
  private readonly out: BookOutput = newBookOutput();
  private readonly now: () => number;
  private gen = -1;
  private adapter: VenueAdapter | null = null;
  private send: ((frames: string[]) => Promise<void>) | null = null;

  constructor(private readonly deps: BookDriverDeps) {
    this.now = deps.now ?? Date.now;
  }

  get router(): BookRouter {
    return this.deps.router;
  }

  get venue(): string {
    return this.deps.venue;
  }

  /** Books on this connection. */
  get size(): number {
    let n = 0;
    for (const _ of this.deps.router.syncs()) n++;
    return n;
  }

  add(symbol: string, venueSymbol: string): void {
    this.deps.router.add(symbol, venueSymbol, this.now());
    this.deps.publisher.track(this.deps.router.get(symbol)!);
  }

  remove(symbol: string): void {
    this.deps.router.remove(symbol);
    this.deps.publisher.untrack(symbol);
  }

  linked(gen: number, adapter: VenueAdapter, send: (frames: string[]) => Promise<void>): void {
    this.gen = gen;
    this.adapter = adapter;
    this.send = send;
    const now = this.now();
    // a new socket: whatever the books held is unproven until its snapshots (or diffs) arrive
    this.deps.router.onDisconnect(now, this.out);
    this.drain(null, now, now);
  }

  frames(gen: number, frames: readonly BookFrame[], raw: Uint8Array, recvTs: number): void {
    if (gen !== this.gen) return;
    const router = this.deps.router;
    for (let i = 0; i < frames.length; i++) router.onFrame(frames[i]!, recvTs, this.out);
    this.drain(raw, recvTs, recvTs);
  }

  unlinked(now: number): void {
    this.send = null;
    this.adapter = null;
    this.gen = -1;
    this.deps.router.onDisconnect(now, this.out);
    this.drain(null, now, now);
  }

  /** Time-driven duties of the syncs (timed-out resyncs, Retry-After expiries). */
  tick(now: number): void {
    this.deps.router.tick(now, this.out);
    this.drain(null, now, now);
  }

  /** The REST depth snapshot a `snapshot` request fetched. */
  onSnapshot(symbol: string, body: string, recvTs: number): void {
    const bad = this.deps.router.onSnapshot(symbol, body, recvTs, this.out);
    if (bad !== null) {
      this.deps.log.warn({ symbol, reason: bad }, 'malformed depth snapshot; asking again');
      this.deps.router.onSnapshotFailed(symbol, recvTs, 1000, this.out);
    }
    this.drain(null, recvTs, recvTs);
  }

  /** The snapshot request failed; the sync asks again after `retryAfterMs`. */
  onSnapshotFailed(symbol: string, now: number, retryAfterMs: number): void {
    this.deps.router.onSnapshotFailed(symbol, now, retryAfterMs, this.out);
    this.drain(null, now, now);
  }

  /**
   * Unsubscribe + subscribe the book channel of `symbol` on the current socket (the venue then
   * sends a fresh snapshot). False when there is no socket: its reconnect resubscribes anyway.
   */
  async resubscribe(symbol: string): Promise<boolean> {
    const send = this.send;
    const adapter = this.adapter;
    if (send === null || adapter === null || this.deps.router.get(symbol) === undefined) return false;
    let id = 1;
    const next = () => id++;
    await send([...adapter.unsubscribeFrames([symbol], ['books'], next), ...adapter.subscribeFrames([symbol], ['books'], next)]);
    return true;
  }

  private drain(raw: Uint8Array | null, recvTs: number, now: number): void {
    const out = this.out;
    try {
      this.deps.publisher.publish(out.events, recvTs, now);
      if (out.invalid.length > 0 && raw !== null) this.deps.publisher.invalid(out.invalid, raw, this.deps.source);
      for (const r of out.requests) {
        bookMetrics.resyncs.inc({ venue: this.deps.venue, reason: r.reason });
        if (r.reason !== 'initial') this.deps.log.info({ symbol: r.symbol, reason: r.reason, kind: r.kind }, 'book resync');
        this.deps.resyncs.enqueue(this, r);
      }
    } finally {
      clearBookOutput(out);
    }
  }
}
