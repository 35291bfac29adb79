import type { SimVenue } from '../types.js';
import { binance } from './binance.js';
import { bybit } from './bybit.js';
import { coinbase } from './coinbase.js';
import { kraken } from './kraken.js';
import { okx } from './okx.js';
import type { VenueContext, VenueProtocol } from './protocol.js';

export interface VenueEntry {
  create: (ctx: VenueContext) => VenueProtocol;
  /** Quote asset of the default synthetic symbols (`BTC-<quote>`, ...). */
  defaultQuote: string;
}

/** The registry: one entry per venue id; Binance.US speaks Binance's protocol. */
export const VENUES: Record<SimVenue, VenueEntry> = {
  binance: { create: binance, defaultQuote: 'USDT' },
  'binance-us': { create: binance, defaultQuote: 'USDT' },
  bybit: { create: bybit, defaultQuote: 'USDT' },
  coinbase: { create: coinbase, defaultQuote: 'USD' },
  kraken: { create: kraken, defaultQuote: 'USD' },
  okx: { create: okx, defaultQuote: 'USDT' },
};

export type { ClientRequest, OutFrame, SimClient, VenueContext, VenueProtocol } from './protocol.js';
