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

/** The SQL adapter for arbitrage signals: batched insert-once, recent-first reads, retention. */
export class ArbitrageStore {
  private readonly table: string;
  private readonly retentionMs: number | null;

  constructor(
    private readonly sql: Sql,
    opts: { schema?: string; retentionMs?: number | null } = {},
  ) {
    this.table = opts.schema ? `${opts.schema}.arbitrage` : 'arbitrage';
    if (opts.retentionMs !== undefined) this.retentionMs = opts.retentionMs;
    else {
      const v = loadEnv(ArbitrageEnv).TICKWORK_RETENTION_ARBITRAGE;
      this.retentionMs = v === 'forever' ? null : Number(v.slice(0, -1)) * UNIT_MS[v.slice(-1)]!;
    }
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

  /** Opportunities with ts >= `since` (epoch ms), optionally for one symbol, newest first. */
  async recent(q: { symbol?: string; since?: number; limit: number }): Promise<ArbitrageRecord[]> {
    const sql = this.sql;
    const rows = await sql<ArbRow[]>`
      select id, symbol, (extract(epoch from ts) * 1000)::float8 as ts, buy_venue, sell_venue, ask, bid, spread_bps
      from ${sql(this.table)}
      where true
        ${q.symbol !== undefined ? sql`and symbol = ${q.symbol}` : sql``}
        ${q.since !== undefined ? sql`and ts >= ${new Date(q.since).toISOString()}::timestamptz` : sql``}
      order by ts desc, id
      limit ${Math.max(0, Math.floor(q.limit))}`;
    return rows.map((r) => ({
      id: r.id,
      symbol: r.symbol,
      ts: r.ts,
      buyVenue: r.buy_venue,
      sellVenue: r.sell_venue,
      ask: r.ask,
      bid: r.bid,
      spreadBps: r.spread_bps,
    }));
  }

  /** Deletes opportunities older than the retention (TICKWORK_RETENTION_ARBITRAGE). Returns rows deleted. */
  async applyRetention(now: number): Promise<number> {
    if (this.retentionMs === null) return 0;
    const res = await this.sql`delete from ${this.sql(this.table)} where ts < ${new Date(now - this.retentionMs).toISOString()}::timestamptz`;
    return res.count;
  }
}
