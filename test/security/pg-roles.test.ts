import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgRoleNames, pgRolesSql } from '../../app/pg-roles.js';
import { Namespace } from '../../runtime/namespace.js';
import { connectPg, type Sql } from '../../runtime/pg.js';
import type { Candle } from '../../schemas/candle.js';
import { ArbitrageStore } from '../../store/arbitrage.js';
import { CandleStore } from '../../store/candles.js';
import { migrate } from '../../store/migrate.js';

/**
 * The generated roles on the real PostgreSQL (unique names, dropped afterwards): the owner runs
 * the migrations; the runtime role reads and writes rows and is refused every DDL statement.
 */
const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ns = new Namespace(`s${randomBytes(4).toString('hex')}`);
const schema = ns.pgSchema;
const names = pgRoleNames(ns);
const NOW = Date.UTC(2030, 4, 15, 12, 0, 0);
const passwords = { owner: `o-${randomBytes(8).toString('hex')}`, runtime: `r-${randomBytes(8).toString('hex')}` };

let admin: Sql;
let owner: Sql;
let app: Sql;

const as = (user: string, password: string): Sql => {
  const u = new URL(base);
  u.username = user;
  u.password = password;
  return connectPg(u.toString(), { schema, max: 1, name: `pg-roles-test-${user}` });
};

function candle(openTime: number, trades = 3): Candle {
  return {
    venue: 'binance',
    symbol: 'BTC-USDT',
    tf: '1m',
    openTime,
    closeTime: openTime + 59_999,
    open: '100.10',
    high: '101.00',
    low: '99.5',
    close: '100.25',
    volume: '2.5',
    quoteVolume: '250.625',
    vwap: '100.25',
    trades,
    buyVolume: '1.25',
    firstTradeId: '1',
    lastTradeId: String(trades),
    closed: true,
  };
}

beforeAll(async () => {
  admin = connectPg(base, { max: 1, name: 'pg-roles-test-admin' });
  const database = new URL(base).pathname.slice(1) || 'postgres';
  const sql = pgRolesSql(ns, { database, ownerPassword: passwords.owner, runtimePassword: passwords.runtime });
  await admin.unsafe(sql).simple();
  // Idempotent: a second run (password rotation) changes nothing else.
  await admin.unsafe(sql).simple();
  owner = as(names.owner, passwords.owner);
  app = as(names.runtime, passwords.runtime);
  await migrate(owner, schema, { now: NOW });
});

afterAll(async () => {
  await Promise.all([owner?.end({ timeout: 5 }), app?.end({ timeout: 5 })]);
  await admin.unsafe(`drop schema if exists "${schema}" cascade`);
  for (const r of [names.runtime, names.owner]) {
    await admin.unsafe(`drop owned by "${r}"`).catch(() => undefined);
    await admin.unsafe(`drop role if exists "${r}"`);
  }
  await admin.end({ timeout: 5 });
});

describe('PostgreSQL roles (real PostgreSQL)', () => {
  it('the owner owns the schema and the tables the migrations created', async () => {
    const rows = await admin<{ owner: string }[]>`
      select tableowner as owner from pg_tables where schemaname = ${schema} and tablename in ('candles', 'symbols', 'arbitrage')`;
    expect(rows.map((r) => r.owner)).toEqual([names.owner, names.owner, names.owner]);
    const [s] = await admin<{ owner: string }[]>`select nspowner::regrole::text as owner from pg_namespace where nspname = ${schema}`;
    expect(s?.owner).toBe(names.owner);
  });

  it('the runtime role inserts, selects and updates candles (the sink upsert) and arbitrage rows', async () => {
    const store = new CandleStore(app, { schema });
    await store.upsert([candle(NOW)]);
    await store.upsert([candle(NOW, 5)]); // a correction: UPDATE
    const [c] = await store.query({ venue: 'binance', symbol: 'BTC-USDT', tf: '1m', from: NOW, to: NOW, limit: 1 });
    expect(c?.trades).toBe(5);
    const arb = new ArbitrageStore(app, { schema, retentionMs: null });
    expect(await arb.insert([{ id: 'a1', symbol: 'BTC-USDT', ts: NOW, buyVenue: 'binance', sellVenue: 'okx', ask: '1', bid: '2', spreadBps: '10' } as never])).toBe(1);
  });

  it('a partition the owner adds later is writable by the runtime role (default privileges)', async () => {
    const later = NOW + 200 * 86_400_000;
    const created = await new CandleStore(owner, { schema }).ensurePartitions(later, later);
    expect(created.length).toBeGreaterThan(0);
    await new CandleStore(app, { schema }).upsert([candle(later)]);
    const [r] = await admin.unsafe<{ n: number }[]>(`select count(*)::int as n from "${schema}".candles where open_time = to_timestamp(${later / 1000})`);
    expect(r?.n).toBe(1);
  });

  it.each([
    ['CREATE TABLE in its schema', `create table "${schema}".x (a int)`, /permission denied/],
    ['CREATE TABLE in public', 'create table public.tickwork_x (a int)', /permission denied/],
    ['CREATE SCHEMA', `create schema "${schema}_x"`, /permission denied/],
    ['DROP TABLE', `drop table "${schema}".candles`, /must be owner/],
    ['ALTER TABLE', `alter table "${schema}".candles add column x int`, /must be owner/],
    ['CREATE INDEX', `create index on "${schema}".symbols (venue)`, /must be owner/],
    ['TRUNCATE', `truncate "${schema}".arbitrage`, /permission denied/],
    ['DELETE', `delete from "${schema}".candles`, /permission denied/],
    ['CREATE FUNCTION in its schema', `create function "${schema}".f() returns int language sql as 'select 1'`, /permission denied/],
  ])('the runtime role is refused %s', async (_what, statement, error) => {
    await expect(app.unsafe(statement)).rejects.toThrow(error);
  });

  it('the runtime role cannot run the migrations or create partitions', async () => {
    await expect(migrate(app, schema, { now: NOW })).rejects.toThrow(/permission denied|must be owner/);
    await expect(new CandleStore(app, { schema }).ensurePartitions(NOW + 400 * 86_400_000, NOW + 400 * 86_400_000)).rejects.toThrow(/permission denied|must be owner/);
  });
});
