import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArbitrageRecord } from '../../schemas/arbitrage.js';
import { ArbitrageStore } from '../../store/arbitrage.js';
import { migrate } from '../../store/migrate.js';
import { isolated } from '../harness.js';

// Real PostgreSQL at DATABASE_URL, own schema tw_<id>.
const iso = isolated();
const T = Date.UTC(2030, 0, 1, 12);
let store: ArbitrageStore;

const episode = (ts: number, over: Partial<ArbitrageRecord> = {}): ArbitrageRecord => ({
  id: `BTC-USDT:binance:okx:${T}`,
  symbol: 'BTC-USDT',
  ts,
  buyVenue: 'binance',
  sellVenue: 'okx',
  ask: '100.0',
  bid: '100.5',
  spreadBps: '50.0000',
  kind: 'book',
  event: 'open',
  episodeId: `BTC-USDT:binance:okx:${T}`,
  startedAt: T,
  endedAt: null,
  netBps: '29.9201',
  peakBps: '29.9201',
  avgBps: '29.9201',
  size: '1.5',
  netQuote: '0.44925',
  notional: '150',
  quote: 'USDT',
  ...over,
});

beforeAll(async () => {
  await migrate(iso.sql(), iso.ns.pgSchema, { now: T });
  store = new ArbitrageStore(iso.sql(), { schema: iso.ns.pgSchema, retentionMs: 3_600_000 });
});
afterAll(() => iso.cleanup());

describe('ArbitrageStore episodes (PostgreSQL arbitrage_episodes)', () => {
  it('one row per episode, updated while open; an older state never replaces a newer one; a closed one is never reopened', async () => {
    expect(await store.upsertEpisodes([episode(T + 500)])).toBe(1);
    expect(await store.upsertEpisodes([episode(T + 2000, { peakBps: '31.0000', avgBps: '30.1000', size: '2' })])).toBe(1);
    expect(await store.upsertEpisodes([episode(T + 1000, { peakBps: '1' })])).toBe(0); // a retried older batch
    expect(await store.upsertEpisodes([episode(T + 3000, { event: 'close', endedAt: T + 3000, peakBps: '31.0000', avgBps: '29.5', size: '2' })])).toBe(1);
    expect(await store.upsertEpisodes([episode(T + 4000, { event: 'open', endedAt: null })])).toBe(0);
    const rows = await store.recent({ symbol: 'BTC-USDT', limit: 10 });
    expect(rows).toEqual([
      episode(T + 3000, { id: `BTC-USDT:binance:okx:${T}`, event: 'close', endedAt: T + 3000, peakBps: '31.0000', avgBps: '29.5', size: '2' }),
    ]);
  });

  it('funding episodes keep their rates; recent mixes episodes and older opportunities newest first; since keeps open episodes', async () => {
    const f = episode(T + 100, {
      id: `ETH-USDT-PERP:binance-futures:okx:funding:${T}`,
      episodeId: `ETH-USDT-PERP:binance-futures:okx:funding:${T}`,
      symbol: 'ETH-USDT-PERP',
      kind: 'funding',
      buyVenue: 'binance-futures',
      ask: '1600',
      bid: '1600.5',
      spreadBps: '2.0000',
      netBps: '2.0000',
      peakBps: '2.0000',
      avgBps: '2.0000',
      buyFundingRate: '0.0001',
      sellFundingRate: '0.0003',
      fundingIntervalMs: 28_800_000,
    });
    delete f.size;
    delete f.netQuote;
    delete f.notional;
    await store.upsertEpisodes([f]);
    const old: ArbitrageRecord = { id: 'old-1', symbol: 'ETH-USDT-PERP', ts: T + 50, buyVenue: 'bybit', sellVenue: 'okx', ask: '1', bid: '2', spreadBps: '3' };
    await store.insert([old]);
    expect(await store.recent({ symbol: 'ETH-USDT-PERP', limit: 10 })).toEqual([f, old]);
    expect((await store.recent({ symbol: 'ETH-USDT-PERP', since: T + 10_000, limit: 10 })).map((r) => r.id)).toEqual([f.id]); // still open
  });

  it('retention drops closed episodes older than it, never open ones', async () => {
    const closedOld = episode(T - 2 * 3_600_000, { id: 'x:a:b:1', episodeId: 'x:a:b:1', symbol: 'SOL-USDT', event: 'close', endedAt: T - 2 * 3_600_000 });
    const openOld = episode(T - 2 * 3_600_000, { id: 'x:a:b:2', episodeId: 'x:a:b:2', symbol: 'SOL-USDT' });
    await store.upsertEpisodes([closedOld, openOld]);
    expect(await store.applyRetention(T)).toBe(1);
    expect((await store.recent({ symbol: 'SOL-USDT', limit: 10 })).map((r) => r.id)).toEqual(['x:a:b:2']);
  });
});
