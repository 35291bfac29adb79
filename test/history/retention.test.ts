import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isolated } from '../harness.js';
import { runCli } from './helpers.js';

/**
 * Acceptance (issue 14 item 3), real PostgreSQL (and NATS/Redis for the seam): a backfill of 2019
 * from a file with the default retention (1s 2 d, 1m 30 d) warns before it starts, naming
 * TICKWORK_RETENTION_1S and TICKWORK_RETENTION_1M, and its candles survive the retention pass of
 * the next start (`tickwork migrate`), which still deletes an old candle nobody backfilled.
 */
const FROM = Date.UTC(2019, 2, 1, 10);

function csv2019(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tickwork-2019-')), 'BTCUSDT-aggTrades-2019-03-01.csv');
  const lines: string[] = [];
  let cents = 382_000;
  for (let i = 0; i < 7200; i++) {
    cents += ((i * 7919) % 13) - 6;
    // aggId,price,qty,firstId,lastId,time,isBuyerMaker,isBestMatch
    lines.push(`${90_000_000 + i},${(cents / 100).toFixed(2)}000000,0.${String(1 + ((i * 104729) % 99_999)).padStart(8, '0')},${200_000_000 + 2 * i},${200_000_001 + 2 * i},${FROM + i * 1000 + (i % 7)},${i % 3 === 0 ? 'True' : 'False'},True`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('backfill of 2019 with the default retention', () => {
  const iso = isolated();
  afterAll(() => iso.cleanup());

  it('warns naming TICKWORK_RETENTION_1S/_1M before it starts, and keeps the candles through the next start', { timeout: 240_000 }, async () => {
    const env = { ...iso.env, LOG_LEVEL: 'info', LOG_FORMAT: 'json', HTTP_PORT: '0' };
    expect((await runCli(['migrate'], env)).code).toBe(0);
    const sql = iso.sql();
    const t = `"${iso.ns.pgSchema}".candles`;
    const res = await runCli(
      ['backfill', '--venue', 'binance', '--symbols', 'BTC-USDT', '--source', 'file', '--file', csv2019(), '--format', 'binance-aggtrades-csv', '--from', '2019-03-01T10:00:00Z', '--to', '2019-03-01T12:00:00Z'],
      env,
    );
    expect(res.code, res.stderr + res.stdout.slice(-2000)).toBe(0);
    const lines = res.stdout.split('\n');
    const warn1s = lines.findIndex((l) => l.includes('"level":40') && l.includes('TICKWORK_RETENTION_1S'));
    const warn1m = lines.findIndex((l) => l.includes('"level":40') && l.includes('TICKWORK_RETENTION_1M'));
    const done = lines.findIndex((l) => l.includes('"msg":"backfill done"'));
    expect(warn1s, res.stdout.slice(0, 3000)).toBeGreaterThanOrEqual(0);
    expect(warn1m).toBeGreaterThanOrEqual(0);
    expect(Math.max(warn1s, warn1m)).toBeLessThan(done);
    expect(res.json!.warnings).toEqual(expect.arrayContaining([expect.stringContaining('TICKWORK_RETENTION_1S'), expect.stringContaining('TICKWORK_RETENTION_1M')]));

    const count = async (symbol: string, tf: string): Promise<number> =>
      (await sql.unsafe<{ n: number }[]>(`select count(*)::int as n from ${t} where symbol = $1 and tf = $2 and open_time < '2020-01-01'`, [symbol, tf]))[0]!.n;
    expect(await count('BTC-USDT', '1s')).toBe(7200);
    expect(await count('BTC-USDT', '1m')).toBe(120);
    expect(await count('BTC-USDT', '1h')).toBe(2);
    // An old candle nobody backfilled, to see retention act.
    await sql.unsafe(
      `insert into ${t} (venue, symbol, tf, open_time, close_time, open, high, low, close, volume, quote_volume, vwap, buy_volume, trades, closed)
       values ('binance', 'ETH-USDT', '1m', '2019-03-01T10:00:00Z', '2019-03-01T10:00:59.999Z', 1, 1, 1, 1, 0, 0, 1, 0, 0, true)`,
    );

    // The next start: `tickwork migrate` applies retention (as `up` does at start and hourly).
    const restart = await runCli(['migrate'], env);
    expect(restart.code, restart.stderr).toBe(0);
    expect(await count('ETH-USDT', '1m')).toBe(0);
    expect(await count('BTC-USDT', '1s')).toBe(7200);
    expect(await count('BTC-USDT', '1m')).toBe(120);
    expect(await count('BTC-USDT', '1h')).toBe(2);
    const ranges = await sql.unsafe<{ tf: string; source: string }[]>(`select tf, source from "${iso.ns.pgSchema}".candle_history_ranges where symbol = 'BTC-USDT' order by tf`);
    expect(ranges.map((r) => r.tf).sort()).toEqual(['15m', '1d', '1h', '1m', '1s', '4h', '5m']);
    expect(new Set(ranges.map((r) => r.source))).toEqual(new Set(['file']));
  });
});
