import type { IdRule } from '../../actors/symbol/trade-check.js';
import type { Venue } from './types.js';

/** `BINANCE_US` for `binance-us`: the prefix of a venue's `<PREFIX>_WS_URL` / `<PREFIX>_REST_URL`. */
export const envPrefixOf = (id: string): string => id.toUpperCase().replace(/-/g, '_');

/** A venue definition with its derived parts (the env prefix) filled in. */
export function defineVenue(spec: Omit<Venue, 'envPrefix'>): Venue {
  return { ...spec, envPrefix: envPrefixOf(spec.id) };
}

/**
 * Trade ids of venues numbering each symbol's trades in sequence (int64 numerals): an id may run
 * ahead of the symbol's highest by 10^7 plus 10^6 per second of trade time, so one forged huge id
 * is refused while the ids after a real outage pass.
 */
export const SEQUENTIAL_NUMERIC_IDS: IdRule = { numericDigits: 19, advance: { perSecond: 1_000_000, slack: 10_000_000 } };
