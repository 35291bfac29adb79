import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FundingRate } from '../../schemas/deriv.js';
import { FundingStore } from '../../store/funding.js';
import { migrate } from '../../store/migrate.js';
import { isolated } from '../harness.js';

// Real PostgreSQL at DATABASE_URL, own schema tw_<id>.
const iso = isolated();
const T = Date.UTC(2030, 0, 1, 8);
const H8 = 8 * 3_600_000;
let store: FundingStore;

const rate = (venue: string, i: number, r: string, symbol = 'BTC-USDT-PERP'): FundingRate => ({ venue, symbol, fundingTime: T + i * H8, fundingRate: r, fundingIntervalMs: H8 });

beforeAll(async () => {
  await migrate(iso.sql(), iso.ns.pgSchema, { now: T });
  store = new FundingStore(iso.sql(), { schema: iso.ns.pgSchema });
});
afterAll(() => iso.cleanup());

describe('FundingStore (PostgreSQL funding_rates)', () => {
  it('one row per venue, symbol and settlement: the same settlement again changes nothing, even with another rate', async () => {
    expect(await store.insert([rate('binance-futures', 0, '0.00010000'), rate('okx', 0, '-0.0000315'), rate('binance-futures', 1, '0.0001')])).toBe(3);
    expect(await store.insert([rate('binance-futures', 0, '0.9'), rate('binance-futures', 2, '0.00012')])).toBe(1);
    const all = await store.recent({ symbol: 'BTC-USDT-PERP', limit: 10 });
    expect(all.map((r) => [r.venue, r.fundingTime - T, r.fundingRate])).toEqual([
      ['binance-futures', 2 * H8, '0.00012'],
      ['binance-futures', H8, '0.0001'],
      ['binance-futures', 0, '0.00010000'], // the first report stands; the text as sent (scale kept)
      ['okx', 0, '-0.0000315'],
    ]);
    expect(all[0]!.fundingIntervalMs).toBe(H8);
  });

  it('filters by venue and since; a null interval round-trips', async () => {
    await store.insert([{ ...rate('bybit', 0, '0.0001', 'ETH-USDT-PERP'), fundingIntervalMs: null }, rate('bybit', 1, '0.0002', 'ETH-USDT-PERP')]);
    expect((await store.recent({ symbol: 'ETH-USDT-PERP', since: T + 1, limit: 10 })).map((r) => r.fundingRate)).toEqual(['0.0002']);
    expect((await store.recent({ symbol: 'BTC-USDT-PERP', venue: 'okx', limit: 10 })).map((r) => r.venue)).toEqual(['okx']);
    expect((await store.recent({ symbol: 'ETH-USDT-PERP', limit: 1 })).length).toBe(1);
    expect((await store.recent({ symbol: 'ETH-USDT-PERP', limit: 10 })).at(-1)!.fundingIntervalMs).toBeNull();
  });
});
