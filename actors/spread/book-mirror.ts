import { parseDecimal } from '../../runtime/decimal.js';
import type { BookEvent, BookLevel, BookSnap, BookState } from '../../schemas/book.js';
import { OrderBook, type BookSide } from '../book/index.js';
import type { WalkLevel } from './book-walk.js';

/**
 * A copy of one venue's book for the spread actor, kept from the `md.book.<venue>.<SYMBOL>` events
 * (core NATS) with the book engine of actors/book. Events are applied only in `seq` order: a
 * missed one (`prevSeq` not our last `seq`) loses the book until it can be rebuilt, either by the
 * next `snapshot` event (a venue resync opens a new epoch with the whole book) or by a top-N
 * `md.booksnap` (MD_BOOKS, at most a second old) plus the events buffered since.
 *
 * A book rebuilt from a top-N snapshot knows nothing below its N-th level, so the walk stops
 * there (`floor`/`ceil`): levels a delta adds beyond it are real, but unknown levels may sit
 * between them. A whole-book snapshot event lifts that bound.
 */

/** Events kept while waiting for a snapshot to bridge from. */
const MAX_BUFFER = 10_000;

export class BookMirror {
  private readonly book = new OrderBook();
  private ready = false;
  private lastSeq = 0;
  private epoch = -1;
  private stateValue: BookState = 'syncing';
  private lastRecv = 0;
  /** Parts of a multi-message snapshot still expected (same seq). */
  private partsLeft = 0;
  private partsSeq = 0;
  /** Worst known bid / ask price when rebuilt from a truncated top-N snapshot (exact keys), else null. */
  private bidFloor: number | null = null;
  private askCeil: number | null = null;
  private buffer: BookEvent[] = [];

  constructor(
    readonly venue: string,
    readonly symbol: string,
  ) {}

  get state(): BookState {
    return this.stateValue;
  }

  /** Receipt time of the last event applied (epoch ms). */
  get recvTs(): number {
    return this.lastRecv;
  }

  /** Whether the walk may use this book at `now`: in sequence, `live`, and no older than `maxAgeMs`. */
  usable(now: number, maxAgeMs: number): boolean {
    return this.ready && this.partsLeft === 0 && this.stateValue === 'live' && now - this.lastRecv <= maxAgeMs;
  }

  /** Applies one `md.book` event; returns true when the book changed (or its state did). */
  onEvent(e: BookEvent): boolean {
    if (e.type === 'snapshot' && (e.part === undefined || e.part === 1)) return this.snapshotEvent(e);
    if (!this.ready) {
      this.hold(e);
      return false;
    }
    if (e.part !== undefined && this.partsLeft > 0 && e.seq === this.partsSeq) {
      this.apply(e);
      this.partsLeft--;
      return this.partsLeft === 0;
    }
    if (e.prevSeq !== this.lastSeq || this.partsLeft > 0) {
      // a lost event (or part): wait for a snapshot to rebuild from
      this.lose();
      this.hold(e);
      return true;
    }
    this.apply(e);
    return true;
  }

  /** A top-N snapshot from MD_BOOKS: rebuilds a book waiting for one, when the buffered events continue it. */
  onSnap(s: BookSnap): boolean {
    if (this.ready) return false;
    const first = this.buffer[0];
    if (first !== undefined && first.prevSeq > s.seq) return false; // the events since it are not all here: wait for a newer one
    this.book.clear();
    for (const [p, q] of s.bids) this.book.set('bid', p, q);
    for (const [p, q] of s.asks) this.book.set('ask', p, q);
    this.bidFloor = s.bids.length >= s.depth ? this.book.bids.keyAt(this.book.bids.size - 1) : null;
    this.askCeil = s.asks.length >= s.depth ? this.book.asks.keyAt(this.book.asks.size - 1) : null;
    this.epoch = s.epoch;
    this.lastSeq = s.seq;
    this.stateValue = s.state;
    this.lastRecv = s.recvTs;
    this.ready = true;
    this.partsLeft = 0;
    const held = this.buffer;
    this.buffer = [];
    for (const e of held) {
      if (this.ready && e.seq <= this.lastSeq) continue;
      this.onEvent(e);
    }
    return true;
  }

  /** The asks best first, as decimals, down to the known bound; read lazily by the walk. */
  *asks(): Generator<WalkLevel> {
    yield* this.side(this.book.asks, this.askCeil, 'ask');
  }

  *bids(): Generator<WalkLevel> {
    yield* this.side(this.book.bids, this.bidFloor, 'bid');
  }

  /** Best price text of a side, or null. */
  best(side: 'bid' | 'ask'): string | null {
    const s = side === 'bid' ? this.book.bids : this.book.asks;
    return s.size > 0 ? s.priceAt(0) : null;
  }

  private *side(s: BookSide, bound: number | null, name: 'bid' | 'ask'): Generator<WalkLevel> {
    const n = s.size;
    for (let i = 0; i < n; i++) {
      const k = s.keyAt(i);
      if (bound !== null && (name === 'bid' ? k < bound : k > bound)) return;
      yield { price: parseDecimal(s.priceAt(i)), qty: parseDecimal(s.qtyAt(i)) };
    }
  }

  private snapshotEvent(e: BookEvent): boolean {
    this.book.clear();
    this.bidFloor = null;
    this.askCeil = null;
    this.buffer = [];
    this.ready = true;
    this.epoch = e.epoch;
    this.partsLeft = e.parts !== undefined ? e.parts - 1 : 0;
    this.partsSeq = e.seq;
    this.apply(e);
    return true;
  }

  private apply(e: BookEvent): void {
    if (e.state === 'syncing') this.book.clear();
    else {
      setAll(this.book, 'bid', e.bids);
      setAll(this.book, 'ask', e.asks);
    }
    this.lastSeq = e.seq;
    this.epoch = e.epoch;
    this.stateValue = e.state;
    this.lastRecv = e.recvTs;
  }

  private lose(): void {
    this.ready = false;
    this.partsLeft = 0;
    this.book.clear();
  }

  private hold(e: BookEvent): void {
    this.buffer.push(e);
    if (this.buffer.length > MAX_BUFFER) this.buffer.splice(0, this.buffer.length - MAX_BUFFER);
  }

  /** @internal tests */
  get epochSeen(): number {
    return this.epoch;
  }
}

function setAll(book: OrderBook, side: 'bid' | 'ask', levels: readonly BookLevel[]): void {
  for (const [p, q] of levels) book.set(side, p, q);
}
