import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openTradeFile, type BatchTrade } from '../../../actors/batch/file-source.js';
import { openReplay, type ReplayFormat } from '../../../actors/replay/sources.js';
import { venueById } from '../../../venues/index.js';

/**
 * The batch path's CSV reader (actors/batch/file-source.ts) against `tickwork replay`'s reader of
 * the same files (actors/replay/sources.ts): the same trades, field for field, whatever the chunk
 * and page boundaries, line endings, headers and bad lines.
 */
const venue = venueById('binance');
const dir = mkdtempSync(join(tmpdir(), 'tickwork-file-source-'));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text, 'latin1');
  return path;
}

async function batchRead(path: string, format: ReplayFormat): Promise<{ trades: BatchTrade[]; pages: number[]; skipped: number; examples: string[] }> {
  const f = openTradeFile({ file: path, format, venue: venue.id, adapter: venue.createAdapter(), symbol: 'BTC-USDT' });
  const trades: BatchTrade[] = [];
  const pages: number[] = [];
  for await (const page of f.pages) {
    pages.push(page.length);
    trades.push(...page);
  }
  return { trades, pages, skipped: f.skipped.count, examples: f.skipped.examples };
}

async function replayRead(path: string, format: ReplayFormat): Promise<{ trades: BatchTrade[]; skipped: number }> {
  const r = openReplay({ file: path, format, venue: venue.id, adapter: venue.createAdapter(), symbol: 'BTC-USDT' });
  const trades: BatchTrade[] = [];
  for await (const t of r.trades) trades.push({ id: t.id, price: t.price, qty: t.qty, side: t.side, ts: t.ts, count: t.count ?? 1 });
  return { trades, skipped: r.skipped.count };
}

/** `id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch` lines; long ids and prices so 1 MiB chunks end mid-line. */
function tradeLines(n: number, t0: number): string[] {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const price = `${60_000 + ((i * 7919) % 5000)}.${String((i * 31) % 100).padStart(2, '0')}000000`;
    const qty = `0.${String(1 + ((i * 104_729) % 99_999_999)).padStart(8, '0')}`;
    lines.push(`${3_000_000_000 + i},${price},${qty},123.45,${t0 + i * 37},${['True', 'False', 'true', 'false'][i % 4]},True`);
  }
  return lines;
}

describe('openTradeFile (CSV) reads what tickwork replay reads', () => {
  it('binance-trades-csv over several 1 MiB chunks: same trades, pages of at most 1,024, none empty', async () => {
    const lines = tradeLines(40_000, Date.UTC(2024, 0, 2)); // ~3.4 MB
    const path = file('trades.csv', `${lines.join('\n')}\n`);
    const batch = await batchRead(path, 'binance-trades-csv');
    const replay = await replayRead(path, 'binance-trades-csv');
    expect(batch.trades).toHaveLength(40_000);
    expect(batch.trades).toEqual(replay.trades);
    expect(Math.max(...batch.pages)).toBeLessThanOrEqual(1024);
    expect(Math.min(...batch.pages)).toBeGreaterThan(0);
    expect(batch.skipped).toBe(0);
  });

  it('CRLF, a header, blank lines, bad lines and no final newline: same trades, bad lines counted with their numbers', async () => {
    const lines = tradeLines(30_000, Date.UTC(2024, 0, 2));
    lines.splice(20_000, 0, 'garbage,line');
    lines.splice(25_000, 0, '');
    lines.splice(27_000, 0, '12x,1.0,1.0,0,1,True,True');
    lines.splice(28_000, 0, '99,1.0,1.0,0,1704153600000,maybe,True');
    const path = file('crlf.csv', `id,price,qty,quoteQty,time,isBuyerMaker,isBestMatch\r\n${lines.join('\r\n')}`);
    const batch = await batchRead(path, 'binance-trades-csv');
    const replay = await replayRead(path, 'binance-trades-csv');
    expect(batch.trades).toHaveLength(30_000);
    expect(batch.trades).toEqual(replay.trades);
    expect(batch.skipped).toBe(3);
    expect(replay.skipped).toBe(3);
    expect(batch.examples).toEqual([
      'line 20002: expected 7 fields of the binance-trades-csv layout',
      'line 27002: expected 7 fields of the binance-trades-csv layout',
      'line 28002: expected 7 fields of the binance-trades-csv layout',
    ]);
  });

  it('binance-aggtrades-csv with microsecond times: same trades, counts from the id ranges', async () => {
    const t0 = Date.UTC(2025, 2, 1) * 1000;
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      lines.push(`${90_000_000 + i},${(3820 + (i % 50) / 100).toFixed(2)}000000,0.${String(1 + i).padStart(8, '0')},${200_000_000 + 3 * i},${200_000_000 + 3 * i + (i % 3)},${t0 + i * 1_700_123},${i % 2 ? 'true' : 'false'},True`);
    }
    const path = file('agg.csv', `${lines.join('\n')}\n`);
    const batch = await batchRead(path, 'binance-aggtrades-csv');
    const replay = await replayRead(path, 'binance-aggtrades-csv');
    expect(batch.trades).toEqual(replay.trades);
    expect(batch.trades[2]).toMatchObject({ count: 3, ts: Math.floor((t0 + 2 * 1_700_123) / 1000) });
  });

  it('a file that cannot be read fails the read with a line naming it (no hang, no silent end)', async () => {
    const missing = join(dir, 'gone.csv');
    await expect(batchRead(missing, 'binance-trades-csv')).rejects.toThrow(/gone\.csv: .*ENOENT/);
  });

  it('a reader that takes one page reads no further than its look-ahead (a 30 MB file), then stops', async () => {
    const path = file('big.csv', `${tradeLines(400_000, Date.UTC(2024, 0, 2)).join('\n')}\n`);
    const f = openTradeFile({ file: path, format: 'binance-trades-csv', venue: venue.id, adapter: venue.createAdapter(), symbol: 'BTC-USDT' });
    for await (const page of f.pages) {
      expect(page).toHaveLength(1024);
      break;
    }
    // The thread reads at most its look-ahead (a few MiB) past what was taken, then is stopped.
    expect(f.bytes()).toBeLessThan(8 << 20);
  });
});
