import { describe, expect, it } from 'vitest';
import { DerivsMerger } from '../../../actors/feed/derivs-merge.js';
import type { DerivTicker } from '../../../schemas/deriv.js';
import { newDerivsOutput } from '../../../venues/kit/derivs.js';
import { OkxDerivsAdapter, okxDerivs } from '../../../venues/okx/derivs.js';

// okx.com/docs-v5 public data channels: funding-rate, open-interest, mark-price, index-tickers,
// liquidation-orders (push data examples, on BTC-USDT-SWAP).
const RECV = 1_700_724_675_500;
const push = (channel: string, data: unknown[], arg: Record<string, string> = { instId: 'BTC-USDT-SWAP' }) => JSON.stringify({ arg: { channel, ...arg }, data });

function adapter(): OkxDerivsAdapter {
  const a = new OkxDerivsAdapter();
  expect(a.subscribeFrames(['BTC-USDT-PERP'], () => 3).map((f) => JSON.parse(f) as unknown)).toEqual([
    {
      id: '3',
      op: 'subscribe',
      args: [
        { channel: 'funding-rate', instId: 'BTC-USDT-SWAP' },
        { channel: 'open-interest', instId: 'BTC-USDT-SWAP' },
        { channel: 'mark-price', instId: 'BTC-USDT-SWAP' },
        { channel: 'index-tickers', instId: 'BTC-USDT' },
        { channel: 'liquidation-orders', instType: 'SWAP' },
      ],
    },
  ]);
  a.setContractValues(okxDerivs.contracts!.parse(JSON.stringify({ code: '0', msg: '', data: [
    { instId: 'BTC-USDT-SWAP', ctVal: '0.01', ctValCcy: 'BTC', ctType: 'linear' },
    { instId: 'BTC-USD-SWAP', ctVal: '100', ctValCcy: 'USD', ctType: 'inverse' },
  ] })));
  return a;
}

const FUNDING = {
  formulaType: 'noRate',
  fundingRate: '0.0001875391284828',
  fundingTime: '1700726400000',
  impactValue: '',
  instId: 'BTC-USDT-SWAP',
  instType: 'SWAP',
  interestRate: '',
  maxFundingRate: '0.00375',
  method: 'current_period',
  minFundingRate: '-0.00375',
  nextFundingRate: '',
  nextFundingTime: '1700755200000',
  premium: '0.0001233824646391',
  settFundingRate: '0.0001699799259033',
  settState: 'settled',
  ts: '1700724675402',
};

