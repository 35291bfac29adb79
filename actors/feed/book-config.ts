import { Type, type Static } from '@sinclair/typebox';
import { loadEnv } from '../../runtime/config.js';

/**
 * The L2 book feed's variables. Books are opt-in (`TICKWORK_BOOKS=1`; `up --demo` turns them on):
 * they add a connection per venue (Coinbase: per product) and a REST snapshot per Binance resync.
 */
export const BookEnv = Type.Object({
  TICKWORK_BOOKS: Type.Union([Type.Literal('0'), Type.Literal('1')], { default: '0', description: '1 (sync the venues\' L2 books) or 0' }),
  TICKWORK_BOOK_RESYNCS_PER_MIN: Type.Integer({ default: 60, minimum: 1, description: 'book resyncs per minute per venue (a token bucket, burst of a tenth of it, at least 5)' }),
  TICKWORK_BOOK_REST_WEIGHT_SHARE: Type.Number({
    default: 0.5,
    exclusiveMinimum: 0,
    maximum: 1,
    description: "the share (0 to 1] of the venue's REST weight per minute depth snapshots may spend (the rest is the trade history's)",
  }),
  TICKWORK_BOOK_RESYNC_TIMEOUT_MS: Type.Integer({ default: 30_000, minimum: 1000, description: 'milliseconds >= 1000 after which an unfinished resync is asked again' }),
});
export type BookConfig = Static<typeof BookEnv>;

export const loadBookConfig = (env: NodeJS.ProcessEnv = process.env): BookConfig => loadEnv(BookEnv, env);

export const booksEnabled = (cfg: BookConfig): boolean => cfg.TICKWORK_BOOKS === '1';
