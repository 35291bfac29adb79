import { Type } from '@sinclair/typebox';
import { ArbitrageRecord } from '../schemas/arbitrage.js';
import { loadEnv } from '../runtime/config.js';
import type { Sql } from '../runtime/pg.js';

/** The stored shape is the md.arb payload (schemas/arbitrage.ts), re-exported for the store's users. */
export { ArbitrageRecord };

export const ArbitrageEnv = Type.Object({
  TICKWORK_RETENTION_ARBITRAGE: Type.String({
    default: '30d',
    pattern: '^([0-9]+[smhd]|forever)$',
    description: 'a duration like 30d, 12h or "forever"',
  }),
});

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** TICKWORK_RETENTION_ARBITRAGE in ms, null = forever (ConfigError naming the variable). */
export function loadArbitrageRetention(env: NodeJS.ProcessEnv): number | null {
  const v = loadEnv(ArbitrageEnv, env).TICKWORK_RETENTION_ARBITRAGE;
  return v === 'forever' ? null : Number(v.slice(0, -1)) * UNIT_MS[v.slice(-1)]!;
}

interface ArbRow {
  id: string;
  symbol: string;
  ts: number;
  buy_venue: string;
  sell_venue: string;
  ask: string;
  bid: string;
  spread_bps: string;
}

interface EpisodeRow {
  id: string;
  kind: 'book' | 'funding';
  symbol: string;
  buy_venue: string;
  sell_venue: string;
  started_at: number;
  ended_at: number | null;
  ts: number;
  peak_bps: string;
  avg_bps: string;
  net_bps: string;
  spread_bps: string;
  ask: string;
  bid: string;
  size: string | null;
  net_quote: string | null;
  quote: string | null;
  detail: Record<string, unknown>;
}

/**
 * The SQL adapter for arbitrage: episodes (one row each, updated in place while open) written by
 * the spread actors, and the opportunities of the `arbitrage` table written before episodes
 * existed; reads serve both, newest first; retention trims both.
 */
export class ArbitrageStore {
  private readonly table: string;
  private readonly episodes: string;
  private readonly retentionMs: number | null;

  constructor(
    private readonly sql: Sql,
    opts: { schema?: string; retentionMs?: number | null } = {},
  ) {
    this.table = opts.schema ? `${opts.schema}.arbitrage` : 'arbitrage';
    this.episodes = opts.schema ? `${opts.schema}.arbitrage_episodes` : 'arbitrage_episodes';
    this.retentionMs = opts.retentionMs !== undefined ? opts.retentionMs : loadArbitrageRetention({});
  }

  /** Stores the batch in one statement; ids already stored are left as they are. Returns rows inserted. */
  async insert(records: readonly ArbitrageRecord[]): Promise<number> {
    if (records.length === 0) return 0;
    const col = (f: (r: ArbitrageRecord) => string | number) => records.map((r) => String(f(r)));
    const res = await this.sql`
      insert into ${this.sql(this.table)} (id, symbol, ts, buy_venue, sell_venue, ask, bid, spread_bps)
      select id, symbol, timestamptz 'epoch' + ts * interval '1 millisecond', buy_venue, sell_venue, ask, bid, spread_bps
      from unnest(${col((r) => r.id)}::text[], ${col((r) => r.symbol)}::text[], ${col((r) => r.ts)}::text[]::bigint[],
        ${col((r) => r.buyVenue)}::text[], ${col((r) => r.sellVenue)}::text[], ${col((r) => r.ask)}::text[]::numeric[],
        ${col((r) => r.bid)}::text[]::numeric[], ${col((r) => r.spreadBps)}::text[]::numeric[])
        as t(id, symbol, ts, buy_venue, sell_venue, ask, bid, spread_bps)
      on conflict (id) do nothing`;
    return res.count;
  }

  /**
   * Writes episode rows (`episodeId` as `id`, the figures of the episode's peak): a new id is
   * inserted, a known one updated, except that a row already closed is never reopened and an
   * older write (lower `ts`) never replaces a newer one, so batches may be retried in any order.
   */
  async upsertEpisodes(rows: readonly ArbitrageRecord[]): Promise<number> {
    if (rows.length === 0) return 0;
    const col = <T>(f: (r: ArbitrageRecord) => T) => rows.map(f);
    const detail = (r: ArbitrageRecord) =>
      JSON.stringify({
        ...(r.notional !== undefined ? { notional: r.notional } : {}),
        ...(r.buyFundingRate !== undefined ? { buyFundingRate: r.buyFundingRate } : {}),
        ...(r.sellFundingRate !== undefined ? { sellFundingRate: r.sellFundingRate } : {}),
        ...(r.fundingIntervalMs !== undefined ? { fundingIntervalMs: r.fundingIntervalMs } : {}),
      });
    const ms = (v: number | null | undefined) => (v === null || v === undefined ? null : String(v));
    const res = await this.sql`
      insert into ${this.sql(this.episodes)} as e (id, kind, symbol, buy_venue, sell_venue, started_at, ended_at, ts, peak_bps, avg_bps, net_bps, spread_bps, ask, bid, size, net_quote, quote, detail)
      select id, kind, symbol, buy_venue, sell_venue, timestamptz 'epoch' + started * interval '1 millisecond',
        timestamptz 'epoch' + ended * interval '1 millisecond', timestamptz 'epoch' + t * interval '1 millisecond',
        peak, avg, net, spread, ask, bid, size, net_quote, quote, detail
      from unnest(${col((r) => r.episodeId ?? r.id)}::text[], ${col((r) => r.kind ?? 'book')}::text[], ${col((r) => r.symbol)}::text[],
        ${col((r) => r.buyVenue)}::text[], ${col((r) => r.sellVenue)}::text[], ${col((r) => ms(r.startedAt ?? r.ts))}::text[]::bigint[],
        ${col((r) => ms(r.endedAt))}::text[]::bigint[], ${col((r) => String(r.ts))}::text[]::bigint[],
        ${col((r) => r.peakBps ?? r.netBps ?? r.spreadBps)}::text[]::numeric[], ${col((r) => r.avgBps ?? r.netBps ?? r.spreadBps)}::text[]::numeric[],
        ${col((r) => r.netBps ?? r.spreadBps)}::text[]::numeric[], ${col((r) => r.spreadBps)}::text[]::numeric[],
        ${col((r) => r.ask)}::text[]::numeric[], ${col((r) => r.bid)}::text[]::numeric[], ${col((r) => r.size ?? null)}::text[]::numeric[],
        ${col((r) => r.netQuote ?? null)}::text[]::numeric[], ${col((r) => r.quote ?? null)}::text[], ${col(detail)}::text[]::jsonb[])
        as x(id, kind, symbol, buy_venue, sell_venue, started, ended, t, peak, avg, net, spread, ask, bid, size, net_quote, quote, detail)
      on conflict (id) do update set
        ended_at = excluded.ended_at, ts = excluded.ts, peak_bps = excluded.peak_bps, avg_bps = excluded.avg_bps, net_bps = excluded.net_bps,
        spread_bps = excluded.spread_bps, ask = excluded.ask, bid = excluded.bid, size = excluded.size, net_quote = excluded.net_quote,
        quote = excluded.quote, detail = excluded.detail
      where e.ended_at is null and e.ts <= excluded.ts`;
    return res.count;
  }

