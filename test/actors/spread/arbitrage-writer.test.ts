import { describe, expect, it } from 'vitest';
import { ArbitrageWriter, type ArbitrageSink } from '../../../actors/spread/arbitrage-writer.js';
import { silentLogger } from '../../../runtime/logger.js';
import type { ArbitrageRecord } from '../../../schemas/arbitrage.js';

const rec = (i: number): ArbitrageRecord => ({
  id: `BTC-USDT:binance:okx:${i}`,
  symbol: 'BTC-USDT',
  ts: i,
  buyVenue: 'binance',
  sellVenue: 'okx',
  ask: '100',
  bid: '101',
  spreadBps: '100.0000',
});

/** The batching and retry logic against the sink port (the PostgreSQL path is in spread-worker.test.ts). */
describe('ArbitrageWriter', () => {
  it('writes in batches, keeps a failed batch in order for the next flush, drops the oldest beyond the bound', async () => {
    const batches: string[][] = [];
    let down = true;
    const sink: ArbitrageSink = {
      insert: async (records) => {
        if (down) throw new Error('connection refused');
        batches.push(records.map((r) => r.id));
        return records.length;
      },
    };
    const writer = new ArbitrageWriter(sink, silentLogger, { flushMs: 1000, batchSize: 2, maxBuffered: 4 });
    for (let i = 1; i <= 3; i++) writer.add(rec(i));
    await writer.flush();
    expect(writer.pending).toBe(3);
    writer.add(rec(4));
    writer.add(rec(5)); // over the bound: 1 is dropped
    down = false;
    await writer.stop();
    expect(batches).toEqual([
      ['BTC-USDT:binance:okx:2', 'BTC-USDT:binance:okx:3'],
      ['BTC-USDT:binance:okx:4', 'BTC-USDT:binance:okx:5'],
    ]);
    expect(writer.pending).toBe(0);
  });
});
