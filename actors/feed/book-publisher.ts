import type { BookInvalid, BookSync } from '../book/index.js';
import type { Logger } from '../../runtime/logger.js';
import type { Namespace } from '../../runtime/namespace.js';
import type { NatsConnection, PipelinedPublisher, PublishCallback } from '../../runtime/nats/index.js';
import { bookSnapMsgId, bookSnapSubject, bookSubject, type BookEvent, type BookSnap, type BookState } from '../../schemas/book.js';
import type { Quote } from '../../schemas/quote.js';
import { dlqSubject, quoteSubject } from '../../schemas/subjects.js';
import { bookMetrics } from './book-metrics.js';
import { quoteMsgId } from './publisher.js';

/** Receipt times of the frames one Redis write made visible, and when the write was acknowledged. */
export type BookSnapListener = (recvTs: readonly number[], ackedAt: number) => void;

/** Where the latest top-N books are kept for one-round-trip reads (store/books.ts: Redis). */
export interface BookCache {
  put(snaps: readonly BookSnap[]): Promise<void>;
}

export interface BookPublisherDeps {
  venue: string;
  /** Core NATS, for `md.book.*` (high volume, not stored). */
  nc: Pick<NatsConnection, 'publish' | 'info'>;
  /** JetStream, for `md.booksnap.*` (MD_BOOKS), `md.quote.*` and the DLQ. */
  js: PipelinedPublisher;
  ns: Namespace;
  cache: BookCache;
  /** Levels per side in MD_BOOKS and Redis. */
  depth: number;
  log: Logger;
  /** MD_BOOKS at most this often per book (besides every state change); default 1000 ms. */
  snapIntervalMs?: number;
  /** Redis at most this often per book (besides every top-of-book or state change); default 100 ms. */
  cacheIntervalMs?: number;
  /** A book unchanged this long is written again, so its 10 s expiry never lapses while it is fed; default 4 s. */
  cacheRefreshMs?: number;
  /** Called with the receipt times of the frames a Redis write made visible, and when that write was acknowledged (benchmarks). */
  onCached?: BookSnapListener;
}

/** What is published of one book, and when it last was. */
interface Track {
  sync: BookSync;
  subject: string;
  snapSubject: string;
  quoteSubject: string;
  /** State as of the last MD_BOOKS snapshot (null: none yet). */
  snapState: BookState | null;
  snapAt: number;
  snapDirty: boolean;
  cacheAt: number;
  cacheDirty: boolean;
  /** Receipt times of frames applied since the last Redis write (for the latency figure). */
  unwritten: number[];
  /** Best bid/ask text of the last quote (or of the book when not live), to publish on change only. */
  top: string;
  lastEvent: BookEvent | null;
}

/** Room left under NATS's max payload for the headers and subject. */
const PAYLOAD_MARGIN = 4096;

/**
 * The book feed's output for one venue: every event on core NATS `md.book.<venue>.<SYMBOL>` in
 * order (snapshots too large for one message split into parts), the top-N into `MD_BOOKS` at most
 * once per `snapIntervalMs` and on every state change, Redis at most every `cacheIntervalMs` and at
 * once when the top of book or the state changes, and a quote (`source: "book"`) whenever the top
 * of a `live` book changes. Nothing of a `syncing` book is served: its snapshot and Redis entry
 * carry empty sides with the state, and no quote is made from it.
 */
export class BookPublisher {
  private readonly tracks = new Map<string, Track>();
  private readonly snapIntervalMs: number;
  private readonly cacheIntervalMs: number;
  private readonly cacheRefreshMs: number;
  private readonly enc = new TextEncoder();
  private readonly writeNow = new Set<Track>();
  private writeScheduled = false;
  private readonly onJsDone: PublishCallback;
  private readonly eventsChild: Record<BookEvent['type'], { inc(n?: number): void }>;

  constructor(private readonly deps: BookPublisherDeps) {
    this.snapIntervalMs = deps.snapIntervalMs ?? 1000;
    this.cacheIntervalMs = deps.cacheIntervalMs ?? 100;
    this.cacheRefreshMs = deps.cacheRefreshMs ?? 4000;
    this.onJsDone = (err) => {
      if (err) deps.log.debug({ err }, 'book publish to JetStream failed');
    };
    const m = bookMetrics.events;
    this.eventsChild = { snapshot: m.labels(deps.venue, 'snapshot'), delta: m.labels(deps.venue, 'delta'), status: m.labels(deps.venue, 'status') };
  }

