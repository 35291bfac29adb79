import type { Candle } from '../schemas/candle.js';
import { VENUES, type Tf } from '../schemas/common.js';
import { feedHealthKey, stateKey, symbolsKey, type FeedHealth, type LiveState } from '../schemas/state.js';
import type {
  ArbitrageQuery,
  ArbitrageResponse,
  CandlesQuery,
  CandlesResponse,
  OverviewResponse,
  OverviewRow,
  StateParams,
  SymbolEntry,
  SymbolsResponse,
} from '../schemas/api.js';
import type { Namespace } from '../runtime/namespace.js';
import type { Redis } from '../runtime/redis.js';
import { ApiError } from './errors.js';
import { parseTime } from './input.js';

/** What the query service needs from the candle history (store/candles.ts `CandleStore`). */
export interface CandleHistory {
  query(q: {
    venue: string;
    symbol: string;
    tf: Tf;
    from?: number;
    to?: number;
    limit: number;
    order?: 'asc' | 'desc';
  }): Promise<Candle[]>;
}

/** What the query service needs from the arbitrage history (store/arbitrage.ts `ArbitrageStore`). */
export interface ArbitrageHistory {
  recent(q: { symbol?: string; since?: number; limit: number }): Promise<ArbitrageResponse['opportunities']>;
}

export interface QueryLimits {
  candlesMaxLimit: number;
  candlesDefaultLimit: number;
  arbitrageDefaultLimit: number;
}

/**
 * One function per query, shared by every transport (HTTP routes, NATS service, and the
 * dashboard), so a NATS client and an HTTP client get the same body for the same question.
 * Inputs are already validated against schemas/api.ts; failures throw ApiError.
 */
export class QueryService {
  constructor(
    private readonly redis: Redis,
    private readonly ns: Namespace,
    private readonly history: CandleHistory,
    private readonly arbs: ArbitrageHistory,
    private readonly limits: QueryLimits,
  ) {}

  /** One Redis GET: the symbol actor writes the whole LiveState as one JSON string. */
  async state(p: StateParams): Promise<LiveState> {
    const raw = await this.redis.get(this.ns.key(stateKey(p.venue, p.symbol)));
    if (raw === null) throw ApiError.notFound('symbol', `no live state for ${p.venue}:${p.symbol}`);
    return JSON.parse(raw) as LiveState;
  }

  /**
   * Closed candles from PostgreSQL and the open one from Redis, read in parallel. Without `from`
   * the answer is the newest `limit` candles up to `to`; with `from`, the first `limit` from it.
   */
  async candles(q: CandlesQuery): Promise<CandlesResponse> {
    const from = parseTime('from', q.from);
    const to = parseTime('to', q.to);
    if (from !== undefined && to !== undefined && from > to) throw ApiError.badRequest('from', 'invalid from: after to');
    const limit = Math.min(q.limit ?? this.limits.candlesDefaultLimit, this.limits.candlesMaxLimit);
    const newest = from === undefined;
    const [raw, stored] = await Promise.all([
      this.redis.get(this.ns.key(stateKey(q.venue, q.symbol))),
      this.history.query({ venue: q.venue, symbol: q.symbol, tf: q.tf as Tf, from, to, limit, order: newest ? 'desc' : 'asc' }),
    ]);
    const candles = newest ? stored.reverse() : stored;
    const state = raw === null ? null : (JSON.parse(raw) as LiveState);
    const open = state?.candles[q.tf];
    const last = candles.at(-1);
    // A stored candle with the same openTime is the closed version: it wins over the open copy.
    if (
      open &&
      !open.closed &&
      (last === undefined || open.openTime > last.openTime) &&
      (from === undefined || open.openTime >= from) &&
      (to === undefined || open.openTime <= to)
    ) {
      candles.push(open);
      if (candles.length > limit) {
        if (newest) candles.shift();
        else candles.pop();
      }
    }
    if (candles.length === 0 && state === null && !(await this.isKnown(q.venue, q.symbol))) {
      throw ApiError.notFound('symbol', `unknown venue/symbol ${q.venue}:${q.symbol}`);
    }
    return { venue: q.venue, symbol: q.symbol, tf: q.tf, candles };
  }

  /** Recent cross-venue opportunities, newest first: since `since`, else the newest `limit`. */
  async arbitrage(q: ArbitrageQuery): Promise<ArbitrageResponse> {
    const since = parseTime('since', q.since);
    const limit = Math.min(q.limit ?? this.limits.arbitrageDefaultLimit, this.limits.candlesMaxLimit);
    return { opportunities: await this.arbs.recent({ symbol: q.symbol, since, limit }) };
  }

  async symbols(): Promise<SymbolsResponse> {
    return { symbols: await this.knownSymbols() };
  }

  /** Everything the dashboard table shows, in two Redis round trips (HGETALL, then one MGET). */
  async overview(): Promise<OverviewResponse> {
    const symbols = await this.knownSymbols();
    const venues = [...new Set([...VENUES, ...symbols.map((s) => s.venue)])];
    const keys = [
      ...symbols.map((s) => this.ns.key(stateKey(s.venue, s.symbol))),
      ...venues.map((v) => this.ns.key(feedHealthKey(v))),
    ];
    const values = keys.length ? await this.redis.mget(...keys) : [];
    const rows: OverviewRow[] = symbols.map((s, i) => {
      const raw = values[i];
      const st = raw ? (JSON.parse(raw) as LiveState) : null;
      return {
        venue: s.venue,
        symbol: s.symbol,
        worker: st?.worker ?? s.worker,
        lastPrice: st?.lastTrade?.price ?? null,
        lastTradeTs: st?.lastTrade?.ts ?? null,
        vwap1m: st?.vwap['1m'] ?? null,
        tradesApplied: st?.tradesApplied ?? 0,
        updatedAt: st?.updatedAt ?? s.updatedAt,
      };
    });
    const feeds = values
      .slice(symbols.length)
      .filter((v): v is string => v !== null)
      .map((v) => JSON.parse(v) as FeedHealth);
    return { now: Date.now(), symbols: rows, feeds };
  }

  private async isKnown(venue: string, symbol: string): Promise<boolean> {
    return (await this.redis.hexists(this.ns.key(symbolsKey), `${venue}:${symbol}`)) === 1;
  }

  private async knownSymbols(): Promise<SymbolEntry[]> {
    const all = await this.redis.hgetall(this.ns.key(symbolsKey));
    const out: SymbolEntry[] = [];
    for (const [field, value] of Object.entries(all)) {
      const at = field.indexOf(':');
      if (at <= 0) continue;
      const meta = safeJson(value) as { worker?: unknown; updatedAt?: unknown } | null;
      out.push({
        venue: field.slice(0, at),
        symbol: field.slice(at + 1),
        worker: typeof meta?.worker === 'string' ? meta.worker : null,
        updatedAt: typeof meta?.updatedAt === 'number' ? meta.updatedAt : null,
      });
    }
    return out.sort((a, b) => a.venue.localeCompare(b.venue) || a.symbol.localeCompare(b.symbol));
  }
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}
