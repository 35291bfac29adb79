import { describe, expect, it } from 'vitest';
import { runCandleBatch } from '../../../actors/batch/candle-batch.js';
import { SymbolWindows, type WindowTrade, type WindowsConfig } from '../../../actors/windows/index.js';
import type { Candle } from '../../../schemas/candle.js';

/**
 * The batch path's writes (actors/batch/candle-batch.ts): one write in flight while the kernel
 * goes on, in emission order, every candle the kernel closes inside the range handed over once,
 * a failed write reported.
 */
const T0 = Date.UTC(2024, 0, 2);
const HOUR = 3_600_000;
const windows: WindowsConfig = { venue: 'binance', symbol: 'BTC-USDT', timeframes: ['1s', '1m', '1h'], vwapWindows: [] };

/** Two hours of trades, one every 150 ms, a few of them late (corrections). */
function trades(): WindowTrade[] {
  const out: WindowTrade[] = [];
  for (let i = 0; i < 48_000; i++) {
    const late = i % 997 === 0 && i > 0 ? 2_500 : 0;
    out.push({ id: String(1_000_000 + i), price: `${100 + (i % 37) / 100}`, qty: `0.${String(1 + (i % 999)).padStart(3, '0')}`, side: i % 2 ? 'buy' : 'sell', ts: T0 + i * 150 - late, count: 1 });
  }
  return out;
}

async function* pages(all: readonly WindowTrade[], size: number): AsyncGenerator<WindowTrade[]> {
  for (let i = 0; i < all.length; i += size) yield all.slice(i, i + size);
}

/** What the kernel closes inside [T0, T0 + 2 h), straight from SymbolWindows. */
function reference(all: readonly WindowTrade[]): Candle[] {
  const w = new SymbolWindows(windows);
  const out: Candle[] = [];
  for (const t of all) {
    w.apply(t);
    out.push(...w.drainClosed());
  }
  w.advance(T0 + 2 * HOUR);
  out.push(...w.drainClosed());
  return out.filter((c) => c.openTime >= T0 && c.closeTime < T0 + 2 * HOUR);
}

describe('runCandleBatch writes', () => {
  it('one write at a time, in order, at least minChunk candles each but the last; the same candles as the kernel alone', async () => {
    const all = trades();
    const written: Candle[] = [];
    const sizes: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const res = await runCandleBatch(pages(all, 500), {
      windows,
      fromMs: T0,
      toMs: T0 + 2 * HOUR,
      chunk: 3_000,
      minChunk: 1_000,
      write: async (batch) => {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        written.push(...batch);
        sizes.push(batch.length);
        inFlight--;
      },
    });
    expect(maxInFlight).toBe(1);
    expect(sizes.length).toBeGreaterThan(2);
    expect(Math.min(...sizes.slice(0, -1))).toBeGreaterThanOrEqual(1_000);
    expect(written).toEqual(reference(all));
    expect(res.applied).toBe(all.length);
    expect(Object.values(res.written).reduce((a, b) => a + b, 0)).toBe(written.length);
  });

  it('a failed write rejects the batch (no unhandled rejection), after at most the writes already started', async () => {
    let calls = 0;
    const run = runCandleBatch(pages(trades(), 500), {
      windows,
      fromMs: T0,
      toMs: T0 + 2 * HOUR,
      minChunk: 1_000,
      write: async () => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 1));
        throw new Error('store down');
      },
    });
    await expect(run).rejects.toThrow('store down');
    expect(calls).toBe(1);
  });
});
