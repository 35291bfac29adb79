import { describe, expect, it } from 'vitest';
import { DerivsMerger } from '../../../actors/feed/derivs-merge.js';
import type { DerivTicker } from '../../../schemas/deriv.js';
import { BybitDerivsAdapter, bybitDerivs } from '../../../venues/bybit/derivs.js';
import { newDerivsOutput } from '../../../venues/kit/derivs.js';

// bybit-exchange.github.io/docs/v5/websocket/public/ticker (linear snapshot example) and
// .../all-liquidation (example push).
const RECV = 1_673_272_861_700;
const SNAPSHOT = JSON.stringify({
  topic: 'tickers.BTCUSDT',
  type: 'snapshot',
  data: {
    symbol: 'BTCUSDT',
    tickDirection: 'PlusTick',
    price24hPcnt: '0.017103',
    lastPrice: '17216.00',
    prevPrice24h: '16926.50',
    highPrice24h: '17281.50',
    lowPrice24h: '16915.00',
    prevPrice1h: '17238.00',
    markPrice: '17217.33',
    indexPrice: '17227.36',
    openInterest: '68744.761',
    openInterestValue: '1183601235.91',
    turnover24h: '1570383121.943499',
    volume24h: '91705.276',
    nextFundingTime: '1673280000000',
    fundingRate: '-0.000212',
    bid1Price: '17215.50',
    bid1Size: '84.489',
    ask1Price: '17216.00',
    ask1Size: '83.020',
  },
  cs: 24987956059,
  ts: 1673272861686,
});
// A delta omits what did not change: only the mark price and open interest moved.
const DELTA = JSON.stringify({ topic: 'tickers.BTCUSDT', type: 'delta', data: { symbol: 'BTCUSDT', markPrice: '17218.01', openInterest: '68750.001', bid1Price: '17215.00' }, cs: 24987956062, ts: 1673272862686 });

function adapter(): BybitDerivsAdapter {
  const a = new BybitDerivsAdapter();
  expect(a.subscribeFrames(['BTC-USDT-PERP', 'ETH-USDC-PERP'], () => 7)).toEqual([
    '{"op":"subscribe","args":["tickers.BTCUSDT","allLiquidation.BTCUSDT","tickers.ETHPERP","allLiquidation.ETHPERP"],"req_id":"7"}',
  ]);
  return a;
}

describe('Bybit v5 linear derivatives', () => {
  it('the linear endpoint beside the configured spot one', () => {
    expect(bybitDerivs.wsUrl!('wss://stream.bybit.com/v5/public/spot')).toBe('wss://stream.bybit.com/v5/public/linear');
    expect(bybitDerivs.wsUrl!('ws://127.0.0.1:9000/v5/public/spot')).toBe('ws://127.0.0.1:9000/v5/public/linear');
  });

  it('tickers: the snapshot, then a partial delta merged into it (the fields the delta omits stay)', () => {
    const a = adapter();
    const out = newDerivsOutput();
    expect(a.parse(SNAPSHOT, RECV, out)).toBe('data');
    expect(a.parse(DELTA, RECV + 1000, out)).toBe('data');
    expect(out.patches[1]!.values).toEqual({ markPrice: '17218.01', openInterest: '68750.001' });
    const m = new DerivsMerger({ venue: 'bybit', minIntervalMs: 1000, defaultFundingIntervalMs: 8 * 3_600_000 });
    for (const p of out.patches) m.apply(p);
    const due: DerivTicker[] = [];
    m.due(RECV + 1000, due);
    expect(due).toEqual([
      {
        venue: 'bybit',
        symbol: 'BTC-USDT-PERP',
        venueSymbol: 'BTCUSDT',
        markPrice: '17218.01',
        indexPrice: '17227.36',
        lastPrice: '17216.00',
        fundingRate: '-0.000212',
        nextFundingTime: 1673280000000,
        fundingIntervalMs: 8 * 3_600_000,
        predictedFundingRate: null,
        openInterest: '68750.001',
        openInterestValue: '1183601235.91',
        venueOpenInterest: null,
        ts: 1673272862686,
        recvTs: RECV + 1000,
      },
    ]);
  });

  it('allLiquidation: S is the liquidated position, so Sell (a short) is closed by a buy order; USDC perpetuals map', () => {
    const a = adapter();
    const out = newDerivsOutput();
    const frame = JSON.stringify({ topic: 'allLiquidation.BTCUSDT', type: 'snapshot', ts: 1739502303204, data: [{ T: 1739502302929, s: 'BTCUSDT', S: 'Sell', v: '0.02', p: '95123.5' }, { T: 1739502302930, s: 'BTCUSDT', S: 'Buy', v: '1.5', p: '95000' }] });
    expect(a.parse(frame, RECV, out)).toBe('data');
    expect(out.liquidations.map((l) => [l.symbol, l.side, l.price, l.qty, l.ts, l.sampled])).toEqual([
      ['BTC-USDT-PERP', 'buy', '95123.5', '0.02', 1739502302929, false],
      ['BTC-USDT-PERP', 'sell', '95000', '1.5', 1739502302930, false],
    ]);
    const usdc = newDerivsOutput();
    a.parse(JSON.stringify({ topic: 'tickers.ETHPERP', type: 'snapshot', ts: 5, data: { symbol: 'ETHPERP', markPrice: '1600.1', fundingRate: '', nextFundingTime: '0', fundingIntervalHour: '4' } }), RECV, usdc);
    expect(usdc.patches.map((p) => [p.symbol, p.values])).toEqual([['ETH-USDC-PERP', { markPrice: '1600.1', fundingRate: null, nextFundingTime: null, fundingIntervalMs: 4 * 3_600_000 }]]);
  });

  it('pongs and acks are control frames; a wrong field type is a reject naming it', () => {
    const a = adapter();
    const out = newDerivsOutput();
    expect(a.parse('{"success":true,"ret_msg":"pong","conn_id":"x","op":"ping"}', RECV, out)).toBe('pong');
    expect(a.parse('{"success":true,"ret_msg":"","conn_id":"x","op":"subscribe"}', RECV, out)).toBe('ack');
    expect(a.parse(JSON.stringify({ topic: 'tickers.BTCUSDT', type: 'delta', ts: 1, data: { symbol: 'BTCUSDT', markPrice: 17218.01 } }), RECV, out)).toBe('reject');
    expect(out.rejects.map((r) => r.schemaPath)).toEqual(['/data/markPrice']);
  });
});
