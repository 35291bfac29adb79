// Sink start-up as the runtime PostgreSQL role (no DDL rights), on real NATS and PostgreSQL.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgRoleNames, pgRolesSql } from '../../../app/pg-roles.js';
import { prepareSchema } from '../../../app/migrate.js';
import { startSink } from '../../../app/sink.js';
import { ensureMarketStreams, loadStreamsConfig } from '../../../app/streams.js';
import { connectPg, type Sql } from '../../../runtime/pg.js';
import { startProcess, type ProcessContext } from '../../../runtime/process.js';
import { loadStoreSettings } from '../../../store/candles.js';
import { isolated } from '../../harness.js';
import { until } from '../../support/nats-server.js';

const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const iso = isolated();
const names = pgRoleNames(iso.ns);
const passwords = { owner: `o-${randomBytes(8).toString('hex')}`, runtime: `r-${randomBytes(8).toString('hex')}` };
const urlAs = (user: string, password: string): string => {
  const u = new URL(base);
  u.username = user;
  u.password = password;
  return u.toString();
};
let admin: Sql;
const contexts: ProcessContext[] = [];

/** A sink process context as the runtime role, its log lines collected. */
async function runtimeContext(): Promise<{ ctx: ProcessContext; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) });
  const env = { ...iso.env, DATABASE_URL: urlAs(names.runtime, passwords.runtime) };
  const ctx = await startProcess({ role: 'sink-test', needs: ['nats', 'pg'], env, httpPort: 0, installSignalHandlers: false, log: pino({ level: 'info' }, sink) });
  contexts.push(ctx);
  await ensureMarketStreams(ctx.nats!.jsm, ctx.ns, loadStreamsConfig(env));
  return { ctx, lines };
}

beforeAll(async () => {
  admin = connectPg(base, { max: 1, name: 'sink-start-test-admin' });
  const database = new URL(base).pathname.slice(1) || 'postgres';
  await admin.unsafe(pgRolesSql(iso.ns, { database, ownerPassword: passwords.owner, runtimePassword: passwords.runtime })).simple();
});

afterAll(async () => {
  for (const ctx of contexts) await ctx.lifecycle.shutdown().catch(() => undefined);
  await iso.cleanup();
  for (const r of [names.runtime, names.owner]) {
    await admin.unsafe(`drop owned by "${r}"`).catch(() => undefined);
    await admin.unsafe(`drop role if exists "${r}"`);
  }
  await admin.end({ timeout: 5 });
});

describe('sink start as the runtime role (no DDL)', () => {
  it('refuses an unmigrated schema with one line naming the migrations and `tickwork migrate`', async () => {
    const { ctx } = await runtimeContext();
    const err = await startSink(ctx, loadStoreSettings({})).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(new RegExp(`^PostgreSQL schema ${iso.ns.pgSchema} lacks migration 00001_candles, 00002_arbitrage, 00003_candle_revision.*: run \`tickwork migrate\``));
    expect(err?.message).not.toContain('\n');
  });

  it('starts on a schema the owner migrated, says once that partitions ahead are missing, and writes candles', async () => {
    const owner = connectPg(urlAs(names.owner, passwords.owner), { schema: iso.ns.pgSchema, max: 1 });
    await prepareSchema(owner, iso.ns.pgSchema, loadStoreSettings({}));
    await owner.end({ timeout: 5 });
    const { ctx, lines } = await runtimeContext();
    // The sink expects 60 days of partitions; the owner made 7.
    const sink = await startSink(ctx, loadStoreSettings({ TICKWORK_PARTITIONS_AHEAD_DAYS: '60' }));
    expect(sink).toBeDefined();
    const warned = lines.filter((l) => String(l.msg).includes('partitions ahead are missing'));
    expect(warned).toHaveLength(1);
    expect(String(warned[0]!.msg)).toContain('tickwork migrate');
    // No DDL happened: the runtime role created nothing (the owner's 7 days are all there is).
    const [n] = await admin<{ n: number }[]>`
      select count(*)::int as n from pg_class c join pg_namespace s on s.oid = c.relnamespace
      where s.nspname = ${iso.ns.pgSchema} and c.relname like 'candles\\_%' and pg_get_userbyid(c.relowner) = ${names.runtime}`;
    expect(n?.n).toBe(0);
    // And it writes, as that role.
    const T = Date.UTC(2030, 0, 1);
    const c = { venue: 'binance', symbol: 'RT-USDT', tf: '1m', openTime: T, closeTime: T + 59_999, open: '2', high: '2', low: '2', close: '2',
      volume: '1', quoteVolume: '2', vwap: '2.0000', trades: 1, buyVolume: '1', firstTradeId: '1', lastTradeId: '1', closed: true };
    await ctx.nats!.js.publish(ctx.ns.subject('md.candle.1m.binance.RT-USDT'), JSON.stringify(c), { msgID: 'rt-1' });
    await until('the candle written by the runtime role', async () => {
      const [r] = await admin.unsafe<{ n: number }[]>(`select count(*)::int as n from "${iso.ns.pgSchema}".candles where symbol = 'RT-USDT'`);
      return r?.n === 1;
    });
  });
});
