import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Candle } from '../../schemas/candle.js';
import { TF_MS, type Tf } from '../../schemas/common.js';
import { CandleStore } from '../../store/candles.js';
import { migrate } from '../../store/migrate.js';
import { partitionName } from '../../store/partitions.js';
import { isolated } from '../harness.js';

// Real PostgreSQL at DATABASE_URL, in this file's own schema tw_<id> (dropped at the end).
const iso = isolated();
const schema = iso.ns.pgSchema;
const NOW = Date.UTC(2030, 4, 15, 12, 0, 0); // fixed clock: partitions and retention are deterministic
const DAY = 86_400_000;
let store: CandleStore;

const opts = { schema, storedTfs: ['1s', '1m', '5m', '15m', '1h', '4h', '1d'] as Tf[], retentionMs: { '1s': 2 * DAY, '1m': 30 * DAY }, partitionsAheadMs: 7 * DAY };

function candle(over: Partial<Candle> & { openTime: number }): Candle {
  const tf = (over.tf ?? '1m') as Tf;
  return {
    venue: 'binance',
    symbol: 'BTC-USDT',
    tf,
    closeTime: over.openTime + TF_MS[tf] - 1,
    open: '100.10',
    high: '101.00',
    low: '99.5',
    close: '100.25',
    volume: '2.50000000',
    quoteVolume: '250.625',
    vwap: '100.2500000',
    trades: 3,
    buyVolume: '1.25',
    firstTradeId: '1',
    lastTradeId: '3',
    closed: true,
    ...over,
  };
}

async function rowCount(where = 'true'): Promise<number> {
  const [r] = await iso.sql().unsafe<{ n: number }[]>(`select count(*)::int as n from "${schema}".candles where ${where}`);
  return r!.n;
}

beforeAll(async () => {
  await migrate(iso.sql(), schema, { now: NOW });
  store = new CandleStore(iso.sql(), opts);
});
afterAll(() => iso.cleanup());

