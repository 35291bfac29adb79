import { guardedParse, type FrameParser } from './frame.js';
import { splitCanonical, type SymbolMap } from './symbols.js';
import type { FeedChannel, FrameClass, ParseOutput, VenueAdapter } from './types.js';

export type SubscribeAction = 'subscribe' | 'unsubscribe';

/**
 * The part of every adapter that carries no venue knowledge: the never-throw `parse` guard, the
 * per-connection symbol map behind `fromVenueSymbol`, and (un)subscribe as one request builder.
 * A venue's adapter extends it with its protocol: request frames and `parseFrame`.
 */
export abstract class VenueAdapterBase implements VenueAdapter, FrameParser {
  abstract readonly venue: string;
  /** Venue symbol → canonical, learnt from subscriptions or derived by the venue's rule. */
  protected abstract readonly symbols: SymbolMap;

  abstract toVenueSymbol(symbol: string): string;
  abstract parseFrame(raw: string, recvTs: number, out: ParseOutput): FrameClass;
  /** The venue's request frames for one action, split to respect its per-request limits. */
  protected abstract requests(action: SubscribeAction, symbols: readonly string[], channels: readonly FeedChannel[], nextReqId: () => number): string[];

  fromVenueSymbol(venueSymbol: string): string | null {
    return this.symbols.get(venueSymbol);
  }

  subscribeFrames(symbols: readonly string[], channels: readonly FeedChannel[], nextReqId: () => number): string[] {
    return this.requests('subscribe', symbols, channels, nextReqId);
  }

  unsubscribeFrames(symbols: readonly string[], channels: readonly FeedChannel[], nextReqId: () => number): string[] {
    return this.requests('unsubscribe', symbols, channels, nextReqId);
  }

  parse(raw: string, recvTs: number, out: ParseOutput): FrameClass {
    return guardedParse(this, raw, recvTs, out);
  }
}

/** Canonical `BASE-QUOTE` respelt with the venue's separator ('' → 'BTCUSDT', '/' → 'BTC/USDT'). */
export function joinSymbol(symbol: string, separator: string): string {
  const [base, quote] = splitCanonical(symbol);
  return base + separator + quote;
}
