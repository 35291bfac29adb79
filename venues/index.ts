import { TickworkError } from '../runtime/errors.js';
import { binance, binanceFutures, binanceUs } from './binance/index.js';
import { bybit } from './bybit/index.js';
import { coinbase } from './coinbase/index.js';
import { kraken } from './kraken/index.js';
import { okx } from './okx/index.js';
import type { Venue } from './kit/types.js';

/**
 * The registry: every venue tickwork speaks. Adding one = its folder `venues/<id>/` plus its line
 * here; the feed configuration (`TICKWORK_VENUES`, `<VENUE>_WS_URL`/`_REST_URL`), the simulator,
 * `up --demo` and the CLI's `--venue` choices all derive from this list.
 */
export const VENUES: readonly Venue[] = [binance, binanceUs, binanceFutures, bybit, coinbase, kraken, okx];

export type { Venue } from './kit/types.js';

const BY_ID: ReadonlyMap<string, Venue> = new Map(VENUES.map((v) => [v.id, v]));

/** Venue ids, in registry order. */
export const VENUE_IDS: readonly string[] = VENUES.map((v) => v.id);

export const isVenueId = (id: string): boolean => BY_ID.has(id);

/** The venue with this id; TickworkError VENUE_UNKNOWN (naming the known ones) otherwise. */
export function venueById(id: string): Venue {
  const v = BY_ID.get(id);
  if (!v) throw new TickworkError('VENUE_UNKNOWN', `unknown venue "${id}" (known: ${VENUE_IDS.join(', ')})`);
  return v;
}

/** The venues `up --demo` simulates. */
export const demoVenues = (): Venue[] => VENUES.filter((v) => v.demo.upDemo);
