import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Candle } from '../../schemas/candle.js';
import { TF_MS, TIMEFRAMES, type Tf } from '../../schemas/common.js';
import { CandleBulkWriter } from '../../store/candle-bulk.js';
import { migrate } from '../../store/migrate.js';
import { ensurePartitions } from '../../store/partitions.js';
import { isolated } from '../harness.js';

/**
 * The batch path's bulk writer (store/candle-bulk.ts) on real PostgreSQL at DATABASE_URL, in this
 * file's own schema: new rows are inserted in one pass, rows meeting stored ones follow the sink's
 * version order, both store the same text, and a concurrent writer's row is met, not a failure.
 */
const iso = isolated();
const schema = iso.ns.pgSchema;
const T0 = Date.UTC(2030, 4, 14);

function candle(symbol: string, tf: Tf, i: number, over: Partial<Candle> = {}): Candle {
  const openTime = T0 + i * TF_MS[tf];
  return {
    venue: 'binance',
    symbol,
    tf,
    openTime,
    closeTime: openTime + TF_MS[tf] - 1,
    open: '100.10',
    high: '101.00',
    low: '99.5',
    close: `100.${String(i % 100).padStart(2, '0')}`,
    volume: '2.50000000',
    quoteVolume: '250.625',
    vwap: '100.2500000',
    trades: 3,
    buyVolume: '1.25',
    firstTradeId: `${i}a`,
    lastTradeId: i % 7 === 0 ? null : `id\twith\\tab ${i}`,
    closed: true,
    ...over,
  };
}

/** `count` 1s bars and the 1m bars over them. */
const day = (symbol: string, count: number): Candle[] => [
  ...Array.from({ length: count }, (_, i) => candle(symbol, '1s', i)),
  ...Array.from({ length: Math.ceil(count / 60) }, (_, i) => candle(symbol, '1m', i)),
];

async function stored(symbol: string): Promise<string[]> {
  const rows = await iso.sql().unsafe<Record<string, unknown>[]>(
    `select tf, open_time::text, close_time::text, open::text, high::text, low::text, close::text, volume::text, quote_volume::text, vwap::text,
            buy_volume::text, trades, first_trade_id, last_trade_id, closed
     from "${schema}".candles where symbol = $1 order by tf, open_time`,
    [symbol],
  );
  return rows.map((r) => Object.values(r).join('|'));
}

beforeAll(async () => {
  await migrate(iso.sql(), schema, { now: T0 });
  await ensurePartitions(iso.sql(), schema, T0, T0 + 86_400_000);
});
afterAll(() => iso.cleanup());

/**
 * Another transaction inserts 1s bar `at` of `symbol` (9 trades) and holds it uncommitted while
 * `w` upserts bars 0..count-1; it commits once the upsert waits on a lock of `lockType`. Returns
 * the upsert's result and whether it was seen waiting.
 */
