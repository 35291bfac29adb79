import { describe, expect, it } from 'vitest';
import { spreadBps } from '../../../actors/spread/crossing.js';
import { parseDecimal as d } from '../../../runtime/decimal.js';

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
