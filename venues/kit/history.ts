import { backoffDelay, sleep } from '../../runtime/backoff.js';
import { TickworkError } from '../../runtime/errors.js';
import { SlidingWindowLimit, TokenBucket, type RateLimiter } from '../../runtime/rate-limit.js';
import { getText } from '../../runtime/transport/index.js';
import type { Trade } from '../../schemas/trade.js';
import type { RestGet, RestTrades, TradeHistory, Venue } from './types.js';

const REQUEST_TIMEOUT_MS = 10_000;
/** Attempts per request of a range walk (gap filling retries in the gap filler itself). */
const RANGE_ATTEMPTS = 4;
const RANGE_BACKOFF = { initialMs: 250, maxMs: 4_000, multiplier: 2 };

/**
 * GETs against a venue's REST base within its limits: each request spends its weight from half
 * the venue's per-IP budget and takes a permit of half the endpoint's own rate, so a second feed
 * replica (or a backfill) on the same IP fits beside it.
 */
type RestClient = (path: string, signal?: AbortSignal) => Promise<{ body: string; recvTs: number }>;
/** One client per venue and base URL in a process: gap filling and a backfill share its limits. */
const clients = new Map<string, RestClient>();

function restClient(venue: Venue, rest: RestTrades, baseUrl: string): RestClient {
  const key = `${venue.id} ${baseUrl}`;
  let client = clients.get(key);
  if (!client) clients.set(key, (client = newRestClient(venue, rest, baseUrl)));
  return client;
}

function newRestClient(venue: Venue, rest: RestTrades, baseUrl: string): RestClient {
  const w = venue.limits.restWeightPerMin;
  const budget = w ? new TokenBucket({ capacity: w / 2, refillPerSec: w / 2 / 60 }) : null;
  // Half the stated rate: `count` per twice the window (plus slack for the request's travel time).
  const endpoint: RateLimiter | null = rest.rate ? new SlidingWindowLimit({ limit: rest.rate.count, windowMs: 2 * rest.rate.perMs + 100 }) : null;
  return async (path, signal) => {
    if (budget !== null) await budget.take(Math.min(rest.weight, budget.capacity), signal);
    if (endpoint !== null) await endpoint.take(1, signal);
    const body = await getText(baseUrl + path, { ...(signal ? { signal } : {}), timeoutMs: REQUEST_TIMEOUT_MS, variable: `${venue.envPrefix}_REST_URL` });
    return { body, recvTs: Date.now() };
  };
}

/**
 * A venue's REST trade history (`Venue.history`) at `baseUrl` as the feed's TradeHistory port
 * (gap filling by sequence id). Null where the venue has no history.
 */
export function restTradeHistory(venue: Venue, baseUrl: string | undefined): TradeHistory | null {
  const rest = venue.history;
  if (!rest || !baseUrl) return null;
  const get = restClient(venue, rest, baseUrl);
  return {
    maxPerRequest: rest.maxPerRequest,
    async trades(like, fromId, limit, signal, sinceTs) {
      const { body, recvTs } = await get(rest.path(like.venueSymbol, fromId, limit, sinceTs), signal);
      return rest.parse(body, like, recvTs);
    },
  };
}

/** Backfill source over a venue's REST history: pages of trades with `fromMs ≤ ts < toMs`, in (ts, id) order. */
export type TradeRange = (like: Trade, fromMs: number, toMs: number, signal?: AbortSignal) => AsyncGenerator<Trade[]>;

/**
 * A venue's REST history at `baseUrl` walked by time (backfill), within the same limits as the
 * feed's gap filling; a failed request is retried with back-off before the walk gives up.
 */
export function restTradeRange(venue: Venue, baseUrl: string | undefined): TradeRange {
  const rest = venue.history;
  if (!rest) throw new TickworkError('HISTORY_UNAVAILABLE', `${venue.id} has no REST trade history tickwork can read: use --source file or archive`);
  if (!baseUrl) throw new TickworkError('CONFIG_INVALID', `${venue.envPrefix}_REST_URL is empty: the REST history of ${venue.id} needs a base URL`);
  const once = restClient(venue, rest, baseUrl);
  return async function* (like, fromMs, toMs, signal) {
    const get: RestGet = async (path) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await once(path, signal);
        } catch (err) {
          if (signal?.aborted || attempt >= RANGE_ATTEMPTS || (err instanceof TickworkError && err.code !== 'SERVICE_UNAVAILABLE')) throw err;
          await sleep(backoffDelay(attempt, RANGE_BACKOFF), signal);
        }
      }
    };
    yield* rest.range(get, like, fromMs, toMs);
  };
}

/** The trade a history request is made for: venue, symbols and nothing else. */
export function tradeLike(venue: Venue, symbol: string, venueSymbol: string): Trade {
  return { venue: venue.id, symbol, venueSymbol, id: '', price: '0', qty: '0', side: 'buy', ts: 0, recvTs: 0 };
}

/**
 * Walks a range forward by id for venues whose ids are contiguous: starting at `firstId`, pages of
 * `path(fromId)` until a trade at or after `toMs` (or no more trades). Used by OKX, Coinbase and
 * Binance once they have located the first id of the range.
 */
export async function* forwardById(
  rest: RestTrades,
  get: RestGet,
  like: Trade,
  firstId: number,
  fromMs: number,
  toMs: number,
  seqOf: (t: Trade) => { first: number; last: number },
): AsyncGenerator<Trade[]> {
  let next = firstId;
  for (;;) {
    const { body, recvTs } = await get(rest.path(like.venueSymbol, next, rest.maxPerRequest));
    const page = rest.parse(body, like, recvTs);
    const out: Trade[] = [];
    const before = next;
    let done = page.length === 0;
    for (const t of page) {
      const s = seqOf(t);
      if (s.last < next) continue;
      if (t.ts >= toMs) {
        done = true;
        break;
      }
      if (t.ts >= fromMs) out.push(t);
      next = s.last + 1;
    }
    if (out.length) yield out;
    // A short page is the newest there is; a page that moved nothing would repeat forever.
    if (done || page.length < rest.maxPerRequest || next === before) return;
  }
}

/**
 * The first id whose trade is at or after `fromMs`, for venues that page only by id (Coinbase):
 * gallops back from the newest trade, then bisects, so a range a day back costs ~30 requests.
 * `probe(id)` is the trade with that id, or null where the venue has none (before its history).
 * Null when even the newest trade is older than `fromMs`.
 */
export async function locateById(probe: (id: number) => Promise<Trade | null>, newest: Trade, fromMs: number): Promise<number | null> {
  let hi = Number(newest.id);
  if (newest.ts < fromMs) return null;
  // Invariant: trade `hi` is at or after fromMs; every id ≤ lo is before it (or absent).
  let lo = hi;
  for (let step = 1000; ; step *= 4) {
    const id = Math.max(0, hi - step);
    const t = await probe(id);
    if (t === null || t.ts < fromMs) {
      lo = id;
      break;
    }
    hi = id;
    if (id === 0) return 0;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const t = await probe(mid);
    if (t === null || t.ts < fromMs) lo = mid;
    else hi = mid;
  }
  return hi;
}
