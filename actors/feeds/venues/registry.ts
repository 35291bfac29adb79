import { binance } from './binance.js';
import { bybit } from './bybit.js';
import { coinbase } from './coinbase.js';
import { kraken } from './kraken.js';
import { okx } from './okx.js';
import type { VenueAdapter, VenueAdapterFactory } from './types.js';

/** Every venue adapter, by the venue ids it serves. Adding a venue = one file + one line here. */
const FACTORIES: readonly VenueAdapterFactory[] = [binance, bybit, coinbase, kraken, okx];

const BY_VENUE: ReadonlyMap<string, VenueAdapterFactory> = new Map(FACTORIES.flatMap((f) => f.venues.map((v) => [v, f] as const)));

/** Venue ids with an adapter. */
export const ADAPTER_VENUES: readonly string[] = [...BY_VENUE.keys()];

export function hasAdapter(venue: string): boolean {
  return BY_VENUE.has(venue);
}

/** A fresh adapter (one per connection: adapters may hold per-connection state). Throws for an unknown venue. */
export function createAdapter(venue: string): VenueAdapter {
  const factory = BY_VENUE.get(venue);
  if (!factory) throw new Error(`no venue adapter for "${venue}" (known: ${ADAPTER_VENUES.join(', ')})`);
  return factory.create(venue);
}
