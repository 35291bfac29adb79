import { formatExact, mul, parseDecimal, type Decimal } from '../../runtime/decimal.js';
import { TickworkError } from '../../runtime/errors.js';
import type { BookEvent, BookSnap, BookState } from '../../schemas/book.js';
import { BookError, LevelChange, OrderBook, type BookSideName, type Level } from './order-book.js';

/**
 * What every per-venue book sync shares: the state (`syncing | live | stale`), our epoch and
 * contiguous seq, the events it emits and the resync it requests. A venue subclass owns the
 * protocol (gap rule, checksum, snapshot source) and calls `begin` / `delta` / `fail`.
 *
 * Pure: no sockets, no timers. The caller passes receipt times and `now`, executes the
 * requests (under the venue's rate limits) and publishes the events. One instance per symbol,
 * so a failure resyncs that symbol only.
 */

export type ResyncReason =
  /** First sync of the symbol (Binance: the REST snapshot the first diff asks for). */
  | 'initial'
  /** The venue sequence jumped forward: an update was lost. */
  | 'gap'
  /** The venue sequence repeated or went backwards: a duplicate or reordered frame. */
  | 'out-of-order'
  /** The venue's checksum disagrees with our book after the whole frame. */
  | 'checksum'
  /** Best bid at or above best ask after the whole frame. */
  | 'crossed'
  /** Id-keyed feeds: a delete/update of a level the book lacks, or an insert of one it has. */
  | 'unknown-level'
  /** A level the engine cannot hold exactly (malformed text, out of range). */
  | 'invalid-level'
  /** A REST snapshot older than the first buffered diff (asked again). */
  | 'snapshot-stale'
  /** The REST snapshot request failed (HTTP error, 429, malformed body). */
  | 'snapshot-failed'
  /** A requested resync did not complete within `resyncTimeoutMs`. */
  | 'timeout';

export const RESYNC_REASONS: readonly ResyncReason[] = [
  'initial', 'gap', 'out-of-order', 'checksum', 'crossed', 'unknown-level', 'invalid-level', 'snapshot-stale', 'snapshot-failed', 'timeout',
];

/**
 * `snapshot`: fetch the venue's REST depth snapshot for `venueSymbol` and pass it to the sync's
 * `onSnapshot` (Binance). `resubscribe`: unsubscribe and subscribe this symbol's book channel; the
 * venue then sends a fresh snapshot over the socket (Bybit, Coinbase, Kraken, OKX).
 */
export type BookRequestKind = 'snapshot' | 'resubscribe';

export interface BookRequest {
  kind: BookRequestKind;
  venue: string;
  symbol: string;
  venueSymbol: string;
  reason: ResyncReason;
}

/**
 * A frame that passed its schema but holds a level the engine refuses (zero price, negative qty,
 * beyond the exact range). The sync already failed over it (`invalid-level`); the caller sends the
 * raw frame to the DLQ with `detail` as the reason.
 */
export interface BookInvalid {
  venue: string;
  symbol: string;
  venueSymbol: string;
  detail: string;
}

/** Batch sink for sync results; reuse one per connection and clear it after each publish. */
export interface BookOutput {
  events: BookEvent[];
  requests: BookRequest[];
  invalid: BookInvalid[];
}

export function newBookOutput(): BookOutput {
  return { events: [], requests: [], invalid: [] };
}

export function clearBookOutput(out: BookOutput): void {
  out.events.length = 0;
  out.requests.length = 0;
  out.invalid.length = 0;
}

export interface BookSyncOptions {
  venue: string;
  /** Canonical symbol (`BASE-QUOTE` or `BASE-QUOTE-PERP`). */
  symbol: string;
  /** The venue's own symbol text, as the requests need it. */
  venueSymbol: string;
  /** When the book channel was subscribed (epoch ms): the first sync is timed from here. */
  now: number;
  /** A resync not completed after this long is requested again (default 30 s). */
  resyncTimeoutMs?: number;
  /**
   * Linear contracts (OKX swaps `ctVal`): published quantities are venue qty × this, in base
   * units; the book itself keeps the venue's text, which its checksum is computed over.
   */
  contractValue?: string;
}

/** Level text as sent, read from any venue layout. */
export type RawLevel = readonly [string, string, ...unknown[]];

