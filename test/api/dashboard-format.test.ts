// The dashboard's price formatting (web/src/format.ts): precision learnt from prices, exact rounding.
import { describe, expect, it } from 'vitest';
import { PricePrecision, Precisions, significantDigits, toDigits } from '../../web/src/format.js';

describe('dashboard price precision', () => {
  it('counts the fraction digits a price really uses, ignoring the venue padding', () => {
    expect(significantDigits('27123.45000000')).toBe(2);
    expect(significantDigits('27123.40')).toBe(1);
    expect(significantDigits('27123')).toBe(0);
    expect(significantDigits('0.00001234')).toBe(8);
    expect(significantDigits('0.000000000001')).toBe(10);
    expect(significantDigits('not a price')).toBe(0);
  });

  it('rounds half-up on the decimal string, never through a float', () => {
    expect(toDigits('27121.087903293659', 2)).toBe('27121.09');
    expect(toDigits('27121.085', 2)).toBe('27121.09');
    expect(toDigits('27121.084999999999', 2)).toBe('27121.08');
    // 1.005 is 1.00499999999999989… as a double: a float-based toFixed(2) gives 1.00
    expect(toDigits('1.005', 2)).toBe('1.01');
    expect(toDigits('27121.4', 2)).toBe('27121.40');
    expect(toDigits('99.995', 2)).toBe('100.00');
    expect(toDigits('12345678901234567890.123456789', 3)).toBe('12345678901234567890.123');
    expect(toDigits('42', 0)).toBe('42');
  });

  it('learns the largest precision seen and formats prices and VWAP at it', () => {
    const p = new PricePrecision();
    expect(p.value).toBeNull();
    expect(p.format('27121.087903293659')).toBe('27121.087903293659');
    p.observe('27120.1', null, '27121.00000000');
    expect(p.value).toBe(1);
    p.observe('27121.45000000');
    expect(p.value).toBe(2);
    p.observe('27122');
    expect(p.value).toBe(2);
    expect(p.format('27121.087903293659')).toBe('27121.09');
    expect(p.format('27122')).toBe('27122.00');
  });

  it('keeps one precision per venue and symbol', () => {
    const all = new Precisions();
    all.of('binance', 'BTC-USDT').observe('27121.45');
    all.of('kraken', 'BTC-USD').observe('27121.4');
    expect(all.of('binance', 'BTC-USDT').value).toBe(2);
    expect(all.of('kraken', 'BTC-USD').value).toBe(1);
    expect(all.of('okx', 'BTC-USDT').value).toBeNull();
  });
});
