import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Logger } from '../runtime/logger.js';
import type { Namespace } from '../runtime/namespace.js';
import type { Redis } from '../runtime/redis.js';
import { counter } from '../runtime/metrics.js';
import {
  DerivParams,
  DerivResponse,
  DerivTickerCheck,
  FundingQuery,
  FundingResponse,
  derivKey,
  type DerivStreamSubscribe,
  type DerivTicker,
  type FundingRate,
} from '../schemas/deriv.js';
import { ErrorBody } from '../schemas/api.js';
import { ApiError } from './errors.js';
import { parseTime } from './input.js';

/**
 * Perpetual derivatives in the API: `GET /v1/derivs/:venue/:symbol` (one Redis GET of the latest
 * merged ticker the derivatives feed keeps), `GET /v1/funding` (settled funding rates from
 * PostgreSQL) and the `deriv` channel of `/v1/stream` (throttled ticker pushes).
 */

/** The derivatives feed's Redis entries (`deriv:<venue>:<SYMBOL>`) as text. */
export class DerivReader {
  constructor(
    private readonly redis: Redis,
    private readonly ns: Namespace,
  ) {}

  getRaw(venue: string, symbol: string): Promise<string | null> {
    return this.redis.get(this.ns.key(derivKey(venue, symbol)));
  }

  /** Several tickers in one MGET, in the order asked (null where none). */
  getRawMany(pairs: readonly { venue: string; symbol: string }[]): Promise<(string | null)[]> {
    if (pairs.length === 0) return Promise.resolve([]);
    return this.redis.mget(...pairs.map((p) => this.ns.key(derivKey(p.venue, p.symbol))));
  }
}

/** What the routes need of the funding history (store/funding.ts `FundingStore`). */
export interface FundingHistory {
  recent(q: { symbol: string; venue?: string; since?: number; limit: number }): Promise<FundingRate[]>;
}

const invalidTickers = counter({
  name: 'tickwork_api_deriv_invalid_total',
  help: 'Stored derivative tickers not served because they do not check as a DerivTicker of their venue/symbol',
});

/** The stored ticker of venue/symbol if it checks as one DerivTicker naming them; null otherwise (counted). */
export function checkedTicker(raw: string, venue: string, symbol: string, log: Logger): DerivTicker | null {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    v = undefined;
  }
  if (DerivTickerCheck.Check(v) && v.venue === venue && v.symbol === symbol) return v;
  invalidTickers.inc();
  log.warn({ venue, symbol, bytes: raw.length }, 'stored derivative ticker does not check: not served');
  return null;
}

const errors = {
  400: { ...ErrorBody, description: 'A bad parameter: `field` names it' },
  404: { ...ErrorBody, description: 'No derivative ticker for this venue/symbol (not fed, or its feed stopped a day ago)' },
  429: { ...ErrorBody, description: 'Rate limit exceeded' },
  500: { ...ErrorBody, description: 'Internal error (no details)' },
};

export interface DerivRouteOptions {
  reader: DerivReader;
  funding: FundingHistory;
  /** Rows `/v1/funding` answers without `limit`, and at most. */
  defaultLimit: number;
  maxLimit: number;
  log: Logger;
}

/** The routes, registered inside the `/v1` plugin (its validator, rate limit and error handler). */
export function derivRoutes(o: DerivRouteOptions) {
  return async function routes(app: FastifyInstance): Promise<void> {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    r.get(
      '/derivs/:venue/:symbol',
      {
        schema: {
          summary: 'Latest derivative ticker of a perpetual from Redis (one GET): mark/index/last price, funding rate and next settlement, open interest',
          params: DerivParams,
          response: { 200: DerivResponse, ...errors },
        },
      },
      async (req) => {
        const { venue, symbol } = req.params;
        const raw = await o.reader.getRaw(venue, symbol);
        const t = raw === null ? null : checkedTicker(raw, venue, symbol, o.log);
        if (t === null) throw ApiError.notFound('symbol', `no derivative ticker for ${venue}:${symbol}`);
        return t;
      },
    );
    r.get(
      '/funding',
      {
        schema: {
          summary: 'Settled funding rates of a perpetual (PostgreSQL, one row per venue and settlement), newest settlement first',
          querystring: FundingQuery,
          response: { 200: FundingResponse, ...errors, 404: { ...ErrorBody, description: 'Unknown route' } },
        },
      },
      async (req) => {
        const q = req.query;
        const since = parseTime('since', q.since);
        const limit = Math.min(q.limit ?? o.defaultLimit, o.maxLimit);
        const rates = await o.funding.recent({ symbol: q.symbol, ...(q.venue !== undefined ? { venue: q.venue } : {}), ...(since !== undefined ? { since } : {}), limit });
        return { symbol: q.symbol, rates };
      },
    );
  };
}