interface Pending {
  since: number;
  reason: ResyncReason | 'disconnect';
  /** False while waiting for something the venue sends unasked (a snapshot after (re)subscribing). */
  requested: boolean;
}

export abstract class BookSync {
  readonly venue: string;
  readonly symbol: string;
  readonly venueSymbol: string;
  readonly book = new OrderBook();
  /** Requests made, by reason (the caller exports them as a counter). */
  readonly resyncs: Record<ResyncReason, number>;
  /** How a resync is done on this venue. */
  protected abstract readonly resyncKind: BookRequestKind;

  private stateValue: BookState = 'syncing';
  private epochValue = 0;
  private seqValue = 0;
  private readonly resyncTimeoutMs: number;
  private readonly contractValue: Decimal | null;
  /** The sync in progress while `syncing`; null once live. */
  private pending: Pending | null;
  private lastTs = 0;
  private lastRecvTs = 0;

  constructor(opts: BookSyncOptions) {
    this.venue = opts.venue;
    this.symbol = opts.symbol;
    this.venueSymbol = opts.venueSymbol;
    this.resyncTimeoutMs = opts.resyncTimeoutMs ?? 30_000;
    this.resyncs = Object.fromEntries(RESYNC_REASONS.map((r) => [r, 0])) as Record<ResyncReason, number>;
    this.pending = { since: opts.now, reason: 'initial', requested: false };
    this.contractValue = opts.contractValue === undefined ? null : parseDecimal(opts.contractValue);
    if (this.contractValue !== null && this.contractValue.units <= 0n) throw new TickworkError('CONFIG_INVALID', `contractValue must be positive, got ${opts.contractValue}`);
  }

  get state(): BookState {
    return this.stateValue;
  }

  get epoch(): number {
    return this.epochValue;
  }

  /** Seq of the last event emitted (0 before the first). */
  get seq(): number {
    return this.seqValue;
  }

  /** True when quotes and arbitrage may use this book. */
  get live(): boolean {
    return this.stateValue === 'live';
  }

  /**
   * The best `depth` levels per side as stored in `MD_BOOKS` (copies those levels only). While
   * `syncing` the sides are empty: nothing is served from a book being rebuilt.
   */
  topN(depth: number): BookSnap {
    const serve = this.stateValue !== 'syncing';
    return {
      venue: this.venue,
      symbol: this.symbol,
      epoch: this.epochValue,
      seq: this.seqValue,
      state: this.stateValue,
      depth,
      bids: serve ? this.published(this.book.bids.levels(depth)) : [],
      asks: serve ? this.published(this.book.asks.levels(depth)) : [],
      ts: this.lastTs,
      recvTs: this.lastRecvTs,
    };
  }

  /**
   * Time-driven duties, called by the owner now and then: a resync outstanding for longer than
   * `resyncTimeoutMs` (or a venue snapshot that never came) is requested again.
   */
  tick(now: number, out: BookOutput): void {
    const p = this.pending;
    if (p !== null && now - p.since >= this.resyncTimeoutMs) this.request('timeout', now, out);
  }

  /**
   * The connection dropped: frames were lost, so the book is no longer known. Nothing is
   * requested: the reconnect resubscribes (bringing a venue snapshot, or a diff that asks for one);
   * `tick` asks again if nothing comes.
   */
  onDisconnect(now: number, out: BookOutput): void {
    this.enterSyncing('disconnect', now, out);
    this.pending = { since: now, reason: 'disconnect', requested: false };
  }

  /** The connection's watchdog saw silence: the book stays, but is not served until a frame proves it current. */
  markStale(now: number, out: BookOutput): void {
    if (this.stateValue !== 'live') return;
    this.stateValue = 'stale';
    this.emit('status', [], [], now, now, undefined, undefined, 'stale', out);
  }

  /**
   * The sync is lost: clear the book, go `syncing` and request one resync. While a resync is
   * outstanding, further failures request nothing more (one storm, one request).
   */
  protected fail(reason: ResyncReason, now: number, out: BookOutput): void {
    this.enterSyncing(reason, now, out);
    if (this.pending !== null && this.pending.requested) return;
    this.request(reason, now, out);
  }

  /** Requests a resync now (also while one is outstanding: a stale or failed REST snapshot). */
  protected request(reason: ResyncReason, now: number, out: BookOutput): void {
    this.resyncs[reason]++;
    this.pending = { since: now, reason, requested: true };
    out.requests.push({ kind: this.resyncKind, venue: this.venue, symbol: this.symbol, venueSymbol: this.venueSymbol, reason });
  }