  /**
   * Episodes and opportunities of `symbol` (or all) active at or after `since` (epoch ms: an
   * episode whose last event is at or after it, or still open), newest first by their last event.
   */
  async recent(q: { symbol?: string; since?: number; limit: number }): Promise<ArbitrageRecord[]> {
    const sql = this.sql;
    const since = q.since !== undefined ? new Date(q.since).toISOString() : null;
    const limit = Math.max(0, Math.floor(q.limit));
    const [episodes, old] = await Promise.all([
      sql<EpisodeRow[]>`
        select id, kind, symbol, buy_venue, sell_venue, (extract(epoch from started_at) * 1000)::float8 as started_at,
          (extract(epoch from ended_at) * 1000)::float8 as ended_at, (extract(epoch from ts) * 1000)::float8 as ts,
          peak_bps::text as peak_bps, avg_bps::text as avg_bps, net_bps::text as net_bps, spread_bps::text as spread_bps, ask::text as ask,
          bid::text as bid, size::text as size, net_quote::text as net_quote, quote, detail
        from ${sql(this.episodes)}
        where true
          ${q.symbol !== undefined ? sql`and symbol = ${q.symbol}` : sql``}
          ${since !== null ? sql`and (ts >= ${since}::timestamptz or ended_at is null)` : sql``}
        order by ts desc, id
        limit ${limit}`,
      sql<ArbRow[]>`
        select id, symbol, (extract(epoch from ts) * 1000)::float8 as ts, buy_venue, sell_venue, ask, bid, spread_bps
        from ${sql(this.table)}
        where true
          ${q.symbol !== undefined ? sql`and symbol = ${q.symbol}` : sql``}
          ${since !== null ? sql`and ts >= ${since}::timestamptz` : sql``}
        order by ts desc, id
        limit ${limit}`,
    ]);
    const all: ArbitrageRecord[] = [...episodes.map(episodeRecord), ...old.map(oldRecord)];
    all.sort((a, b) => b.ts - a.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return all.slice(0, limit);
  }

  /** Deletes opportunities and closed episodes older than the retention (TICKWORK_RETENTION_ARBITRAGE). Returns rows deleted. */
  async applyRetention(now: number): Promise<number> {
    if (this.retentionMs === null) return 0;
    const cut = new Date(now - this.retentionMs).toISOString();
    const a = await this.sql`delete from ${this.sql(this.table)} where ts < ${cut}::timestamptz`;
    const e = await this.sql`delete from ${this.sql(this.episodes)} where ended_at is not null and ts < ${cut}::timestamptz`;
    return a.count + e.count;
  }
}

function oldRecord(r: ArbRow): ArbitrageRecord {
  return { id: r.id, symbol: r.symbol, ts: r.ts, buyVenue: r.buy_venue, sellVenue: r.sell_venue, ask: r.ask, bid: r.bid, spreadBps: r.spread_bps };
}

/** A row as the API serves it: the old fields describe the episode's peak; `id` is the episode id. */
function episodeRecord(r: EpisodeRow): ArbitrageRecord {
  const d = r.detail;
  const out: ArbitrageRecord = {
    id: r.id,
    symbol: r.symbol,
    ts: r.ts,
    buyVenue: r.buy_venue,
    sellVenue: r.sell_venue,
    ask: r.ask,
    bid: r.bid,
    spreadBps: r.spread_bps,
    kind: r.kind,
    event: r.ended_at === null ? 'open' : 'close',
    episodeId: r.id,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    netBps: r.net_bps,
    peakBps: r.peak_bps,
    avgBps: r.avg_bps,
  };
  if (r.size !== null) out.size = r.size;
  if (r.net_quote !== null) out.netQuote = r.net_quote;
  if (r.quote !== null) out.quote = r.quote;
  if (typeof d.notional === 'string') out.notional = d.notional;
  if (typeof d.buyFundingRate === 'string') out.buyFundingRate = d.buyFundingRate;
  if (typeof d.sellFundingRate === 'string') out.sellFundingRate = d.sellFundingRate;
  if (typeof d.fundingIntervalMs === 'number') out.fundingIntervalMs = d.fundingIntervalMs;
  return out;
}