/** What the channel needs of a `/v1/stream` session. */
export interface DerivSubscriber {
  deliver(frame: Buffer): void;
}

interface Watched {
  venue: string;
  symbol: string;
  subscribers: Set<DerivSubscriber>;
  /** The stored text last pushed (a ticker changes only with a new `ts`, but compare it all). */
  last: string;
}

export interface DerivChannelOptions {
  reader: DerivReader;
  /** Pushes per venue/symbol at most this often (API_WS_THROTTLE_MS). */
  throttleMs: number;
  log: Logger;
}

/**
 * The `deriv` channel of `/v1/stream`: `{"op":"subscribe","channel":"deriv","venue","symbol"}` →
 * `{"type":"subscribed","channel":"deriv",...}`, the current ticker at once, then
 * `{"type":"deriv","data":DerivTicker}` whenever it changed, at most once per throttle interval: one
 * Redis MGET per interval for every watched ticker, however many sockets watch it. A stored value
 * that does not check as a DerivTicker of its venue/symbol is never forwarded.
 */
export class DerivChannel {
  private readonly watched = new Map<string, Watched>();
  private readonly timer: NodeJS.Timeout;
  private polling = false;

  constructor(private readonly opts: DerivChannelOptions) {
    this.timer = setInterval(() => void this.poll(), Math.max(50, opts.throttleMs));
    this.timer.unref();
  }

  /** A subscribe or unsubscribe of `sub`; returns the acknowledgement to send. 404 for a ticker nobody feeds. */
  async apply(sub: DerivSubscriber, m: DerivStreamSubscribe): Promise<object> {
    const key = `${m.venue}|${m.symbol}`;
    const ack = { channel: 'deriv', venue: m.venue, symbol: m.symbol };
    if (m.op === 'unsubscribe') {
      const w = this.watched.get(key);
      if (!w?.subscribers.delete(sub)) throw ApiError.notFound('symbol', `not subscribed to the derivative ticker of ${m.venue}:${m.symbol}`);
      if (w.subscribers.size === 0) this.watched.delete(key);
      return { type: 'unsubscribed', ...ack };
    }
    const raw = await this.opts.reader.getRaw(m.venue, m.symbol);
    if (raw === null) throw ApiError.notFound('symbol', `no derivative ticker for ${m.venue}:${m.symbol}`);
    let w = this.watched.get(key);
    if (!w) this.watched.set(key, (w = { venue: m.venue, symbol: m.symbol, subscribers: new Set(), last: '' }));
    const fresh = !w.subscribers.has(sub);
    w.subscribers.add(sub);
    // the current ticker at once (after the ack), then changes
    if (fresh) setImmediate(() => void this.pushNow(w!, sub));
    return { type: 'subscribed', ...ack };
  }

  /** Deriv subscriptions `sub` holds. */
  count(sub: DerivSubscriber): number {
    let n = 0;
    for (const w of this.watched.values()) if (w.subscribers.has(sub)) n++;
    return n;
  }

  /** A socket went away: its subscriptions end. */
  release(sub: DerivSubscriber): void {
    for (const [key, w] of this.watched) if (w.subscribers.delete(sub) && w.subscribers.size === 0) this.watched.delete(key);
  }

  close(): void {
    clearInterval(this.timer);
    this.watched.clear();
  }

  private frame(w: Watched, raw: string): Buffer | null {
    const t = checkedTicker(raw, w.venue, w.symbol, this.opts.log);
    return t === null ? null : Buffer.from(JSON.stringify({ type: 'deriv', data: t }));
  }

  private async pushNow(w: Watched, sub: DerivSubscriber): Promise<void> {
    try {
      const raw = await this.opts.reader.getRaw(w.venue, w.symbol);
      if (raw === null || !w.subscribers.has(sub)) return;
      const f = this.frame(w, raw);
      // a watch's first push: the poll need not send the same ticker again
      if (w.last === '') w.last = raw;
      if (f) sub.deliver(f);
    } catch (err) {
      this.opts.log.debug({ err, venue: w.venue, symbol: w.symbol }, 'deriv push failed');
    }
  }

  private async poll(): Promise<void> {
    if (this.polling || this.watched.size === 0) return;
    this.polling = true;
    try {
      const list = [...this.watched.values()];
      const raws = await this.opts.reader.getRawMany(list);
      for (let i = 0; i < list.length; i++) {
        const raw = raws[i];
        const w = list[i]!;
        if (raw === null || raw === undefined || raw === w.last) continue;
        w.last = raw;
        const f = this.frame(w, raw);
        if (f) for (const sub of w.subscribers) sub.deliver(f);
      }
    } catch (err) {
      this.opts.log.warn({ err, watched: this.watched.size }, 'deriv channel poll failed');
    } finally {
      this.polling = false;
    }
  }
}