  /** True while a resync was requested and has not completed. */
  protected get awaitingResync(): boolean {
    return this.pending !== null && this.pending.requested;
  }

  /** The book now holds a complete venue snapshot: open a new epoch, go live, emit the whole book. */
  protected begin(ts: number, recvTs: number, venueSeq: string | undefined, checksum: number | undefined, out: BookOutput): void {
    this.epochValue++;
    this.stateValue = 'live';
    this.pending = null;
    this.emit('snapshot', this.published(this.book.bids.levels()), this.published(this.book.asks.levels()), ts, recvTs, venueSeq, checksum, undefined, out);
  }

  /** One venue frame applied and checked: emit what it changed. */
  protected delta(bids: Level[], asks: Level[], ts: number, recvTs: number, venueSeq: string | undefined, checksum: number | undefined, out: BookOutput): void {
    // a keep-alive (nothing changed) is not worth an event unless it proves a stale book current
    if (bids.length === 0 && asks.length === 0 && this.stateValue === 'live') return;
    this.stateValue = 'live';
    this.emit('delta', this.published(bids), this.published(asks), ts, recvTs, venueSeq, checksum, undefined, out);
  }

  /**
   * Applies venue levels to `side` in order, recording each as published (deletes as qty "0").
   * Returns false (after `fail('invalid-level')`) when a level cannot be held; the book is then
   * already cleared for the resync.
   */
  protected applyLevels(side: BookSideName, levels: readonly RawLevel[], into: Level[] | null, now: number, out: BookOutput): boolean {
    try {
      for (let i = 0; i < levels.length; i++) {
        const l = levels[i]!;
        const c = this.book.set(side, l[0], l[1]);
        if (into !== null) into.push([l[0], c === LevelChange.Delete || c === LevelChange.None ? '0' : l[1]]);
      }
      return true;
    } catch (err) {
      this.invalidLevel(err, now, out);
      return false;
    }
  }

  /** A level the engine refused (rethrows anything else): record it for the DLQ and fail the sync. */
  protected invalidLevel(err: unknown, now: number, out: BookOutput): void {
    if (!(err instanceof BookError)) throw err;
    out.invalid.push({ venue: this.venue, symbol: this.symbol, venueSymbol: this.venueSymbol, detail: err.message });
    this.fail('invalid-level', now, out);
  }

  /** Whole frame applied: a crossed book fails the sync. Returns true when the book is fine. */
  protected checkUncrossed(now: number, out: BookOutput): boolean {
    if (!this.book.crossed()) return true;
    this.fail('crossed', now, out);
    return false;
  }

  /** Venue quantities → published ones (base units for contracts); in place, the arrays are ours. */
  private published(levels: Level[]): Level[] {
    const cv = this.contractValue;
    if (cv === null) return levels;
    for (const l of levels) if (l[1] !== '0') l[1] = formatExact(mul(parseDecimal(l[1]), cv), 0);
    return levels;
  }

  private enterSyncing(reason: ResyncReason | 'disconnect', now: number, out: BookOutput): void {
    this.book.clear();
    if (this.stateValue === 'syncing') return;
    this.stateValue = 'syncing';
    this.emit('status', [], [], now, now, undefined, undefined, reason, out);
  }

  private emit(
    type: BookEvent['type'],
    bids: Level[],
    asks: Level[],
    ts: number,
    recvTs: number,
    venueSeq: string | undefined,
    checksum: number | undefined,
    reason: string | undefined,
    out: BookOutput,
  ): void {
    const seq = ++this.seqValue;
    this.lastTs = Math.floor(ts);
    this.lastRecvTs = Math.floor(recvTs);
    const e: BookEvent = {
      venue: this.venue,
      symbol: this.symbol,
      type,
      epoch: this.epochValue,
      seq,
      prevSeq: seq - 1,
      state: this.stateValue,
      bids,
      asks,
      ts: this.lastTs,
      recvTs: this.lastRecvTs,
    };
    if (venueSeq !== undefined) e.venueSeq = venueSeq;
    if (checksum !== undefined) e.checksum = checksum;
    if (reason !== undefined) e.reason = reason;
    out.events.push(e);
  }
}
