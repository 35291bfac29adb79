import { BookError, BookSync, SymbolBooks, type BookOutput, type BookSyncOptions, type Level } from '../../actors/book/index.js';
import type { BookFrame, VenueBooks } from '../kit/types.js';
import { BinanceDepthSnapshotCheck, type BinanceDepthSnapshot, type BinanceDepthUpdate } from './book-schemas.js';

/**
 * Binance depth sync for one symbol: spot and Binance.US (`U`/`u` rule) and USD-M futures (venue
 * `binance-futures`, `pu` rule). Pure (see actors/book/sync.ts); the snapshot comes from REST:
 *
 *   diff → buffered, and (first time) a `snapshot` request → the caller fetches
 *   `binanceDepthSnapshot.path(...)` within the venue's weight budget → `onSnapshot(body)`
 *
 * `onSnapshot` sorts the buffer by update id (so reordered diffs still bootstrap), drops diffs
 * the snapshot already holds, requires the first kept diff to bridge the snapshot (spot
 * `U ≤ lastUpdateId+1`; futures `U ≤ lastUpdateId ≤ u` or `pu == lastUpdateId`), else asks for a
 * newer snapshot, and applies the rest. Live: spot needs `U == previous u + 1`, futures
 * `pu == previous u`; anything else (lost, repeated or reordered diff) fails the symbol and asks
 * for one new snapshot. No checksum. Levels beyond the snapshot depth that never change never
 * arrive: serve a top-N well inside `snapshotLimit`.
 */
export interface BinanceBookSyncOptions extends Omit<BookSyncOptions, 'venue'> {
  /** 'binance', 'binance-us' or 'binance-futures' (USD-M: the `pu` rule). */
  venue: string;
  /** Diffs kept while a snapshot is on its way (tardis keeps 2,000); the oldest go first. */
  maxBuffered?: number;
}

export class BinanceBookSync extends BookSync {
  protected readonly resyncKind = 'snapshot' as const;
  readonly futures: boolean;
  private readonly maxBuffered: number;
  /** Diffs received while syncing, in arrival order. */
  private buffer: BinanceDepthUpdate[] = [];
  /** Update id the book is at. */
  private lastU = 0;
  /** True between a snapshot and the first diff after it (the bridging rule applies). */
  private bridging = false;
  /** A failed snapshot fetch is retried at this time (the caller passes the venue's Retry-After). */
  private retryAt: number | null = null;

  constructor(opts: BinanceBookSyncOptions) {
    super(opts);
    this.futures = opts.venue === 'binance-futures';
    this.maxBuffered = opts.maxBuffered ?? 2_000;
  }

  /** One `depthUpdate` for this symbol (checked with `BinanceDepthUpdateCheck`). */
  onDiff(d: BinanceDepthUpdate, recvTs: number, out: BookOutput): void {
    if (this.state === 'syncing') {
      this.buffer.push(d);
      if (this.buffer.length > this.maxBuffered) this.buffer.shift();
      if (!this.awaitingResync && this.retryAt === null) this.request('initial', recvTs, out);
      return;
    }
    if (this.bridging) {
      if (this.futures ? d.u < this.lastU : d.u <= this.lastU) return; // older than the snapshot
      if (!this.bridges(d)) return this.lost('gap', d, recvTs, out);
      this.bridging = false;
    } else if (this.futures ? d.pu !== this.lastU : d.U !== this.lastU + 1) {
      return this.lost(d.u <= this.lastU ? 'out-of-order' : 'gap', d, recvTs, out);
    }
    const bids: Level[] = [];
    const asks: Level[] = [];
    if (!this.applyLevels('bid', d.b, bids, recvTs, out) || !this.applyLevels('ask', d.a, asks, recvTs, out)) return;
    if (this.book.crossed()) return this.lost('crossed', d, recvTs, out);
    this.lastU = d.u;
    this.delta(bids, asks, d.T ?? d.E, recvTs, String(d.u), undefined, out);
  }

  /** The REST depth snapshot (checked with `BinanceDepthSnapshotCheck`) the last request asked for. */
  onSnapshot(s: BinanceDepthSnapshot, recvTs: number, out: BookOutput): void {
    if (this.state !== 'syncing') return; // a late answer to a request already served
    this.retryAt = null;
    const L = s.lastUpdateId;
    const kept = sortedUnique(this.buffer).filter((d) => (this.futures ? d.u >= L : d.u > L));
    if (kept.length > 0 && !(this.futures ? kept[0]!.U <= L || kept[0]!.pu === L : kept[0]!.U <= L + 1)) {
      this.buffer = kept;
      this.request('snapshot-stale', recvTs, out);
      return;
    }
    this.book.clear();
    try {
      for (const l of s.bids) this.book.set('bid', l[0], l[1]);
      for (const l of s.asks) this.book.set('ask', l[0], l[1]);
      let prev = -1;
      for (const d of kept) {
        if (prev >= 0 && (this.futures ? d.pu !== prev : d.U !== prev + 1)) {
          // a diff is missing from the buffer itself: only a snapshot past it can help
          this.buffer = kept.slice(kept.indexOf(d));
          this.book.clear();
          this.request('gap', recvTs, out);
          return;
        }
        for (const l of d.b) this.book.set('bid', l[0], l[1]);
        for (const l of d.a) this.book.set('ask', l[0], l[1]);
        prev = d.u;
      }
    } catch (err) {
      if (!(err instanceof BookError)) throw err;
      // a bad level in the snapshot or a buffered diff: report it, start over from the next diff
      out.invalid.push({ venue: this.venue, symbol: this.symbol, venueSymbol: this.venueSymbol, detail: err.message });
      this.book.clear();
      this.buffer = [];
      this.request('invalid-level', recvTs, out);
      return;
    }
    this.buffer = [];
    if (this.book.crossed()) {
      this.book.clear();
      this.request('crossed', recvTs, out);
      return;
    }
    const last = kept[kept.length - 1];
    this.lastU = last === undefined ? L : last.u;
    this.bridging = last === undefined;
    this.begin(last === undefined ? (s.T ?? s.E ?? recvTs) : (last.T ?? last.E), recvTs, String(this.lastU), undefined, out);
  }