  /** Starts publishing a book (its syncs' events name it by symbol). */
  track(sync: BookSync): void {
    const { ns, venue } = this.deps;
    this.tracks.set(sync.symbol, {
      sync,
      subject: ns.subject(bookSubject(venue, sync.symbol)),
      snapSubject: ns.subject(bookSnapSubject(venue, sync.symbol)),
      quoteSubject: ns.subject(quoteSubject(venue, sync.symbol)),
      snapState: null,
      snapAt: 0,
      snapDirty: true,
      cacheAt: 0,
      cacheDirty: true,
      unwritten: [],
      top: '',
      lastEvent: null,
    });
  }

  untrack(symbol: string): void {
    this.tracks.delete(symbol);
  }

  /**
   * One batch of sync events (in order) with the receipt time of the frame(s) behind them. Events
   * go out now; each touched book then gets its quote, snapshot and Redis duties.
   */
  publish(events: readonly BookEvent[], recvTs: number, now: number): void {
    if (events.length === 0) return;
    let touched: Track | null = null;
    let many: Set<Track> | null = null;
    for (const e of events) {
      const t = this.tracks.get(e.symbol);
      if (t === undefined) continue;
      this.event(t, e);
      t.lastEvent = e;
      if (touched === null) touched = t;
      else if (touched !== t) (many ??= new Set([touched])).add(t);
    }
    if (many !== null) for (const t of many) this.after(t, recvTs, now);
    else if (touched !== null) this.after(touched, recvTs, now);
  }

  /** Levels the engine refused: the raw frame to the venue's DLQ with the detail as its reason. */
  invalid(items: readonly BookInvalid[], raw: Uint8Array, source: string): void {
    for (const inv of items) {
      bookMetrics.dlq.inc({ venue: this.deps.venue });
      const id = `dlq:${this.deps.venue}:book:${Date.now()}:${Math.random().toString(36).slice(2)}`;
      this.deps.js
        .deadLetter(this.deps.ns.subject(dlqSubject(this.deps.venue)), raw, { reason: 'book-level', schemaPath: '', detail: `${inv.symbol}: ${inv.detail}`, source }, id)
        .catch((err: unknown) => this.deps.log.warn({ err }, 'book DLQ publish failed'));
    }
  }

  /** Time-driven duties: throttled MD_BOOKS snapshots and Redis writes, expiry refreshes. */
  tick(now: number): void {
    for (const t of this.tracks.values()) {
      if (t.snapDirty && now - t.snapAt >= this.snapIntervalMs) this.snapshot(t, now);
      if ((t.cacheDirty && now - t.cacheAt >= this.cacheIntervalMs) || now - t.cacheAt >= this.cacheRefreshMs) this.cacheSoon(t);
    }
  }

  /** Every book's snapshot and Redis entry now (start-up and shutdown: the state as it is). */
  flushAll(now: number): void {
    for (const t of this.tracks.values()) {
      this.snapshot(t, now);
      this.cacheSoon(t);
    }
  }

  private after(t: Track, recvTs: number, now: number): void {
    const sync = t.sync;
    if (t.unwritten.length < 10_000) t.unwritten.push(recvTs);
    t.snapDirty = true;
    t.cacheDirty = true;
    const stateChanged = sync.state !== t.snapState;
    const top = topText(sync);
    const topChanged = top !== t.top;
    t.top = top;
    if (topChanged && sync.live && top !== '') this.quote(t);
    if (stateChanged) this.snapshot(t, now);
    if (stateChanged || topChanged || now - t.cacheAt >= this.cacheIntervalMs) this.cacheSoon(t);
  }

  /** One event on core NATS; a snapshot above the max payload goes as parts with the same seq. */
  private event(t: Track, e: BookEvent): void {
    this.eventsChild[e.type].inc();
    const payload = this.enc.encode(JSON.stringify(e));
    const max = (this.deps.nc.info?.max_payload ?? 1_048_576) - PAYLOAD_MARGIN;
    if (payload.length <= max) {
      this.deps.nc.publish(t.subject, payload);
      return;
    }
    for (const part of splitEvent(e, payload.length, max)) this.deps.nc.publish(t.subject, this.enc.encode(part));
    bookMetrics.split.inc({ venue: this.deps.venue });
  }

