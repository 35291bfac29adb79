import type { Candle } from '../schemas/candle.js';
import type { Tf } from '../schemas/common.js';
import type { FeedHealth, LiveState } from '../schemas/state.js';
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

/** What the query service needs from the live state (store/live-state.ts `LiveStateStore`). */
export interface LiveStateSource {
  state(venue: string, symbol: string): Promise<LiveState | null>;
  overview(pairs: readonly { venue: string; symbol: string }[], venues: readonly string[]): Promise<{ states: (LiveState | null)[]; feeds: FeedHealth[] }>;
  isKnown(venue: string, symbol: string): Promise<boolean>;
  symbols(): Promise<SymbolEntry[]>;
}

/** What the query service needs from the closed candles PostgreSQL may not have yet (api/recent-candles.ts). */
export interface RecentCandleSource {
  closed(venue: string, symbol: string, tf: string, from?: number, to?: number): Candle[];
  /** Reads back closed candles stored on the bus since `sinceMs` that it has not seen. */
  fill?(venue: string, symbol: string, tf: string, sinceMs: number): Promise<void>;
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
  /** `venues`: the registry's ids, whose feed health the overview shows even before a symbol trades. */
  constructor(
    private readonly live: LiveStateSource,
    private readonly history: CandleHistory,
    private readonly arbs: ArbitrageHistory,
    private readonly limits: QueryLimits,
    private readonly venues: readonly string[],
    private readonly recent: RecentCandleSource = { closed: () => [] },
  ) {}

  async state(p: StateParams): Promise<LiveState> {
    const st = await this.live.state(p.venue, p.symbol);
    if (st === null) throw ApiError.notFound('symbol', `no live state for ${p.venue}:${p.symbol}`);
    return st;
  }

  /** Resolves when venue/symbol has live state or a worker registered it; otherwise the 404 `/v1/candles` answers. */
  async requireKnown(venue: string, symbol: string): Promise<void> {
    if (await this.live.isKnown(venue, symbol)) return;
    if ((await this.live.state(venue, symbol)) !== null) return;
    throw ApiError.notFound('symbol', `unknown venue/symbol ${venue}:${symbol}`);
  }

  /**
   * Closed candles from PostgreSQL, the newest closed ones PostgreSQL does not hold yet from
   * MD_CANDLES (the sink lags or is down: no hole before the open candle), and the open one from
   * Redis. Without `from` the answer is the newest `limit` candles up to `to`; with `from`, the
   * first `limit` from it.
   */
  async candles(q: CandlesQuery): Promise<CandlesResponse> {
    const from = parseTime('from', q.from);
    const to = parseTime('to', q.to);
    if (from !== undefined && to !== undefined && from > to) throw ApiError.badRequest('from', 'invalid from: after to');
    const limit = Math.min(q.limit ?? this.limits.candlesDefaultLimit, this.limits.candlesMaxLimit);
    const newest = from === undefined;
    const [state, stored] = await Promise.all([
      this.live.state(q.venue, q.symbol),
      this.history.query({ venue: q.venue, symbol: q.symbol, tf: q.tf as Tf, from, to, limit, order: newest ? 'desc' : 'asc' }),
    ]);
    if (newest) stored.reverse();
    const merge = () => withRecent(stored, recentClosed(this.recent.closed(q.venue, q.symbol, q.tf, from, to), state?.pending, q.tf, from, to), limit, newest);
    let candles = merge();
    const open = state?.candles[q.tf];
    // A hole before the open bar (bars are contiguous: gaps are emitted as empty candles), e.g. this
    // process started after those candles were published and PostgreSQL has not stored them yet.
    const before = candles.at(-1);
    if (this.recent.fill && open && !open.closed && before !== undefined && open.openTime - before.closeTime > 1 && open.openTime <= (to ?? Infinity)) {
      await this.recent.fill(q.venue, q.symbol, q.tf, before.closeTime + 1);
      candles = merge();
    }
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
    if (candles.length === 0 && state === null && !(await this.live.isKnown(q.venue, q.symbol))) {
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
    return { symbols: await this.live.symbols() };
  }

  /** Everything the dashboard table shows, in two Redis round trips (HGETALL, then one MGET). */
  async overview(): Promise<OverviewResponse> {
    const symbols = await this.live.symbols();
    const venues = [...new Set([...this.venues, ...symbols.map((s) => s.venue)])];
    const { states, feeds } = await this.live.overview(symbols, venues);
    const rows: OverviewRow[] = symbols.map((s, i) => {
      const st = states[i] ?? null;
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
    return { now: Date.now(), symbols: rows, feeds };
  }
}

/**
 * Closed candles PostgreSQL may lack: those MD_CANDLES delivered, and those the worker had not yet
 * seen acknowledged when it wrote its live state (`pending`, for an openTime MD_CANDLES has not
 * shown). Ascending by openTime.
 */
function recentClosed(fromBus: Candle[], pending: readonly Candle[] | undefined, tf: string, from: number | undefined, to: number | undefined): Candle[] {
  if (pending === undefined || pending.length === 0) return fromBus;
  const byOpen = new Map<number, Candle>();
  for (const c of pending) {
    if (c.tf === tf && (from === undefined || c.openTime >= from) && (to === undefined || c.openTime <= to)) byOpen.set(c.openTime, c);
  }
  if (byOpen.size === 0) return fromBus;
  for (const c of fromBus) byOpen.set(c.openTime, c);
  return [...byOpen.values()].sort((a, b) => a.openTime - b.openTime);
}

/**
 * Stored candles (ascending, one page) merged with recent closed ones by openTime: a recent candle
 * fills an openTime PostgreSQL lacks or holds only unclosed (a derived bucket still filling);
 * a closed stored row wins. The page is cut to `limit` again (the newest, or the first ones).
 */
function withRecent(stored: Candle[], recent: Candle[], limit: number, newest: boolean): Candle[] {
  if (recent.length === 0) return stored;
  const byOpen = new Map<number, Candle>();
  for (const c of stored) byOpen.set(c.openTime, c);
  for (const c of recent) {
    const s = byOpen.get(c.openTime);
    if (!s || !s.closed) byOpen.set(c.openTime, c);
  }
  if (byOpen.size === stored.length && stored.every((c) => byOpen.get(c.openTime) === c)) return stored;
  const merged = [...byOpen.values()].sort((a, b) => a.openTime - b.openTime);
  // A full page from `from` ends where PostgreSQL's page ends: recent ones past it belong to the next page.
  const last = stored.at(-1);
  const page = !newest && stored.length >= limit && last ? merged.filter((c) => c.openTime <= last.openTime) : merged;
  return newest ? page.slice(-limit) : page.slice(0, limit);
}