describe('OKX v5 swap derivatives', () => {
  it('funding-rate: fundingTime is the NEXT settlement (not the event time); the interval is nextFundingTime − fundingTime', () => {
    const out = newDerivsOutput();
    expect(adapter().parse(push('funding-rate', [FUNDING]), RECV, out)).toBe('data');
    expect(out.patches).toEqual([
      {
        venue: 'okx',
        symbol: 'BTC-USDT-PERP',
        venueSymbol: 'BTC-USDT-SWAP',
        values: { fundingRate: '0.0001875391284828', nextFundingTime: 1700726400000, predictedFundingRate: null, fundingIntervalMs: 8 * 3_600_000 },
        ts: 1700724675402,
        recvTs: RECV,
      },
    ]);
  });

  it('funding-rate through the merge: when fundingTime rolls, the settlement recorded is the old fundingTime (not the push time) with the last rate announced for it', () => {
    const a = adapter();
    const m = new DerivsMerger({ venue: 'okx', minIntervalMs: 0 });
    const feed = (d: typeof FUNDING) => {
      const out = newDerivsOutput();
      expect(a.parse(push('funding-rate', [d]), RECV, out)).toBe('data');
      for (const p of out.patches) m.apply(p);
      const t: DerivTicker[] = [];
      m.due(Number(d.ts), t);
      return t;
    };
    expect(feed(FUNDING)[0]!.settled).toBeUndefined();
    // a later push before the settlement: the rate for 1700726400000 moved
    expect(feed({ ...FUNDING, fundingRate: '0.0001901', ts: '1700726399000' })[0]!.settled).toBeUndefined();
    // after it: fundingTime is the one after, 8 h later
    const [t] = feed({ ...FUNDING, fundingRate: '0.00005', fundingTime: '1700755200000', nextFundingTime: '1700784000000', ts: '1700726401000' });
    expect(t!.settled).toEqual({ fundingRate: '0.0001901', fundingTime: 1700726400000, fundingIntervalMs: 8 * 3_600_000 });
    expect([t!.fundingRate, t!.nextFundingTime, t!.ts]).toEqual(['0.00005', 1700755200000, 1700726401000]);
  });

  it('open-interest (oiCcy = base units, oi = contracts), mark-price and index-tickers merge into one ticker', () => {
    const a = adapter();
    const out = newDerivsOutput();
    a.parse(push('funding-rate', [FUNDING]), RECV, out);
    a.parse(push('open-interest', [{ instId: 'BTC-USDT-SWAP', instType: 'SWAP', oi: '2216113.01', oiCcy: '22161.1301', oiUsd: '826541005.68', ts: '1700724675500' }]), RECV + 1, out);
    a.parse(push('mark-price', [{ instId: 'BTC-USDT-SWAP', instType: 'SWAP', markPx: '37296.4', ts: '1700724675600' }]), RECV + 2, out);
    a.parse(push('index-tickers', [{ instId: 'BTC-USDT', idxPx: '37301.1', high24h: '37460', low24h: '36700', open24h: '37000', sodUtc0: '37100', sodUtc8: '37200', ts: '1700724675550' }], { instId: 'BTC-USDT' }), RECV + 3, out);
    const m = new DerivsMerger({ venue: 'okx', minIntervalMs: 1000 });
    for (const p of out.patches) m.apply(p);
    const due: DerivTicker[] = [];
    m.due(RECV + 3, due);
    expect(due).toEqual([
      {
        venue: 'okx',
        symbol: 'BTC-USDT-PERP',
        venueSymbol: 'BTC-USDT-SWAP',
        markPrice: '37296.4',
        indexPrice: '37301.1',
        lastPrice: null,
        fundingRate: '0.0001875391284828',
        nextFundingTime: 1700726400000,
        fundingIntervalMs: 28_800_000,
        predictedFundingRate: null,
        openInterest: '22161.1301',
        openInterestValue: null,
        venueOpenInterest: '2216113.01',
        ts: 1700724675600,
        recvTs: RECV + 3,
      },
    ]);
  });

  it('liquidation-orders: the first push after subscribing (a replay of recent ones) is skipped; sizes × ctVal; other instruments ignored', () => {
    const a = adapter();
    const frame = push(
      'liquidation-orders',
      [
        { details: [{ bkLoss: '0', bkPx: '37301.5', ccy: '', posSide: 'short', side: 'buy', sz: '13', ts: '1700724675700' }], instFamily: 'BTC-USDT', instId: 'BTC-USDT-SWAP', instType: 'SWAP', uly: 'BTC-USDT' },
        { details: [{ bkLoss: '0', bkPx: '0.007831', ccy: '', posSide: 'short', side: 'buy', sz: '13', ts: '1692266434010' }], instFamily: 'IOST-USDT', instId: 'IOST-USDT-SWAP', instType: 'SWAP', uly: 'IOST-USDT' },
      ],
      { instType: 'SWAP' },
    );
    const first = newDerivsOutput();
    expect(a.parse(frame, RECV, first)).toBe('ignored:liquidation-replay');
    expect(first.liquidations).toEqual([]);
    const out = newDerivsOutput();
    expect(a.parse(frame, RECV, out)).toBe('data');
    expect(out.liquidations).toEqual([
      { venue: 'okx', symbol: 'BTC-USDT-PERP', venueSymbol: 'BTC-USDT-SWAP', side: 'buy', price: '37301.5', qty: '0.13', venueQty: '13', ts: 1700724675700, recvTs: RECV, sampled: false },
    ]);
  });

  it('without contract values, liquidations in contracts are not published (no base quantity to give)', () => {
    const a = new OkxDerivsAdapter();
    a.subscribeFrames(['BTC-USDT-PERP'], () => 1);
    const frame = push('liquidation-orders', [{ details: [{ bkPx: '37301.5', side: 'sell', sz: '2', ts: '1' }], instId: 'BTC-USDT-SWAP' }], { instType: 'SWAP' });
    a.parse(frame, RECV, newDerivsOutput());
    const out = newDerivsOutput();
    expect(a.parse(frame, RECV, out)).toBe('ignored:contract-value-unknown');
    expect(out.liquidations).toEqual([]);
  });

  it('events, pong and malformed pushes', () => {
    const a = adapter();
    const out = newDerivsOutput();
    expect(a.parse('pong', RECV, out)).toBe('pong');
    expect(a.parse('{"event":"subscribe","arg":{"channel":"mark-price","instId":"BTC-USDT-SWAP"},"connId":"a4d3ae55"}', RECV, out)).toBe('ack');
    expect(a.parse(push('mark-price', [{ instId: 'BTC-USDT-SWAP', markPx: 37296.4, ts: '1' }]), RECV, out)).toBe('reject');
    expect(a.parse(push('funding-rate', [{ ...FUNDING, fundingTime: 1700726400000 }]), RECV, out)).toBe('reject');
    expect(out.rejects.map((r) => r.schemaPath)).toEqual(['/data/0/markPx', '/data/0/fundingTime']);
  });
});