async function meetUncommitted(w: CandleBulkWriter, symbol: string, count: number, at: number, lockType: 'transactionid' | 'relation') {
  const other = await iso.sql().reserve();
  try {
    await other.unsafe('begin');
    await other.unsafe(
      `insert into "${schema}".candles (venue, symbol, tf, open_time, close_time, open, high, low, close, volume, quote_volume, vwap, buy_volume, trades, closed)
       values ('binance', $1, '1s', $2, $3, 1, 1, 1, 1, 0, 0, 1, 0, 9, true)`,
      [symbol, new Date(T0 + at * 1_000).toISOString(), new Date(T0 + at * 1_000 + 999).toISOString()],
    );
    const write = w.upsert(Array.from({ length: count }, (_, i) => candle(symbol, '1s', i)));
    let waited = false;
    for (let i = 0; i < 400 && !waited; i++) {
      const [waiting] = await iso.sql().unsafe<{ n: number }[]>(`select count(*)::int as n from pg_locks where not granted and locktype = $1`, [lockType]);
      waited = waiting!.n > 0;
      if (!waited) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await other.unsafe('commit');
    return { ...(await write), waited };
  } finally {
    other.release();
  }
}

/** A writer for which T0's day is past: its 1s bars may go straight into their daily partition. */
const pastWriter = () => new CandleBulkWriter(iso.sql(), schema, TIMEFRAMES, () => T0 + 2 * 86_400_000);

describe('CandleBulkWriter.upsert (PostgreSQL)', () => {
  it('new rows, and the same rows meeting a stored one, store the same text; the symbol is recorded', async () => {
    const w = new CandleBulkWriter(iso.sql(), schema);
    expect(await w.upsert(day('NEW-USDT', 3_000))).toEqual({ inserted: 3_050, updated: 0, unchanged: 0 });
    // UPS-USDT: one row stored already sends the batch through the version comparison too.
    await w.upsert([candle('UPS-USDT', '1s', 2_999)]);
    expect(await w.upsert(day('UPS-USDT', 3_000))).toEqual({ inserted: 3_049, updated: 0, unchanged: 1 });
    const a = await stored('NEW-USDT');
    expect(a).toHaveLength(3_050);
    expect(a).toContain(`1s|2030-05-14 00:00:05+00|2030-05-14 00:00:05.999+00|100.10|101.00|99.5|100.05|2.50000000|250.625|100.2500000|1.25|3|5a|id\twith\\tab 5|true`);
    expect(await stored('UPS-USDT')).toEqual(a);
    expect(a.filter((r) => r.includes('|id\twith\\tab 8|'))).toHaveLength(2); // 1s and 1m bar 8: COPY's escapes
    const symbols = await iso.sql().unsafe(`select symbol from "${schema}".symbols where symbol in ('NEW-USDT', 'UPS-USDT') order by 1`);
    expect(symbols.map((r) => r.symbol)).toEqual(['NEW-USDT', 'UPS-USDT']);
  });

  it('a re-run changes nothing; a later correction replaces the row; a batch holding two versions keeps the last', async () => {
    const w = new CandleBulkWriter(iso.sql(), schema);
    await w.upsert(day('RE-USDT', 600));
    const before = await stored('RE-USDT');
    expect(await w.upsert(day('RE-USDT', 600))).toEqual({ inserted: 0, updated: 0, unchanged: 610 });
    expect(await stored('RE-USDT')).toEqual(before);
    // A correction of a stored bar among new bars.
    const fix = candle('RE-USDT', '1s', 5, { trades: 4, close: '100.99' });
    expect(await w.upsert([fix, candle('RE-USDT', '1s', 600), candle('RE-USDT', '1s', 601)])).toEqual({ inserted: 2, updated: 1, unchanged: 0 });
    // Two versions of one new bar in one batch (a correction after the first): the last is stored.
    await w.upsert([candle('RE-USDT', '1s', 700), candle('RE-USDT', '1s', 700, { trades: 5, close: '101.01' })]);
    const rows = await stored('RE-USDT');
    expect(rows.filter((r) => r.includes('|100.99|') && r.includes('|4|'))).toHaveLength(1);
    expect(rows.filter((r) => r.includes('|101.01|'))).toHaveLength(1);
  });

  it("another writer's row committed while the batch waits on its key is met, not a failure (the sink's order keeps the one with more trades)", async () => {
    const res = await meetUncommitted(new CandleBulkWriter(iso.sql(), schema), 'RACE-USDT', 100, 50, 'transactionid');
    expect(res).toEqual({ inserted: 99, updated: 0, unchanged: 1, waited: true });
    const rows = await stored('RACE-USDT');
    expect(rows).toHaveLength(100);
    expect(rows.filter((r) => r.includes('|9|'))).toHaveLength(1);
  });

  it('a first write of past days copies straight into candles: the same rows and text as the comparing path; a re-run changes nothing', async () => {
    const direct = pastWriter();
    expect(await direct.upsert(day('DIR-USDT', 3_000))).toEqual({ inserted: 3_050, updated: 0, unchanged: 0 });
    await new CandleBulkWriter(iso.sql(), schema).upsert(day('CMP-USDT', 3_000));
    const a = await stored('DIR-USDT');
    expect(a).toHaveLength(3_050);
    expect(a).toEqual(await stored('CMP-USDT'));
    expect(await direct.upsert(day('DIR-USDT', 3_000))).toEqual({ inserted: 0, updated: 0, unchanged: 3_050 });
    expect(await stored('DIR-USDT')).toEqual(a);
    const [sym] = await iso.sql().unsafe(`select count(*)::int as n from "${schema}".symbols where symbol = 'DIR-USDT'`);
    expect(sym!.n).toBe(1);
  });

  it("the direct path waits for another writer's uncommitted row in its partition, then sees it and compares", async () => {
    const res = await meetUncommitted(pastWriter(), 'LOCK-USDT', 1_000, 500, 'relation');
    expect(res).toEqual({ inserted: 999, updated: 0, unchanged: 1, waited: true });
    const rows = await stored('LOCK-USDT');
    expect(rows).toHaveLength(1_000);
    expect(rows.filter((r) => r.includes('|9|'))).toHaveLength(1);
  });
});
