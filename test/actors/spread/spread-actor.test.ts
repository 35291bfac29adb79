import { beforeEach, describe, expect, it } from 'vitest';
import { spreadMetrics } from '../../../actors/spread/metrics.js';
import { SpreadActor } from '../../../actors/spread/spread-actor.js';
import { parseDecimal } from '../../../runtime/decimal.js';
import type { ArbitrageRecord } from '../../../schemas/arbitrage.js';
import type { Quote } from '../../../schemas/quote.js';

const T0 = Date.UTC(2030, 0, 1);
let clock = T0;
let emitted: ArbitrageRecord[] = [];
let actor: SpreadActor;

const quote = (venue: string, bidPrice: string, askPrice: string, ts = clock): Quote => ({
  venue,
  symbol: 'BTC-USDT',
  venueSymbol: 'BTCUSDT',
  bidPrice,
  bidQty: '1',
  askPrice,
  askQty: '1',
  ts,
  recvTs: ts,
});
const send = (q: Quote) => actor.receive({ t: 'quote', quote: q });
const staleCount = async (stage: string) => (await spreadMetrics.stale.get()).values.find((v) => v.labels.stage === stage)?.value ?? 0;

beforeEach(() => {
  clock = T0;
  emitted = [];
  actor = new SpreadActor('BTC-USDT', {
    staleMs: 5000,
    minBps: parseDecimal('1'),
    now: () => clock,
    emit: async (rec) => {
      emitted.push(rec);
    },
  });
});

describe('SpreadActor (one symbol, all venues; clock injected)', () => {
  it('emits the crossing pair with the later quote ts in its id', async () => {
    await send(quote('binance', '100.5', '100.6', T0 - 300));
    expect(emitted).toEqual([]);
    await send(quote('okx', '101.00', '101.1', T0 - 100));
    expect(emitted).toEqual([
      {
        id: `BTC-USDT:binance:okx:${T0 - 100}`,
        symbol: 'BTC-USDT',
        ts: T0 - 100,
        buyVenue: 'binance',
        sellVenue: 'okx',
        ask: '100.6',
        bid: '101.00',
        spreadBps: '39.7614',
      },
    ]);
  });

  it('does not repeat an unchanged pair and prices (new ts, other scale), emits again when a price moves', async () => {
    await send(quote('binance', '100.5', '100.6'));
    await send(quote('okx', '101.00', '101.1'));
    clock += 10;
    await send(quote('okx', '101.0', '101.2')); // same bid by value, ask irrelevant to the pair
    await send(quote('binance', '100.4', '100.60')); // same ask by value
    expect(emitted).toHaveLength(1);
    clock += 10;
    await send(quote('okx', '101.01', '101.2'));
    expect(emitted.map((e) => [e.bid, e.spreadBps, e.ts])).toEqual([
      ['101.00', '39.7614', T0],
      ['101.01', '40.7555', T0 + 20],
    ]);
  });

  it('after the crossing disappears, the same pair crossing again is a new opportunity', async () => {
    await send(quote('binance', '100.5', '100.6'));
    await send(quote('okx', '101.00', '101.1'));
    clock += 1000;
    await send(quote('okx', '100.5', '100.7')); // no cross
    clock += 1000;
    await send(quote('okx', '101.00', '101.1'));
    expect(emitted.map((e) => e.id)).toEqual([`BTC-USDT:binance:okx:${T0}`, `BTC-USDT:binance:okx:${T0 + 2000}`]);
  });

  it('does not emit below the threshold or for a crossing on one venue only', async () => {
    await send(quote('kraken', '101.5', '99.0')); // alone, crossed with itself…
    expect(emitted).toEqual([]);
    clock += 5001; // …and gone before the others arrive
    await send(quote('binance', '100.005', '100.2'));
    await send(quote('okx', '99.9', '100.0')); // binance bid over okx ask by 0.5 bps
    expect(emitted).toEqual([]);
  });

  it('drops a quote that arrives stale and forgets quotes that aged out before comparing', async () => {
    const arrival = await staleCount('arrival');
    const expired = await staleCount('expired');
    await send(quote('binance', '100.5', '100.6', T0 - 5001));
    await send(quote('okx', '101.00', '101.1'));
    expect(emitted).toEqual([]);
    expect(await staleCount('arrival')).toBe(arrival + 1);

    await send(quote('binance', '100.5', '100.6', T0 - 4000)); // fresh enough now…
    expect(emitted).toHaveLength(1);
    clock += 1500; // …but 5500 ms old at the next comparison
    await send(quote('okx', '101.02', '101.1'));
    expect(emitted).toHaveLength(1);
    expect(await staleCount('expired')).toBe(expired + 1);
  });

  it('ignores an out-of-order quote older than the one held for its venue', async () => {
    await send(quote('binance', '100.5', '100.6', T0));
    await send(quote('binance', '100.5', '99.0', T0 - 1)); // older: would cross
    await send(quote('okx', '100.55', '101.1', T0));
    expect(emitted).toEqual([]);
  });

  it('treats a zero price as an empty side', async () => {
    await send(quote('binance', '100.5', '0'));
    await send(quote('okx', '101.00', '101.1'));
    expect(emitted).toEqual([]);
  });
});