  private quote(t: Track): void {
    const s = t.sync;
    const top = s.topN(1);
    const bid = top.bids[0];
    const ask = top.asks[0];
    if (bid === undefined || ask === undefined) return;
    const e = t.lastEvent;
    const q: Quote = {
      venue: s.venue,
      symbol: s.symbol,
      venueSymbol: s.venueSymbol,
      bidPrice: bid[0],
      bidQty: bid[1],
      askPrice: ask[0],
      askQty: ask[1],
      updateId: e?.venueSeq ?? `${s.epoch}.${s.seq}`,
      source: 'book',
      ts: e?.ts ?? top.ts,
      recvTs: e?.recvTs ?? top.recvTs,
    };
    this.deps.js.send(t.quoteSubject, JSON.stringify(q), quoteMsgId(q), undefined, this.onJsDone);
  }

  private snapshot(t: Track, now: number): void {
    const snap = t.sync.topN(this.deps.depth);
    t.snapState = snap.state;
    t.snapAt = now;
    t.snapDirty = false;
    this.deps.js.send(t.snapSubject, JSON.stringify(snap), bookSnapMsgId(snap.venue, snap.symbol, snap.epoch, snap.seq), undefined, this.onJsDone);
  }

  /** Queues a Redis write, coalesced with the other books touched in this turn of the event loop. */
  private cacheSoon(t: Track): void {
    this.writeNow.add(t);
    if (this.writeScheduled) return;
    this.writeScheduled = true;
    setImmediate(this.writeCache);
  }

  private readonly writeCache = (): void => {
    this.writeScheduled = false;
    if (this.writeNow.size === 0) return;
    const now = Date.now();
    const snaps: BookSnap[] = [];
    const frames: number[] = [];
    for (const t of this.writeNow) {
      if (this.tracks.get(t.sync.symbol) !== t) continue;
      snaps.push(t.sync.topN(this.deps.depth));
      t.cacheAt = now;
      t.cacheDirty = false;
      for (const r of t.unwritten) frames.push(r);
      t.unwritten.length = 0;
    }
    this.writeNow.clear();
    const started = performance.now();
    this.deps.cache.put(snaps).then(
      () => {
        const acked = Date.now();
        bookMetrics.cacheWrite.observe((performance.now() - started) / 1000);
        for (const r of frames) bookMetrics.frameToCache.observe(Math.max(0, acked - r) / 1000);
        this.deps.onCached?.(frames, acked);
      },
      (err: unknown) => {
        bookMetrics.cacheErrors.inc({ venue: this.deps.venue });
        this.deps.log.warn({ err }, 'book cache write failed');
      },
    );
  };
}

/** Best bid and ask as one comparable text ('' when a side is empty or the book is syncing). */
function topText(s: BookSync): string {
  if (s.state === 'syncing') return '';
  const { bids, asks } = s.book;
  if (bids.size === 0 || asks.size === 0) return '';
  return `${bids.priceAt(0)} ${bids.qtyAt(0)} ${asks.priceAt(0)} ${asks.qtyAt(0)}`;
}

/**
 * A snapshot event too large for one NATS message → `parts` messages with the same seq, each a
 * slice of both sides, each under `max` bytes (the slices shrink until they fit).
 */
export function splitEvent(e: BookEvent, size: number, max: number): string[] {
  for (let parts = Math.ceil(size / max) + 1; ; parts *= 2) {
    const out: string[] = [];
    const bidStep = Math.ceil(e.bids.length / parts);
    const askStep = Math.ceil(e.asks.length / parts);
    let fits = true;
    for (let i = 0; i < parts; i++) {
      const part: BookEvent = { ...e, bids: e.bids.slice(i * bidStep, (i + 1) * bidStep), asks: e.asks.slice(i * askStep, (i + 1) * askStep), part: i + 1, parts };
      const text = JSON.stringify(part);
      if (Buffer.byteLength(text) > max) {
        fits = false;
        break;
      }
      out.push(text);
    }
    if (fits) return out;
  }
}
