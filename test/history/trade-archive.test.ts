import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { archiveCutoff, parseOlderThan } from '../../app/archive.js';
import { TradeArchive, type ArchivedTrade } from '../../store/trade-archive.js';

/** The archive's files on their own (no servers): what a reader accepts, what it refuses, what a re-write keeps. */
const DAY = 86_400_000;
const D = Date.UTC(2024, 2, 1);
const trade = (seq: number, ts: number, price = '65000.10'): ArchivedTrade => ({
  venue: 'binance',
  symbol: 'BTC-USDT',
  venueSymbol: 'BTCUSDT',
  id: String(1000 + seq),
  price,
  qty: '0.00100000',
  side: seq % 2 ? 'buy' : 'sell',
  ts,
  recvTs: ts + 5,
  seq,
});

describe('TradeArchive files', () => {
  it('a day written is read back as written; adding the same trades again rewrites nothing; new ones merge by sequence', async () => {
    const archive = new TradeArchive(mkdtempSync(join(tmpdir(), 'tickwork-archive-')));
    const trades = [trade(3, D + 2_000), trade(1, D), trade(2, D + 1_000, '65000.1')];
    const first = await archive.writeDay('binance', 'BTC-USDT', '2024-03-01', trades);
    expect(first.added).toBe(3);
    expect(first.manifest).toMatchObject({ rows: 3, firstSeq: 1, lastSeq: 3, firstId: '1001', lastId: '1003', firstTs: D, lastTs: D + 2_000 });
    // Decimal text exactly as given (65000.1 stays 65000.1), in sequence order.
    expect(await archive.readDay('binance', 'BTC-USDT', '2024-03-01')).toEqual([trade(1, D), trade(2, D + 1_000, '65000.1'), trade(3, D + 2_000)]);

    const file = join(archive.dir, 'binance', 'BTC-USDT', '2024-03-01.parquet');
    const bytes = readFileSync(file);
    const again = await archive.writeDay('binance', 'BTC-USDT', '2024-03-01', trades);
    expect(again).toEqual({ manifest: first.manifest, added: 0 });
    expect(readFileSync(file).equals(bytes)).toBe(true);

    const merged = await archive.writeDay('binance', 'BTC-USDT', '2024-03-01', [trade(3, D + 2_000), trade(4, D + 3_000)]);
    expect(merged.added).toBe(1);
    expect((await archive.readDay('binance', 'BTC-USDT', '2024-03-01')).map((t) => t.seq)).toEqual([1, 2, 3, 4]);
    expect(await archive.days('binance', 'BTC-USDT')).toEqual(['2024-03-01']);
    const pages: number[][] = [];
    for await (const p of archive.trades('binance', 'BTC-USDT', D + 1_000, D + 3_000)) pages.push(p.map((t) => t.ts));
    expect(pages).toEqual([[D + 1_000, D + 2_000]]);
  });

  it('refuses a trade of another day, and a file that no longer matches its manifest', async () => {
    const archive = new TradeArchive(mkdtempSync(join(tmpdir(), 'tickwork-archive-')));
    await expect(archive.writeDay('binance', 'BTC-USDT', '2024-03-01', [trade(1, D + DAY)])).rejects.toThrow(/trade 1001 at 2024-03-02T00:00:00.000Z is not of 2024-03-01/);
    await archive.writeDay('binance', 'BTC-USDT', '2024-03-01', [trade(1, D), trade(2, D + 1)]);
    const file = join(archive.dir, 'binance', 'BTC-USDT', '2024-03-01.parquet');
    const bytes = readFileSync(file);
    const mid = bytes.length >> 1;
    bytes[mid] = bytes[mid]! ^ 0xff;
    writeFileSync(file, bytes);
    await expect(archive.readDay('binance', 'BTC-USDT', '2024-03-01')).rejects.toThrow(/2024-03-01.parquet: SHA-256 differs from its manifest/);
    // Nor is a damaged day merged into: the writer reads (and verifies) what the day held first.
    await expect(archive.writeDay('binance', 'BTC-USDT', '2024-03-01', [trade(3, D + 2)])).rejects.toThrow(/SHA-256 differs/);
  });
});

describe('archive --older-than', () => {
  it('parses d/h/m durations and names the flag otherwise', () => {
    expect(parseOlderThan('7d')).toBe(7 * DAY);
    expect(parseOlderThan('36h')).toBe(36 * 3_600_000);
    expect(parseOlderThan('90m')).toBe(90 * 60_000);
    expect(() => parseOlderThan('7 days')).toThrow(/--older-than "7 days": expected a duration such as 7d/);
  });

  it('archives whole UTC days only: the cutoff is the midnight at or before now − older-than', () => {
    const now = Date.UTC(2024, 2, 10, 15, 30);
    expect(new Date(archiveCutoff(now, 7 * DAY)).toISOString()).toBe('2024-03-03T00:00:00.000Z');
    expect(new Date(archiveCutoff(now, 36 * 3_600_000)).toISOString()).toBe('2024-03-09T00:00:00.000Z');
    expect(new Date(archiveCutoff(Date.UTC(2024, 2, 10), DAY)).toISOString()).toBe('2024-03-09T00:00:00.000Z');
  });
});