describe('CandleStore.upsert (PostgreSQL)', () => {
  const t0 = NOW - 10 * 60_000;

  it('round-trips every Candle field exactly, decimal strings as given', async () => {
    const c = candle({ symbol: 'RT-USDT', openTime: t0, firstTradeId: null, lastTradeId: null, trades: 0, closed: false });
    await store.upsert([c]);
    expect(await store.query({ venue: 'binance', symbol: 'RT-USDT', tf: '1m', limit: 10 })).toEqual([c]);
  });

  it('is idempotent: the same batch twice leaves the same rows', async () => {
    const batch = [0, 1, 2].map((i) => candle({ symbol: 'ID-USDT', openTime: t0 + i * 60_000, trades: 3 + i }));
    await store.upsert(batch);
    await store.upsert(batch);
    await store.upsert([...batch, ...batch]); // duplicates inside one batch too
    expect(await rowCount(`symbol = 'ID-USDT'`)).toBe(3);
    expect(await store.query({ venue: 'binance', symbol: 'ID-USDT', tf: '1m', limit: 10 })).toEqual(batch);
  });

  it('a correction (same id, more trades) overwrites; an older re-delivery does not undo it', async () => {
    const original = candle({ symbol: 'CO-USDT', openTime: t0, trades: 3, volume: '2.5', high: '101' });
    const correction = candle({ symbol: 'CO-USDT', openTime: t0, trades: 4, volume: '3.1', high: '102.5', lastTradeId: '9' });
    await store.upsert([original]);
    await store.upsert([correction]);
    await store.upsert([original]); // stale redelivery after the correction
    expect(await store.query({ venue: 'binance', symbol: 'CO-USDT', tf: '1m', limit: 10 })).toEqual([correction]);
    // Within one batch, too: the newest version wins whatever the order.
    await store.upsert([candle({ symbol: 'CO-USDT', openTime: t0 + 60_000, trades: 7 }), candle({ symbol: 'CO-USDT', openTime: t0 + 60_000, trades: 5 })]);
    const [, second] = await store.query({ venue: 'binance', symbol: 'CO-USDT', tf: '1m', limit: 10 });
    expect(second?.trades).toBe(7);
  });

  it('revisions order versions before trades: a forged 1e9-trade version replaces no revised row and blocks none, in a batch or across calls', async () => {
    const real = { ...candle({ symbol: 'RV-USDT', openTime: t0 }), revision: 40 };
    const forged = candle({ symbol: 'RV-USDT', openTime: t0, trades: 1e9, lastTradeId: '999' }); // no revision: 0
    // Real first, forged later (and at the real one's revision, but fewer trades than a later correction).
    await store.upsert([real]);
    expect(await store.upsert([forged])).toBe(0);
    // Forged first, real later.
    await store.upsert([{ ...forged, openTime: t0 + 60_000, closeTime: t0 + 120_000 - 1 }]);
    await store.upsert([{ ...real, openTime: t0 + 60_000, closeTime: t0 + 120_000 - 1 }]);
    // Both in one batch, either order.
    await store.upsert([{ ...forged, openTime: t0 + 120_000, closeTime: t0 + 180_000 - 1 }, { ...real, openTime: t0 + 120_000, closeTime: t0 + 180_000 - 1 }]);
    await store.upsert([{ ...real, openTime: t0 + 180_000, closeTime: t0 + 240_000 - 1 }, { ...forged, openTime: t0 + 180_000, closeTime: t0 + 240_000 - 1 }]);
    const rows = await store.query({ venue: 'binance', symbol: 'RV-USDT', tf: '1m', limit: 10 });
    expect(rows.map((r) => r.trades)).toEqual([3, 3, 3, 3]);
    // A correction carries a higher revision and wins even with fewer trades than the stored version; an older revision never does.
    const correction = { ...real, trades: 2, lastTradeId: '2', revision: 41 };
    expect(await store.upsert([correction])).toBe(1);
    expect(await store.upsert([{ ...real, trades: 50, revision: 40 }])).toBe(0);
    const [first] = await store.query({ venue: 'binance', symbol: 'RV-USDT', tf: '1m', limit: 1 });
    expect(first?.trades).toBe(2);
    const [r] = await iso.sql().unsafe<{ revision: string }[]>(`select revision::text from "${schema}".candles where symbol = 'RV-USDT' order by open_time limit 1`);
    expect(r?.revision).toBe('41');
  });

  it('the open candle becoming closed (same trades) is written; closed is never reopened', async () => {
    const open = candle({ symbol: 'OC-USDT', openTime: t0, closed: false });
    await store.upsert([open]);
    await store.upsert([{ ...open, closed: true }]);
    await store.upsert([open]);
    const [row] = await store.query({ venue: 'binance', symbol: 'OC-USDT', tf: '1m', limit: 1 });
    expect(row?.closed).toBe(true);
  });

  it('writes a batch of 5,000 candles in one call, and reports throughput for 10,000', async () => {
    const base = NOW - 5 * DAY;
    const batch = Array.from({ length: 5000 }, (_, i) => candle({ symbol: `B${i % 50}-USDT`, openTime: base + Math.floor(i / 50) * 60_000 }));
    await store.upsert(batch);
    expect(await rowCount(`symbol like 'B%-USDT' and tf = '1m'`)).toBe(5000);

    const tenK = Array.from({ length: 10_000 }, (_, i) =>
      candle({ symbol: `T${i % 100}-USDT`, tf: '1s', openTime: NOW - DAY + Math.floor(i / 100) * 1000, trades: 1 + (i % 7) }),
    );
    const started = performance.now();
    await store.upsert(tenK);
    const insertMs = performance.now() - started;
    const again = performance.now();
    await store.upsert(tenK.map((c) => ({ ...c, trades: c.trades + 1 })));
    const updateMs = performance.now() - again;
    expect(await rowCount(`symbol like 'T%-USDT' and tf = '1s'`)).toBe(10_000);
    console.log(
      `upsert throughput: insert ${Math.round(10_000 / (insertMs / 1000))} rows/s (${insertMs.toFixed(0)} ms), ` +
        `update ${Math.round(10_000 / (updateMs / 1000))} rows/s (${updateMs.toFixed(0)} ms)`,
    );
  });

  it('drops candles of timeframes that are not stored (they are derived on read)', async () => {
    const hybrid = new CandleStore(iso.sql(), { ...opts, storedTfs: ['1m'] });
    await hybrid.upsert([candle({ symbol: 'NS-USDT', tf: '5m', openTime: t0 }), candle({ symbol: 'NS-USDT', tf: '1m', openTime: t0 })]);
    expect(await rowCount(`symbol = 'NS-USDT' and tf = '5m'`)).toBe(0);
    expect(await rowCount(`symbol = 'NS-USDT' and tf = '1m'`)).toBe(1);
  });

  it('knownSymbols lists the venue/symbol pairs written', async () => {
    const known = await store.knownSymbols();
    expect(known.map((k) => `${k.venue}/${k.symbol}`)).toEqual(expect.arrayContaining(['binance/ID-USDT', 'binance/CO-USDT', 'binance/B49-USDT']));
    expect(known.find((k) => k.symbol === 'ZZ-USDT')).toBeUndefined();
  });
});

