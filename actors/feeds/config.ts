import { Type, type Static, type TString } from '@sinclair/typebox';
import { CsvList, list, loadEnv } from '../../runtime/config.js';
import { VENUES } from '../../schemas/common.js';

/** `BINANCE_US` for `binance-us`: the prefix of the per-venue URL overrides. */
export const venueEnvPrefix = (venue: string): string => venue.toUpperCase().replace(/-/g, '_');

const urlOverride = (scheme: 'ws' | 'http'): TString =>
  Type.String({ pattern: scheme === 'ws' ? '^wss?://\\S+$' : '^https?://\\S+$', description: `a ${scheme}:// or ${scheme}s:// URL` });

const venueUrls = Object.fromEntries(
  VENUES.flatMap((v) => [
    [`${venueEnvPrefix(v)}_WS_URL`, Type.Optional(urlOverride('ws'))],
    [`${venueEnvPrefix(v)}_REST_URL`, Type.Optional(urlOverride('http'))],
  ]),
);

export const FeedEnv = Type.Object({
  TICKWORK_VENUES: CsvList(`a comma-separated list of venues from ${VENUES.join(', ')}`, 'binance'),
  TICKWORK_SYMBOLS: CsvList('a comma-separated list of BASE-QUOTE symbols, optionally venue-qualified (binance:BTC-USDT)', 'BTC-USDT,ETH-USDT'),
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

export const loadFeedConfig = (env: NodeJS.ProcessEnv = process.env): FeedConfig => loadEnv(FeedEnv, env);

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

export function urlsFor(cfg: FeedConfig, venue: string): { ws?: string; rest?: string } {
  const p = venueEnvPrefix(venue);
  const rec = cfg as Record<string, unknown>;
  return { ws: rec[`${p}_WS_URL`] as string | undefined, rest: rec[`${p}_REST_URL`] as string | undefined };
}
