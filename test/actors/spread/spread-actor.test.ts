import { beforeEach, describe, expect, it } from 'vitest';
import { loadSpreadConfig, spreadCosts } from '../../../actors/spread/config.js';
import { SpreadActor, type SpreadMsg } from '../../../actors/spread/spread-actor.js';
import { ArbitrageRecordCheck, type ArbitrageRecord } from '../../../schemas/arbitrage.js';
import type { BookEvent, BookLevel, BookSnap } from '../../../schemas/book.js';
import type { DerivTicker } from '../../../schemas/deriv.js';
import type { Quote } from '../../../schemas/quote.js';

const T0 = Date.UTC(2030, 0, 1);
let clock = T0;
let events: ArbitrageRecord[] = [];
let rows: ArbitrageRecord[] = [];

function actor(symbol: string, env: Record<string, string> = {}): SpreadActor {
  const cfg = loadSpreadConfig({ TICKWORK_ARB_FEES_BPS: 'binance:10,okx:10', TICKWORK_ARB_OPEN_AFTER_MS: '300', TICKWORK_ARB_HYSTERESIS_BPS: '1', ...env });
  return new SpreadActor(symbol, {
    costs: spreadCosts(cfg),
    staleMs: cfg.TICKWORK_ARB_STALE_MS,
    fundingStaleMs: cfg.TICKWORK_ARB_FUNDING_STALE_MS,
    openAfterMs: cfg.TICKWORK_ARB_OPEN_AFTER_MS,
    updateMs: cfg.TICKWORK_ARB_UPDATE_MS,
    now: () => clock,
    emit: async (event, row) => {
      events.push(event);
      rows.push(row);
    },
  });
}

/** Advances the clock in 100 ms evaluation ticks up to `to`. */
async function tickTo(a: SpreadActor, to: number): Promise<void> {
  while (clock < to) {
    clock = Math.min(to, clock + 100);
    await a.receive({ t: 'tick' });
  }
}

const quote = (venue: string, bidPrice: string, bidQty: string, askPrice: string, askQty: string): SpreadMsg => ({
  t: 'quote',
  quote: { venue, symbol: 'BTC-USDT', venueSymbol: 'BTCUSDT', bidPrice, bidQty, askPrice, askQty, ts: clock, recvTs: clock } satisfies Quote,
});

const seqs = new Map<string, number>();
function book(venue: string, type: BookEvent['type'], bids: BookLevel[], asks: BookLevel[], over: Partial<BookEvent> = {}): SpreadMsg {
  const seq = (seqs.get(venue) ?? 0) + 1;
  seqs.set(venue, seq);
  return { t: 'book', event: { venue, symbol: 'BTC-USDT', type, epoch: 1, seq, prevSeq: seq - 1, state: 'live', bids, asks, ts: clock, recvTs: clock, ...over } };
}

beforeEach(() => {
  clock = T0;
  events = [];
  rows = [];
  seqs.clear();
});