  /**
   * The snapshot request failed (HTTP error, malformed body). Asked again at `now + retryAfterMs`
   * (pass the venue's `Retry-After` on 429; a 418 ban deserves far longer) by `tick`.
   */
  onSnapshotFailed(now: number, retryAfterMs: number, _out: BookOutput): void {
    if (this.state !== 'syncing') return;
    this.retryAt = now + Math.max(0, retryAfterMs);
  }

  override tick(now: number, out: BookOutput): void {
    if (this.retryAt !== null) {
      if (now < this.retryAt) return;
      this.retryAt = null;
      this.request('snapshot-failed', now, out);
      return;
    }
    super.tick(now, out);
  }

  private bridges(d: BinanceDepthUpdate): boolean {
    return this.futures ? d.U <= this.lastU || d.pu === this.lastU : d.U <= this.lastU + 1;
  }

  /** The live book broke at `d`: resync, keeping `d` (sound in itself) as the first diff of the new buffer. */
  private lost(reason: 'gap' | 'out-of-order' | 'crossed', d: BinanceDepthUpdate, recvTs: number, out: BookOutput): void {
    this.bridging = false;
    this.buffer = [d];
    this.fail(reason, recvTs, out);
  }
}

/** Buffered diffs by update id, repeats dropped (a duplicate delivery carries the same `u`). */
function sortedUnique(buffer: BinanceDepthUpdate[]): BinanceDepthUpdate[] {
  const sorted = buffer.slice().sort((a, b) => a.u - b.u);
  return sorted.filter((d, i) => i === 0 || d.u !== sorted[i - 1]!.u);
}

/** REST depth snapshot request: path (append to the venue's REST base) and its weight. */
export const binanceDepthSnapshot = {
  /** Default depth: deep enough to serve a top-50 for long, cheap enough to resync often. */
  defaultLimit: 1_000,
  path(venue: string, venueSymbol: string, limit = 1_000): string {
    const base = venue === 'binance-futures' ? '/fapi/v1/depth' : '/api/v3/depth';
    return `${base}?symbol=${encodeURIComponent(venueSymbol)}&limit=${limit}`;
  },
  /** Request weight (spot: 5/25/50/250 up to 100/500/1000/5000; USD-M: 2/5/10/20 up to 50/100/500/1000). */
  weight(venue: string, limit = 1_000): number {
    if (venue === 'binance-futures') return limit <= 50 ? 2 : limit <= 100 ? 5 : limit <= 500 ? 10 : 20;
    return limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250;
  },
} as const;

/** The depth syncs of one connection: diffs by symbol, REST snapshots by the symbol that asked. */
export class BinanceBooks extends SymbolBooks<BinanceBookSync> {
  protected create(symbol: string, venueSymbol: string, now: number): BinanceBookSync {
    return new BinanceBookSync({
      venue: this.opts.venue,
      symbol,
      venueSymbol,
      now,
      ...(this.opts.resyncTimeoutMs !== undefined ? { resyncTimeoutMs: this.opts.resyncTimeoutMs } : {}),
    });
  }

  onFrame(frame: BookFrame, recvTs: number, out: BookOutput): void {
    this.syncOf(frame)?.onDiff(frame.msg as BinanceDepthUpdate, recvTs, out);
  }

  override onSnapshot(symbol: string, body: string, recvTs: number, out: BookOutput): string | null {
    const sync = this.bySymbol.get(symbol);
    if (sync === undefined) return null;
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return 'depth snapshot is not JSON';
    }
    if (!BinanceDepthSnapshotCheck.Check(value)) {
      const e = BinanceDepthSnapshotCheck.Errors(value).First();
      return `depth snapshot ${e ? `${e.path} ${e.message}` : 'invalid'}`;
    }
    sync.onSnapshot(value, recvTs, out);
    return null;
  }

  override onSnapshotFailed(symbol: string, now: number, retryAfterMs: number, out: BookOutput): void {
    this.bySymbol.get(symbol)?.onSnapshotFailed(now, retryAfterMs, out);
  }
}

/**
 * Binance books: `<s>@depth@100ms` plus the REST snapshot (limit 1000: a top-50 stays correct for
 * long, since levels below the snapshot depth that never change never arrive). USD-M serves depth
 * on `/public` (the 2026-04-23 URL split); its `<VENUE>_WS_URL` names the `/market` endpoint.
 */
export function binanceBooks(venue: string): VenueBooks {
  const limit = binanceDepthSnapshot.defaultLimit;
  return {
    ...(venue === 'binance-futures' ? { wsUrl: (configured: string) => configured.replace(/\/market\/(stream|ws)\b/, '/public/$1') } : {}),
    rest: { path: (venueSymbol) => binanceDepthSnapshot.path(venue, venueSymbol, limit), weight: binanceDepthSnapshot.weight(venue, limit) },
    subscription: `<symbol>@depth@100ms + REST depth snapshot (limit ${limit})`,
    createRouter: (opts) => new BinanceBooks(opts),
  };
}
