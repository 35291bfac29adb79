import { describe, expect, it } from 'vitest';
import type { Candle } from '../../../schemas/candle.js';
import type { Trade } from '../../../schemas/trade.js';
import { ActorRig, NOW, trade } from './rig.js';

const seqd = (from: number, trades: Trade[]) => trades.map((t, i) => ({ seq: from + i, trade: t }));

/** Five trades a second apart from `start` + 300 ms (one per 1s bar, all in one minute when `start` is early in it). */
const fiveFrom = (start: number): Trade[] => Array.from({ length: 5 }, (_, i) => trade(i, { ts: start + 300 + i * 1_000, recvTs: start + 305 + i * 1_000 }));

const closed = (rig: ActorRig, tf: string): Candle[] => rig.candles.map((c) => c.candle).filter((c) => c.tf === tf);

/** An actor with 1s and 1m bars and a 2 s grace (the worker's default), `trades` applied at the clock NOW. */
async function applied(trades: Trade[]): Promise<ActorRig> {
  const rig = new ActorRig({ timeframes: ['1s', '1m'] });
  rig.timing = { graceMs: 2_000 };
  rig.start();
  await rig.settle();
  rig.send(...seqd(1, trades));
  await rig.settle();
  expect(rig.dlq).toEqual([]);
  return rig;
}

/** The worker's wall-clock ticks, every 250 ms for `ms` of simulated time. */
async function ticks(rig: ActorRig, ms: number): Promise<void> {
  const end = rig.clock + ms;
  while (rig.clock < end) {
    rig.clock += 250;
    rig.ref!.trySend({ t: 'tick', now: rig.clock });
  }
  await rig.settle();
}

describe('SymbolActor event time: historical symbols stop at the end of their data, live ones follow the clock', () => {
  it('trades dated a year ago, then 10 minutes of ticks: the last 1s bar closes, no empty bar after it, the 1m bar stays open', async () => {
    const start = Date.UTC(2024, 5, 2, 12, 0, 10); // a year before NOW
    const rig = await applied(fiveFrom(start));
    await ticks(rig, 600_000);
    // One closed 1s bar per trade second, the last one (ending 12:00:15) included; nothing after the data.
    expect(closed(rig, '1s').map((c) => [c.openTime, c.trades])).toEqual([0, 1, 2, 3, 4].map((i) => [start + i * 1_000, 1]));
    // The 1m bar holding the trades waits for more data rather than closing on the clock.
    expect(closed(rig, '1m')).toEqual([]);
    expect(rig.state()).toMatchObject({ candles: { '1m': { openTime: start - 10_000, trades: 5 } } });
    await rig.stop();
  });

  it('trades dated now, then 10 minutes of ticks: empty 1s bars keep closing each second, and 1m bars each minute (as before)', async () => {
    const start = NOW - 5_000;
    const rig = await applied(fiveFrom(start));
    await ticks(rig, 600_000);
    const opens = closed(rig, '1s').map((c) => c.openTime);
    // Contiguous from the first trade's bar to the one the clock (10 min later, less the grace) has passed.
    expect(opens[0]).toBe(start);
    expect(opens.every((t, i) => i === 0 || t - opens[i - 1]! === 1_000)).toBe(true);
    expect(opens.at(-1)).toBe(NOW + 596_000);
    expect(closed(rig, '1s').filter((c) => c.trades === 0)).toHaveLength(opens.length - 5);
    expect(closed(rig, '1m').map((c) => c.openTime)).toEqual(Array.from({ length: 10 }, (_, i) => NOW - 60_000 + i * 60_000));
    await rig.stop();
  });

  it('a historical symbol that gets a live trade: the gap up to it is filled by the kernel when the trade is applied', async () => {
    const start = NOW - 2 * 3_600_000 + 10_000; // older than HISTORICAL_AFTER_MS
    const rig = await applied(fiveFrom(start));
    await ticks(rig, 60_000);
    expect(closed(rig, '1s')).toHaveLength(5);
    const live = trade(100, { ts: rig.clock - 500, recvTs: rig.clock - 495 });
    rig.send({ seq: 6, trade: live });
    await rig.settle();
    const opens = closed(rig, '1s').map((c) => c.openTime);
    const liveBar = live.ts - (live.ts % 1_000);
    expect(opens).toEqual(Array.from({ length: (liveBar - start) / 1_000 }, (_, i) => start + i * 1_000));
    await rig.stop();
  });
});