describe('SpreadActor: book walk net of fees, episodes (clock injected)', () => {
  it('quotes as one-level books: opens after K ms, updates on change, closes below threshold − hysteresis; rows carry the peak', async () => {
    const a = actor('BTC-USDT');
    await a.receive(quote('binance', '99.9', '5', '100', '2'));
    await a.receive(quote('okx', '100.5', '1.5', '100.6', '3'));
    // buy 1.5 on binance at 100, sell on okx at 100.5: net = 150.75×0.999 − 150×1.001 = 0.44925; / 150.15 = 29.9201 bps
    expect(events).toEqual([]);
    await tickTo(a, T0 + 300);
    expect(events.map((e) => [e.event, e.buyVenue, e.sellVenue, e.startedAt, e.size, e.netQuote, e.netBps, e.ask, e.bid, e.spreadBps])).toEqual([
      ['open', 'binance', 'okx', T0, '1.5', '0.44925', '29.9201', '100', '100.5', '50.0000'],
    ]);
    const open = events[0]!;
    expect(ArbitrageRecordCheck.Check(open)).toBe(true);
    expect([open.id, open.episodeId, open.kind, open.quote, open.notional, open.endedAt]).toEqual([
      `BTC-USDT:binance:okx:${T0}:open:${T0 + 300}`,
      `BTC-USDT:binance:okx:${T0}`,
      'book',
      'USDT',
      '150',
      null,
    ]);
    clock = T0 + 1400;
    await a.receive(quote('okx', '100.2', '1.5', '100.6', '3')); // 100.2 × 0.999 = 100.0998 < 100 × 1.001: gone after fees
    expect(events.map((e) => [e.event, e.endedAt, e.peakBps])).toEqual([
      ['open', null, '29.9201'],
      ['close', T0 + 1400, '29.9201'],
    ]);
    expect(rows.at(-1)).toMatchObject({ id: `BTC-USDT:binance:okx:${T0}`, event: 'close', size: '1.5', netBps: '29.9201', peakBps: '29.9201', avgBps: '29.9201' });
  });

  it('a book walk through several levels; the fees exceeding the spread give nothing', async () => {
    const a = actor('BTC-USDT', { TICKWORK_ARB_OPEN_AFTER_MS: '0' });
    await a.receive(book('binance', 'snapshot', [['99', '1']], [['100.0', '1.0'], ['100.5', '2.0'], ['101.0', '5']]));
    await a.receive(book('okx', 'snapshot', [['101.2', '0.5'], ['101.0', '1.5'], ['100.8', '3']], [['102', '1']]));
    // the hand-computed walk of book-walk.test.ts: Q* 3, net 1.2961, 43.0168 bps
    expect(events.map((e) => [e.event, e.size, e.netQuote, e.netBps])).toEqual([['open', '3', '1.2961', '43.0168']]);
    const b = actor('BTC-USDT', { TICKWORK_ARB_FEES_BPS: 'binance:60,okx:60', TICKWORK_ARB_OPEN_AFTER_MS: '0' });
    events = [];
    seqs.clear();
    await b.receive(book('binance', 'snapshot', [['99', '1']], [['100.0', '1.0'], ['100.5', '2.0']]));
    await b.receive(book('okx', 'snapshot', [['101.2', '0.5'], ['101.0', '1.5']], [['102', '1']]));
    await tickTo(b, T0 + 2000);
    expect(events).toEqual([]);
  });

  it('a lost md.book event stops the pair until MD_BOOKS gives a snapshot the buffered events continue', async () => {
    const a = actor('BTC-USDT', { TICKWORK_ARB_OPEN_AFTER_MS: '0' });
    await a.receive(book('binance', 'snapshot', [['99', '1']], [['100', '1']]));
    await a.receive(book('okx', 'snapshot', [['101', '1']], [['102', '1']]));
    expect(events.map((e) => e.event)).toEqual(['open']);
    seqs.set('okx', seqs.get('okx')! + 1); // seq 2 of okx never arrives
    clock += 10;
    await a.receive(book('okx', 'delta', [['101.5', '2']], [])); // seq 3: out of sequence
    expect(events.map((e) => e.event)).toEqual(['open', 'close']);
    // MD_BOOKS: the top-N as of seq 2 (the lost event), then seq 3 applies on top of it
    const snap: BookSnap = { venue: 'okx', symbol: 'BTC-USDT', epoch: 1, seq: 2, state: 'live', depth: 50, bids: [['101', '1']], asks: [['102', '1']], ts: clock, recvTs: clock };
    await a.receive({ t: 'snap', snap });
    expect(events.map((e) => [e.event, e.size, e.bid])).toEqual([
      ['open', '1', '101'],
      ['close', '1', '101'],
      ['open', '1', '101.5'],
    ]);
  });

  it('a book that is not live or received too long ago takes no part', async () => {
    const a = actor('BTC-USDT', { TICKWORK_ARB_OPEN_AFTER_MS: '0', TICKWORK_ARB_STALE_MS: '1000' });
    await a.receive(book('binance', 'snapshot', [['99', '1']], [['100', '1']]));
    await a.receive(book('okx', 'snapshot', [['101', '1']], [['102', '1']]));
    clock += 200;
    await a.receive(book('okx', 'status', [], [], { state: 'syncing', reason: 'gap' }));
    await a.receive(book('okx', 'snapshot', [['101', '1']], [['102', '1']], { epoch: 2 }));
    await tickTo(a, clock + 1000); // binance's book is 1.2 s old now
    expect(events.map((e) => [e.event, e.startedAt, e.endedAt])).toEqual([
      ['open', T0, null],
      ['close', T0, T0 + 200],
      ['open', T0 + 200, null],
      ['close', T0 + 200, T0 + 1100],
    ]);
  });
});

describe('SpreadActor: funding spreads between perpetual venues', () => {
  const ticker = (venue: string, fundingRate: string, fundingIntervalMs: number, markPrice = '27000'): SpreadMsg => ({
    t: 'deriv',
    ticker: {
      venue,
      symbol: 'BTC-USDT-PERP',
      venueSymbol: 'BTCUSDT',
      markPrice,
      indexPrice: null,
      lastPrice: null,
      fundingRate,
      nextFundingTime: T0 + 3_600_000,
      fundingIntervalMs,
      predictedFundingRate: null,
      openInterest: null,
      openInterestValue: null,
      venueOpenInterest: null,
      ts: clock,
      recvTs: clock,
    } satisfies DerivTicker,
  });

  it('normalizes rates to 8 h: 0.0001 per 8 h vs 0.0001 per 4 h is 1 bp per 8 h, long where lower', async () => {
    const a = actor('BTC-USDT-PERP', { TICKWORK_ARB_OPEN_AFTER_MS: '0', TICKWORK_ARB_FUNDING_MIN_BPS: '0.5' });
    await a.receive(ticker('binance-futures', '0.0001', 8 * 3_600_000, '27000.1'));
    await a.receive(ticker('okx', '0.0001', 4 * 3_600_000, '27000.2'));
    expect(events.map((e) => [e.kind, e.event, e.buyVenue, e.sellVenue, e.netBps, e.buyFundingRate, e.sellFundingRate, e.fundingIntervalMs, e.ask, e.bid])).toEqual([
      ['funding', 'open', 'binance-futures', 'okx', '1.0000', '0.0001', '0.0002', 8 * 3_600_000, '27000.1', '27000.2'],
    ]);
    expect(events[0]!.episodeId).toBe(`BTC-USDT-PERP:binance-futures:okx:funding:${T0}`);
    clock += 1000;
    await a.receive(ticker('okx', '0.00005', 4 * 3_600_000));
    expect(events.map((e) => e.event)).toEqual(['open', 'close']);
  });
});
