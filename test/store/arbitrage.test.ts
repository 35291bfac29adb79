import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArbitrageStore, type ArbitrageRecord } from '../../store/arbitrage.js';
import { migrate } from '../../store/migrate.js';
import { isolated } from '../harness.js';

// Real PostgreSQL at DATABASE_URL, own schema tw_<id>.
const iso = isolated();
const schema = iso.ns.pgSchema;
const T = Date.UTC(2030, 0, 1, 12);
let store: ArbitrageStore;

const rec = (i: number, symbol = 'BTC-USDT'): ArbitrageRecord => ({
  id: `${symbol}:${T + i * 1000}:binance:okx`,
  symbol,
  ts: T + i * 1000,
  buyVenue: 'binance',
  sellVenue: 'okx',
  ask: '65000.10',
  bid: `65010.${String(i).padStart(2, '0')}`,
  spreadBps: '1.5384',
});

beforeAll(async () => {
  await migrate(iso.sql(), schema, { now: T });
  store = new ArbitrageStore(iso.sql(), { schema, retentionMs: 3_600_000 });
});
afterAll(() => iso.cleanup());

describe('ArbitrageStore (PostgreSQL)', () => {
  it('stores each opportunity once and reads recent ones newest first, by symbol and since', async () => {
    const batch = [0, 1, 2, 3].map((i) => rec(i));
    expect(await store.insert(batch)).toBe(4);
    expect(await store.insert([...batch, rec(4)])).toBe(1); // redelivery: only the new one
    await store.insert([rec(0, 'ETH-USDT')]);
    const recent = await store.recent({ symbol: 'BTC-USDT', since: T + 2000, limit: 10 });
    expect(recent).toEqual([rec(4), rec(3), rec(2)]);
    expect(await store.recent({ limit: 2 })).toEqual([rec(4), rec(3)]);
    expect((await store.recent({ symbol: 'ETH-USDT', limit: 10 })).map((r) => r.symbol)).toEqual(['ETH-USDT']);
  });

  it('retention deletes only opportunities older than the retention', async () => {
    const old = { ...rec(0, 'SOL-USDT'), id: 'old', ts: T - 2 * 3_600_000 };
    await store.insert([old, rec(1, 'SOL-USDT')]);
    expect(await store.applyRetention(T)).toBe(1);
    expect((await store.recent({ symbol: 'SOL-USDT', limit: 10 })).map((r) => r.id)).toEqual([rec(1, 'SOL-USDT').id]);
  });
});
