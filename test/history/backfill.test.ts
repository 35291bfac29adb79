import { afterAll, describe, expect, it } from 'vitest';
import type { Tf } from '../../schemas/common.js';
import { startSimulator, type Simulator } from '../../simulate/index.js';
import { CandleStore } from '../../store/candles.js';
import { isolated } from '../harness.js';
import { expectCandlesEqual, fetchAggTrades, referenceCandles, runCli, startLive, storedRows, waitUntil } from './helpers.js';

/**
 * Acceptance (issue 14 item 1), on real NATS JetStream, Redis and PostgreSQL with the simulated
 * Binance: a live pipeline (feed, worker, sink processes) runs for a symbol; then `tickwork
 * backfill` of the previous day from the simulator's REST history. The previous day's 1m and 1h
 * candles equal a reference aggregation computed here from the raw REST answers (bigint sums);
 * the live candles are unchanged; a second run changes nothing.
 */
const DAY = 86_400_000;
const SYMBOL = 'BTC-USDT';

describe('backfill of the previous day from the venue REST history beside a live pipeline', () => {
  const iso = isolated();
  let sim: Simulator | null = null;
  let live: Awaited<ReturnType<typeof startLive>> | null = null;
  afterAll(async () => {
    await live?.stop();
    await sim?.close();
    await iso.cleanup();
  });

  it('previous day 1m/1h = reference aggregation; live candles unchanged; a re-run changes nothing', { timeout: 420_000 }, async () => {
    sim = await startSimulator({ venue: 'binance', synthetic: { symbols: [SYMBOL], tradesPerSec: 20, seed: 31 } });
    const env = { ...iso.env, ...sim.env };
    live = await startLive(iso, env, 'binance', [SYMBOL]);
    const sql = iso.sql();
    const schema = iso.ns.pgSchema;
    // Live candles: a few closed 1s bars and the live actor's snapshot (its first bars: the seam).
    await waitUntil(async () => {
      const [r] = await sql.unsafe<{ n: number }[]>(`select count(*)::int as n from "${schema}".candles where tf = '1s' and symbol = $1`, [SYMBOL]);
      return (r?.n ?? 0) >= 5 && (await iso.redis().exists(iso.ns.key(`snap:binance:${SYMBOL}`))) === 1;
    }, 120_000, 'live 1s candles and a snapshot');
    const liveBefore = await storedRows(sql, schema, 'binance', SYMBOL);

    const today = Math.floor(Date.now() / DAY) * DAY;
    const from = today - DAY;
    const args = ['backfill', '--venue', 'binance', '--symbols', SYMBOL, '--from', new Date(from).toISOString(), '--to', new Date(today).toISOString()];
    const first = await runCli(args, { ...env, LOG_FORMAT: 'json' });
    expect(first.code, first.stderr + first.stdout.slice(-3000)).toBe(0);
    const report = (first.json!.backfill as { trades: number; candles: Record<string, number>; written: { inserted: number; updated: number; unchanged: number }; overlap: { differ: number } }[])[0]!;
    expect(report.trades).toBeGreaterThan(40_000); // one trade per ~2 s in the simulator's past
    expect(report.candles['1m']).toBe(1440);
    expect(report.candles['1h']).toBe(24);
    expect(report.candles['1d']).toBe(1);
    expect(report.written.inserted).toBeGreaterThan(86_400);

    // The reference, from the raw REST answers, aggregated here.
    const aggs = await fetchAggTrades(sim.restUrl, 'BTCUSDT', from, today);
    expect(aggs.length).toBe(report.trades);
    const store = new CandleStore(sql, { schema });
    for (const [tf, ms] of [['1m', 60_000], ['1h', 3_600_000]] as [Tf, number][]) {
      const stored = await store.query({ venue: 'binance', symbol: SYMBOL, tf, from, to: today - 1, limit: 5000 });
      expectCandlesEqual(stored, referenceCandles(aggs, ms), tf);
    }

    // The live candles that were there are exactly as they were (the backfill stopped at the live seam).
    const after = await storedRows(sql, schema, 'binance', SYMBOL);
    for (const [key, row] of liveBefore) expect(after.get(key), `live ${key}`).toBe(row);
    const backfilled = [...after.keys()].filter((k) => Number(k.split(' ')[1]) < today);
    expect(backfilled.every((k) => !liveBefore.has(k))).toBe(true);

    // Again: nothing written, nothing changed (updated_at included).
    const second = await runCli(args, { ...env, LOG_FORMAT: 'json' });
    expect(second.code, second.stderr).toBe(0);
    const again = (second.json!.backfill as { written: { inserted: number; updated: number; unchanged: number } }[])[0]!;
    expect(again.written).toEqual({ inserted: 0, updated: 0, unchanged: report.written.inserted });
    const afterSecond = await storedRows(sql, schema, 'binance', SYMBOL);
    for (const key of backfilled) expect(afterSecond.get(key), key).toBe(after.get(key));
    expect(sim.stats().violations).toEqual({});
  });
});