describe('CandleStore.query (PostgreSQL)', () => {
  const base = Date.UTC(2030, 4, 14, 0, 0, 0);
  const rows = Array.from({ length: 20 }, (_, i) => candle({ symbol: 'Q-USDT', tf: '1h', openTime: base + i * 3_600_000, trades: i + 1 }));

  beforeAll(async () => {
    // Insert in scrambled order: ordering must come from the query, not insertion.
    await store.upsert([...rows].reverse());
    await store.upsert([candle({ symbol: 'Q-USDT', tf: '1h', venue: 'okx', openTime: base })]);
  });

  it('orders by openTime and honours from/to (inclusive) and limit', async () => {
    const all = await store.query({ venue: 'binance', symbol: 'Q-USDT', tf: '1h', limit: 100 });
    expect(all.map((c) => c.openTime)).toEqual(rows.map((c) => c.openTime));
    const window = await store.query({ venue: 'binance', symbol: 'Q-USDT', tf: '1h', from: rows[3]!.openTime, to: rows[7]!.openTime, limit: 100 });
    expect(window.map((c) => c.trades)).toEqual([4, 5, 6, 7, 8]);
    const limited = await store.query({ venue: 'binance', symbol: 'Q-USDT', tf: '1h', from: rows[3]!.openTime + 1, limit: 2 });
    expect(limited.map((c) => c.trades)).toEqual([5, 6]);
    const latest = await store.query({ venue: 'binance', symbol: 'Q-USDT', tf: '1h', limit: 3, order: 'desc' });
    expect(latest.map((c) => c.trades)).toEqual([20, 19, 18]);
    expect(await store.query({ venue: 'binance', symbol: 'Q-USDT', tf: '4h', limit: 10 })).toEqual([]);
    expect(await store.query({ venue: 'binance', symbol: 'Q-USDT', tf: '1h', limit: 0 })).toEqual([]);
  });
});

describe('partitions and retention (PostgreSQL)', () => {
  const partitions = async (): Promise<Map<string, number>> => {
    const r = await iso.sql()<{ name: string; n: number }[]>`
      select c.relname as name, 0 as n from pg_inherits i join pg_class c on c.oid = i.inhrelid
      join pg_namespace s on s.oid = c.relnamespace where s.nspname = ${schema}`;
    return new Map(r.map((x) => [x.name, x.n]));
  };
  const countIn = async (table: string, where = 'true'): Promise<number> => {
    const [r] = await iso.sql().unsafe<{ n: number }[]>(`select count(*)::int as n from "${schema}"."${table}" where ${where}`);
    return r!.n;
  };

  it('creates partitions ahead of now; far past and future inserts land in DEFAULT', async () => {
    const names = await partitions();
    for (let d = 0; d <= 7; d++) expect(names.has(partitionName('1s', NOW + d * DAY))).toBe(true);
    expect(names.has(partitionName('1s', NOW + 9 * DAY))).toBe(false);
    expect(names.has(partitionName('1h', NOW))).toBe(true); // monthly: candles_1h_203005
    expect(partitionName('1h', NOW)).toBe('candles_1h_203005');

    const past = Date.UTC(2001, 0, 1);
    const future = Date.UTC(2099, 0, 1);
    await store.upsert([candle({ symbol: 'P-USDT', openTime: past }), candle({ symbol: 'P-USDT', openTime: future }), candle({ symbol: 'P-USDT', openTime: NOW })]);
    expect(await countIn('candles_1m_default', `symbol = 'P-USDT'`)).toBe(2);
    expect(await countIn(partitionName('1m', NOW), `symbol = 'P-USDT'`)).toBe(1);
  });

  it('ensurePartitions moves rows the DEFAULT partition caught into the new partition', async () => {
    const future = Date.UTC(2099, 0, 1);
    const created = await store.ensurePartitions(future, future);
    expect(created).toContain('candles_1m_209901');
    expect(await countIn('candles_1m_default', `symbol = 'P-USDT'`)).toBe(1);
    expect(await countIn('candles_1m_209901', `symbol = 'P-USDT'`)).toBe(1);
    expect(await store.ensurePartitions(future, future)).toEqual([]); // already there
    const [row] = await store.query({ venue: 'binance', symbol: 'P-USDT', tf: '1m', from: future, limit: 5 });
    expect(row?.openTime).toBe(future);
  });

  it('retention removes only expired candles of timeframes that have a retention', async () => {
    const sym = 'R-USDT';
    const at = (tf: Tf, ago: number) => candle({ symbol: sym, tf, openTime: Math.floor((NOW - ago) / TF_MS[tf]) * TF_MS[tf] });
    await store.ensurePartitions(NOW - 40 * DAY, NOW);
    await store.upsert([
      at('1s', 3 * DAY), at('1s', 2 * DAY + 1000), at('1s', 2 * DAY - 1000), at('1s', 1000),
      at('1m', 31 * DAY), at('1m', 29 * DAY),
      at('1h', 400 * DAY), at('1d', 4000 * DAY),
    ]);
    const expiredDay = partitionName('1s', NOW - 3 * DAY);
    expect((await partitions()).has(expiredDay)).toBe(true);

    const result = await store.applyRetention(NOW);
    expect(result.map((r) => r.tf)).toEqual(['1s', '1m']);
    expect(result[0]!.droppedPartitions).toContain(expiredDay);
    expect((await partitions()).has(expiredDay)).toBe(false);
    expect((await partitions()).has(partitionName('1s', NOW - 2 * DAY))).toBe(true); // straddles the cut-off: trimmed, kept

    const left = async (tf: Tf) => (await store.query({ venue: 'binance', symbol: sym, tf, limit: 100 })).map((c) => Math.round((NOW - c.openTime) / 1000));
    expect(await left('1s')).toEqual([2 * 86_400 - 1, 1]);
    expect(await left('1m')).toEqual([29 * 86_400]);
    expect(await left('1h')).toHaveLength(1);
    expect(await left('1d')).toHaveLength(1);
  });
});
