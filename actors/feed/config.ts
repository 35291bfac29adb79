import { Type, type Static, type TString } from '@sinclair/typebox';
import type { SupervisorPolicy } from '../../runtime/actor/index.js';
import { configError, CsvList, list, loadEnv } from '../../runtime/config.js';
import type { FeedChannel } from '../../venues/kit/types.js';
import { isVenueId, VENUES, VENUE_IDS, type Venue } from '../../venues/index.js';

const urlOverride = (scheme: 'ws' | 'http'): TString =>
  Type.String({ pattern: scheme === 'ws' ? '^wss?://\\S+$' : '^https?://\\S+$', description: `a ${scheme}:// or ${scheme}s:// URL` });

/** `<VENUE>_WS_URL` / `<VENUE>_REST_URL` for every venue of the registry. */
const venueUrls = Object.fromEntries(
  VENUES.flatMap((v) => [
    [`${v.envPrefix}_WS_URL`, Type.Optional(urlOverride('ws'))],
    [`${v.envPrefix}_REST_URL`, Type.Optional(urlOverride('http'))],
  ]),
);

const VENUES_EXPECTED = `a comma-separated list of venues from ${VENUE_IDS.join(', ')}`;
const SYMBOLS_EXPECTED = 'a comma-separated list of BASE-QUOTE symbols like BTC-USDT, optionally venue-qualified (binance:BTC-USDT)';
const CHANNELS: readonly FeedChannel[] = ['trades', 'quotes'];

export const FeedEnv = Type.Object({
  TICKWORK_VENUES: CsvList(VENUES_EXPECTED, 'binance'),
  TICKWORK_SYMBOLS: CsvList(SYMBOLS_EXPECTED, 'BTC-USDT,ETH-USDT'),
  TICKWORK_FEED_CHANNELS: CsvList('a comma-separated subset of trades,quotes', 'trades,quotes'),
  TICKWORK_FEED_SILENCE_MS: Type.Integer({ default: 30_000, minimum: 100, description: 'milliseconds >= 100' }),
  TICKWORK_FEED_ROTATE_AFTER_MS: Type.Integer({ default: 23 * 3_600_000, minimum: 0, description: 'milliseconds, 0 = never' }),
  TICKWORK_FEED_ROTATE_OVERLAP_MS: Type.Integer({ default: 5_000, minimum: 0, description: 'milliseconds' }),
  TICKWORK_FEED_CONNECT_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 100, description: 'milliseconds' }),
  TICKWORK_FEED_BACKOFF_INITIAL_MS: Type.Integer({ default: 250, minimum: 1, description: 'milliseconds' }),
  TICKWORK_FEED_BACKOFF_MAX_MS: Type.Integer({ default: 10_000, minimum: 1, description: 'milliseconds' }),
  TICKWORK_FEED_BACKOFF_RESET_MS: Type.Integer({ default: 1_500, minimum: 1, description: 'milliseconds a connection must live for its reconnect back-off to start over' }),
  TICKWORK_FEED_MAX_RESTARTS_PER_MIN: Type.Integer({ default: 120, minimum: 1, description: 'a positive integer' }),
  TICKWORK_FEED_MAX_BACKFILL: Type.Integer({ default: 100_000, minimum: 0, description: 'trade ids' }),
  TICKWORK_FEED_MAX_IN_FLIGHT: Type.Integer({ default: 2048, minimum: 1, description: 'publishes awaiting ack' }),
  ...venueUrls,
});
export type FeedConfig = Static<typeof FeedEnv>;

// `venue:` (a registry id) then BASE-QUOTE or BASE-QUOTE-PERP in either case; symbolsFor upper-cases.
const SYMBOL_ENTRY = /^(?:([a-z][a-z0-9-]*):)?[A-Za-z0-9]{1,20}-[A-Za-z0-9]{1,20}(?:-[Pp][Ee][Rr][Pp])?$/;

/**
 * The feed variables, checked beyond their shapes: every venue is one of the registry, every
 * symbol is BASE-QUOTE (a venue's own spelling like `btcusdt` is refused at start-up, not after
 * a stream of failed subscriptions), channels are known. ConfigError naming the variable otherwise.
 */
export function loadFeedConfig(env: NodeJS.ProcessEnv): FeedConfig {
  const cfg = loadEnv(FeedEnv, env);
  const venues = list(cfg.TICKWORK_VENUES);
  if (venues.length === 0 || !venues.every(isVenueId)) throw configError('TICKWORK_VENUES', env.TICKWORK_VENUES, VENUES_EXPECTED);
  for (const entry of list(cfg.TICKWORK_SYMBOLS)) {
    const m = SYMBOL_ENTRY.exec(entry);
    if (!m || (m[1] !== undefined && !isVenueId(m[1]))) throw configError('TICKWORK_SYMBOLS', env.TICKWORK_SYMBOLS, SYMBOLS_EXPECTED);
  }
  if (!list(cfg.TICKWORK_FEED_CHANNELS).every((c) => (CHANNELS as readonly string[]).includes(c))) {
    throw configError('TICKWORK_FEED_CHANNELS', env.TICKWORK_FEED_CHANNELS, 'a comma-separated subset of trades,quotes');
  }
  return cfg;
}

/** The configured venue ids (validated against the registry by loadFeedConfig). */
export const venuesOf = (cfg: FeedConfig): string[] => list(cfg.TICKWORK_VENUES);

export const channelsOf = (cfg: FeedConfig): FeedChannel[] => list(cfg.TICKWORK_FEED_CHANNELS) as FeedChannel[];

/** Symbols for one venue: unqualified entries apply to every venue, `venue:SYM` to that one. */
export function symbolsFor(cfg: FeedConfig, venue: string): string[] {
  const out: string[] = [];
  for (const entry of list(cfg.TICKWORK_SYMBOLS)) {
    const i = entry.lastIndexOf(':');
    if (i < 0) out.push(entry.toUpperCase());
    else if (entry.slice(0, i) === venue) out.push(entry.slice(i + 1).toUpperCase());
  }
  return [...new Set(out)];
}

/** The venue's endpoints, with its `<VENUE>_WS_URL` / `<VENUE>_REST_URL` overrides applied. */
export function urlsFor(cfg: FeedConfig, venue: Venue): { ws: string; rest: string | undefined } {
  const rec = cfg as Record<string, unknown>;
  return {
    ws: (rec[`${venue.envPrefix}_WS_URL`] as string | undefined) ?? venue.wsUrl,
    rest: (rec[`${venue.envPrefix}_REST_URL`] as string | undefined) ?? venue.restUrl,
  };
}

/**
 * How a venue's connections are supervised, whatever they carry (trades, books, derivatives): one
 * for one, reconnect back-off and restart intensity from the feed's settings.
 */
export function feedSupervision(cfg: FeedConfig): SupervisorPolicy {
  return {
    strategy: 'one-for-one',
    backoff: { initialMs: cfg.TICKWORK_FEED_BACKOFF_INITIAL_MS, maxMs: cfg.TICKWORK_FEED_BACKOFF_MAX_MS, multiplier: 2, resetAfterMs: cfg.TICKWORK_FEED_BACKOFF_RESET_MS },
    intensity: { maxRestarts: cfg.TICKWORK_FEED_MAX_RESTARTS_PER_MIN, withinMs: 60_000 },
  };
}
