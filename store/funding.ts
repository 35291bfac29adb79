import type { Sql } from '../runtime/pg.js';
import type { FundingRate } from '../schemas/deriv.js';

interface FundingRow {
  venue: string;
  symbol: string;
  funding_time: number;
  funding_rate: string;
  interval_ms: string | null;
}

/**
 * The SQL adapter for settled funding rates (`funding_rates`, migration 00004): one row per venue,
 * symbol and settlement time, inserted once, so the same settlement reported again (a restarted
 * writer redelivered its messages, a second feed replica) changes nothing.
 */
export class FundingStore {
  private readonly table: string;

  constructor(
    private readonly sql: Sql,
    opts: { schema?: string } = {},
  ) {
    this.table = opts.schema ? `${opts.schema}.funding_rates` : 'funding_rates';
  }

  /** Inserts the rows not stored yet, in one statement; returns how many were new. */
  async insert(rates: readonly FundingRate[]): Promise<number> {
    if (rates.length === 0) return 0;
    const col = (f: (r: FundingRate) => string | number | null) => rates.map((r) => f(r));
    const res = await this.sql`
      insert into ${this.sql(this.table)} (venue, symbol, funding_time, funding_rate, interval_ms)
      select venue, symbol, timestamptz 'epoch' + t * interval '1 millisecond', rate, iv
      from unnest(${col((r) => r.venue) as string[]}::text[], ${col((r) => r.symbol) as string[]}::text[],
        ${col((r) => String(r.fundingTime)) as string[]}::text[]::bigint[], ${col((r) => r.fundingRate) as string[]}::text[]::numeric[],
        ${col((r) => (r.fundingIntervalMs === null ? null : String(r.fundingIntervalMs))) as string[]}::text[]::bigint[])
        as x(venue, symbol, t, rate, iv)
      on conflict (venue, symbol, funding_time) do nothing`;
    return res.count;
  }

  /** Settlements of `symbol` (optionally one venue) at or after `since`, newest first. */
  async recent(q: { symbol: string; venue?: string; since?: number; limit: number }): Promise<FundingRate[]> {
    const sql = this.sql;
    const rows = await sql<FundingRow[]>`
      select venue, symbol, (extract(epoch from funding_time) * 1000)::float8 as funding_time, funding_rate::text as funding_rate, interval_ms::text as interval_ms
      from ${sql(this.table)}
      where symbol = ${q.symbol}
        ${q.venue !== undefined ? sql`and venue = ${q.venue}` : sql``}
        ${q.since !== undefined ? sql`and funding_time >= ${new Date(q.since).toISOString()}::timestamptz` : sql``}
      order by funding_time desc, venue
      limit ${Math.max(0, Math.floor(q.limit))}`;
    return rows.map((r) => ({
      venue: r.venue,
      symbol: r.symbol,
      fundingTime: r.funding_time,
      fundingRate: r.funding_rate,
      fundingIntervalMs: r.interval_ms === null ? null : Number(r.interval_ms),
    }));
  }
}
