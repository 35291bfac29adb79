import type { BookFrame, BookRouter, BookRouterOptions } from '../../venues/kit/types.js';
import type { BookSync, BookOutput } from './sync.js';

/**
 * The part of every venue's `BookRouter` that knows no protocol: the syncs of one connection by
 * canonical symbol and by venue symbol, and the connection-wide duties (disconnect, tick). A venue
 * router (`venues/<id>/book.ts`) adds how to make a sync and how a frame reaches it.
 */
export abstract class SymbolBooks<S extends BookSync> implements BookRouter {
  protected readonly bySymbol = new Map<string, S>();
  protected readonly byVenueSymbol = new Map<string, S>();

  constructor(protected readonly opts: BookRouterOptions) {}

  /** A sync for one symbol, from its first subscription (`now`). */
  protected abstract create(symbol: string, venueSymbol: string, now: number): S;
  abstract onFrame(frame: BookFrame, recvTs: number, out: BookOutput): void;

  add(symbol: string, venueSymbol: string, now: number): void {
    if (this.bySymbol.has(symbol)) return;
    const s = this.create(symbol, venueSymbol, now);
    this.bySymbol.set(symbol, s);
    this.byVenueSymbol.set(venueSymbol, s);
  }

  remove(symbol: string): void {
    const s = this.bySymbol.get(symbol);
    if (s === undefined) return;
    this.bySymbol.delete(symbol);
    this.byVenueSymbol.delete(s.venueSymbol);
  }

  get(symbol: string): S | undefined {
    return this.bySymbol.get(symbol);
  }

  syncs(): Iterable<S> {
    return this.bySymbol.values();
  }

  /** Only Binance fetches REST snapshots; every other venue's socket brings them. */
  onSnapshot(_symbol: string, _body: string, _recvTs: number, _out: BookOutput): string | null {
    return 'this venue takes no REST depth snapshot';
  }

  onSnapshotFailed(_symbol: string, _now: number, _retryAfterMs: number, _out: BookOutput): void {}

  onDisconnect(now: number, out: BookOutput): void {
    for (const s of this.bySymbol.values()) s.onDisconnect(now, out);
  }

  tick(now: number, out: BookOutput): void {
    for (const s of this.bySymbol.values()) s.tick(now, out);
  }

  /** The sync a frame names by its canonical symbol (set by the adapter), if this connection holds it. */
  protected syncOf(frame: BookFrame): S | undefined {
    return frame.symbol === null ? undefined : this.bySymbol.get(frame.symbol);
  }
}
