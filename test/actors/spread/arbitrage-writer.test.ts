import { describe, expect, it } from 'vitest';
import { ArbitrageWriter, type ArbitrageSink } from '../../../actors/spread/arbitrage-writer.js';
import { silentLogger } from '../../../runtime/logger.js';
import type { ArbitrageRecord } from '../../../schemas/arbitrage.js';

const row = (i: number, ts = i): ArbitrageRecord => ({
  id: `BTC-USDT:binance:okx:${i}`,
  symbol: 'BTC-USDT',
  ts,
  buyVenue: 'binance',
  sellVenue: 'okx',
  ask: '100',
  bid: '101',
  spreadBps: '100.0000',
});

/** The batching, coalescing and retry logic against the sink port (the PostgreSQL path is in spread-worker.test.ts). */
describe('ArbitrageWriter', () => {
  it('writes in batches, keeps a failed batch in order for the next flush, drops the oldest beyond the bound', async () => {
    const batches: string[][] = [];
    let down = true;
    const sink: ArbitrageSink = {
      upsertEpisodes: async (rows) => {
        if (down) throw new Error('connection refused');
        batches.push(rows.map((r) => r.id));
        return rows.length;
      },
    };
    const writer = new ArbitrageWriter(sink, silentLogger, { flushMs: 1000, batchSize: 2, maxBuffered: 4 });
    for (let i = 1; i <= 3; i++) writer.add(row(i));
    await writer.flush();
    expect(writer.pending).toBe(3);
    writer.add(row(4));
    writer.add(row(5)); // over the bound: 1 is dropped
    down = false;
    await writer.stop();
    expect(batches).toEqual([
      ['BTC-USDT:binance:okx:2', 'BTC-USDT:binance:okx:3'],
      ['BTC-USDT:binance:okx:4', 'BTC-USDT:binance:okx:5'],
    ]);
    expect(writer.pending).toBe(0);
  });

  it('coalesces rows of one episode: only its newest state is written, in its first place; a newer state added during a failed write wins', async () => {
    const written: ArbitrageRecord[][] = [];
    let fail = 1;
    let during: (() => void) | null = null;
    const sink: ArbitrageSink = {
      upsertEpisodes: async (rows) => {
        during?.();
        during = null;
        if (fail-- > 0) throw new Error('deadlock');
        written.push([...rows]);
        return rows.length;
      },
    };
    const writer = new ArbitrageWriter(sink, silentLogger, { flushMs: 1000 });
    writer.add(row(1, 10));
    writer.add(row(2, 10));
    writer.add(row(1, 11));
    expect(writer.pending).toBe(2);
    during = () => writer.add(row(1, 12));
    await writer.flush(); // fails; episode 1 got a newer state meanwhile
    await writer.flush();
    expect(written.map((b) => b.map((r) => [r.id, r.ts]))).toEqual([
      [
        ['BTC-USDT:binance:okx:2', 10],
        ['BTC-USDT:binance:okx:1', 12],
      ],
    ]);
  });
});
