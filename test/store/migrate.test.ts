import { afterAll, describe, expect, it } from 'vitest';
import { connectPg } from '../../runtime/pg.js';
import { appliedMigrations, knownMigrations, migrate } from '../../store/migrate.js';
import { isolated, spawnCli } from '../harness.js';

// Real PostgreSQL at DATABASE_URL; this file works in its own schema tw_<id>, dropped at the end.
const iso = isolated();
const schema = iso.ns.pgSchema;
const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

afterAll(() => iso.cleanup());

describe('migrate (PostgreSQL)', () => {
  it('applies every migration once into the namespace schema, and is a no-op the second time', async () => {
    const sql = iso.sql();
    const first = await migrate(sql, schema);
    // Every folder of migrations/, in order, without gaps.
    const known = knownMigrations();
    expect(known.map((m) => m.id)).toEqual(known.map((_, i) => i + 1));
    expect(known.slice(0, 3).map((m) => m.name)).toEqual(['candles', 'arbitrage', 'candle_revision']);
    expect(first.applied).toEqual(known);
    const second = await migrate(sql, schema);
    expect(second.applied).toEqual([]);
    expect((await appliedMigrations(sql, schema)).map((m) => m.name)).toEqual(known.map((m) => m.name));

    const tables = await sql<{ relname: string }[]>`
      select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ${schema} and c.relname in ('candles', 'candles_1s_default', 'candles_other', 'symbols', 'arbitrage', 'migrations')
      order by 1`;
    expect(tables.map((t) => t.relname)).toEqual(['arbitrage', 'candles', 'candles_1s_default', 'candles_other', 'migrations', 'symbols']);
    // Partitions for now exist right after migrating.
    const today = new Date().toISOString().slice(0, 10).replaceAll('-', '');
    const [p] = await sql`select to_regclass(${`${schema}.candles_1s_${today}`}) is not null as ok`;
    expect(p?.ok).toBe(true);
  });

  it('is safe to run concurrently from two connections on a fresh schema', async () => {
    const fresh = `${schema}_c`;
    const a = connectPg(url, { schema: fresh, max: 1 });
    const b = connectPg(url, { schema: fresh, max: 1 });
    try {
      const [ra, rb] = await Promise.all([migrate(a, fresh), migrate(b, fresh)]);
      // Exactly one of them applied the migrations; the other waited on the lock and found none.
      const n = knownMigrations().length;
      expect([ra.applied.length, rb.applied.length].sort()).toEqual([0, n]);
      expect(await appliedMigrations(a, fresh)).toHaveLength(n);
    } finally {
      await a.unsafe(`drop schema if exists "${fresh}" cascade`);
      await Promise.all([a.end({ timeout: 5 }), b.end({ timeout: 5 })]);
    }
  });

  it('`tickwork migrate` prints what it applied and exits 0; a bad DATABASE_URL gives one line and exit 1', async () => {
    const ns = `${iso.id}_cli`;
    const env = { ...iso.env, TICKWORK_NAMESPACE: ns };
    try {
      const run = spawnCli(['migrate'], env);
      expect(await run.exited).toBe(0);
      expect(run.output()).toMatch(/applied 00001 candles/);
      expect(run.output()).toMatch(/applied 00002 arbitrage/);
      const again = spawnCli(['migrate'], env);
      expect(await again.exited).toBe(0);
      expect(again.output()).toMatch(/up to date/);

      const bad = spawnCli(['migrate'], { ...env, DATABASE_URL: 'postgres://postgres@nonexistent-host.invalid:5432/postgres' });
      expect(await bad.exited).toBe(1);
      const lines = bad.output().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^tickwork: migrate failed on postgresql:\/\/nonexistent-host\.invalid:5432\/postgres: .*ENOTFOUND/);
    } finally {
      const sql = iso.sql();
      await sql.unsafe(`drop schema if exists "tw_${ns}" cascade`);
    }
  });
});
