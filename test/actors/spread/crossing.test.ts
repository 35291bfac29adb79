import { describe, expect, it } from 'vitest';
import { bestCrossing, crossesBy, sameCrossing, spreadBps, type VenueTop } from '../../../actors/spread/crossing.js';
import { parseDecimal as d } from '../../../runtime/decimal.js';

const top = (venue: string, bid: string, ask: string, ts = 1): VenueTop => ({ venue, bid: d(bid), ask: d(ask), bidText: bid, askText: ask, ts });

// Expected values computed independently (Python decimal, 60 digits, ROUND_HALF_UP).
describe('spreadBps: (bid − ask) / ask × 10000, exact, 4 decimals half-up', () => {
  it.each([
    ['101.00', '100.6', '39.7614'],
    ['65010.5', '65000.10000000', '1.6000'], // 1.59999753…: scales 1 and 8 aligned exactly
    ['0.00002361', '0.0000236', '4.2373'],
    ['1.000000005', '1', '0.0001'], // exactly 0.00005: the tie rounds away from zero
    ['99', '100', '-100.0000'],
    ['100009999.6', '100000000', '1.0000'], // 0.99996 shown as 1.0000
  ])('bid %s ask %s → %s', (bid, ask, bps) => {
    expect(spreadBps(d(bid), d(ask))).toBe(bps);
  });
});

describe('crossesBy: the threshold is decided on the exact, unrounded spread', () => {
  it('exactly at the threshold crosses; a hair below does not, even when it rounds to the threshold', () => {
    expect(crossesBy(d('10001'), d('10000'), d('1'))).toBe(true); // exactly 1 bps
    expect(crossesBy(d('10000.9999'), d('10000'), d('1'))).toBe(false);
    expect(crossesBy(d('100009999.6'), d('100000000'), d('1'))).toBe(false); // 0.99996 bps
    expect(crossesBy(d('100010000.0000'), d('100000000'), d('1.0'))).toBe(true);
  });

  it('with minBps 0 the bid must still exceed the ask', () => {
    expect(crossesBy(d('100.0'), d('100'), d('0'))).toBe(false);
    expect(crossesBy(d('100.00000001'), d('100'), d('0'))).toBe(true);
    expect(crossesBy(d('99'), d('100'), d('0'))).toBe(false);
  });
});

describe('bestCrossing', () => {
  it('picks the largest bid/ask ratio over distinct venues; a venue crossed with itself does not count', () => {
    const tops = [top('binance', '100.0', '100.2'), top('okx', '100.9', '101.0'), top('kraken', '101.5', '99.0')];
    const best = bestCrossing(tops, d('1'));
    expect(best && { buy: best.buy.venue, sell: best.sell.venue }).toEqual({ buy: 'kraken', sell: 'okx' });
    expect(spreadBps(best!.sell.bid!, best!.buy.ask!)).toBe('191.9192');
  });

  it('is null when nothing crosses by minBps, or with one venue only', () => {
    expect(bestCrossing([top('binance', '100.0', '100.2'), top('okx', '100.1', '100.3')], d('1'))).toBeNull();
    expect(bestCrossing([top('binance', '100.005', '100.2'), top('okx', '99.9', '100.0')], d('1'))).toBeNull(); // 0.5 bps
    expect(bestCrossing([top('kraken', '101.5', '99.0')], d('0'))).toBeNull();
  });

  it('ignores an empty side and breaks ties by venue name, whatever the input order', () => {
    const empty: VenueTop = { ...top('bybit', '0', '0'), bid: null, ask: null };
    const tops = [top('okx', '99', '100.00'), empty, top('binance', '99', '100.0'), top('kraken', '101', '102')];
    for (const order of [tops, [...tops].reverse()]) {
      const best = bestCrossing(order, d('1'))!;
      expect([best.buy.venue, best.sell.venue]).toEqual(['binance', 'kraken']);
    }
  });

  it('sameCrossing compares prices by value and the pair by venue', () => {
    const a = { buy: top('binance', '1', '100.50'), sell: top('okx', '101.0', '102') };
    expect(sameCrossing(a, { buy: top('binance', '2', '100.5', 9), sell: top('okx', '101', '103', 9) })).toBe(true);
    expect(sameCrossing(a, { buy: top('binance', '1', '100.51'), sell: top('okx', '101.0', '102') })).toBe(false);
    expect(sameCrossing(a, { buy: top('kraken', '1', '100.50'), sell: top('okx', '101.0', '102') })).toBe(false);
  });
});
