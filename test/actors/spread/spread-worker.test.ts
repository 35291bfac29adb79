import { DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSpreadConfig } from '../../../actors/spread/config.js';
import { startSpread } from '../../../app/spread.js';
import { ensureMarketStreams, loadStreamsConfig } from '../../../app/streams.js';
import type { NatsHandles } from '../../../runtime/nats/index.js';
import { startProcess, type ProcessContext } from '../../../runtime/process.js';
import { ArbitrageRecordCheck, type ArbitrageRecord } from '../../../schemas/arbitrage.js';
import { BOOK_STREAM, bookSnapMsgId, bookSnapSubject, bookSubject, type BookEvent, type BookSnap } from '../../../schemas/book.js';
import { derivMsgId, derivSubject, type DerivTicker } from '../../../schemas/deriv.js';
import type { Quote } from '../../../schemas/quote.js';
import { quoteSubject, STREAMS } from '../../../schemas/subjects.js';
import { ArbitrageStore } from '../../../store/arbitrage.js';
import { FundingStore } from '../../../store/funding.js';
import { isolated } from '../../harness.js';

// Real NATS (core md.book, JetStream MD_QUOTES, MD_BOOKS, MD_DERIVS → MD_ARB) and PostgreSQL
// (arbitrage_episodes, funding_rates), namespace t<id>.
const iso = isolated();
let ctx: ProcessContext;
let nats: NatsHandles;
let store: ArbitrageStore;
let funding: FundingStore;
let spread: { stop(): Promise<void> };
let seq = 0;

const settings = () => ({
  spread: loadSpreadConfig({
    TICKWORK_ARB_FEES_BPS: 'binance:10,okx:10,bybit:10',
    TICKWORK_ARB_OPEN_AFTER_MS: '0',
    TICKWORK_ARB_FLUSH_MS: '50',
    TICKWORK_ARB_TICK_MS: '50',
    TICKWORK_ARB_FUNDING_MIN_BPS: '0.5',
  }),
  retentionMs: null,
});

const quote = (venue: string, symbol: string, bidPrice: string, askPrice: string, qty = '2'): Quote => {
  const ts = Date.now();
  return { venue, symbol, venueSymbol: symbol.replace('-', ''), bidPrice, bidQty: qty, askPrice, askQty: qty, ts, recvTs: ts };
};

async function publishQuote(q: Quote): Promise<void> {
  await nats.js.publish(iso.ns.subject(quoteSubject(q.venue, q.symbol)), JSON.stringify(q), { msgID: `q${++seq}` });
}

/** md.arb messages of `symbol` in MD_ARB, read until `count` arrived (or 15 s passed), plus any extra already stored. */
async function arbMessages(symbol: string, count: number): Promise<ArbitrageRecord[]> {
  const consumer = await nats.js.consumers.get(iso.ns.stream(STREAMS.arb), { filter_subjects: iso.ns.subject(`md.arb.${symbol}`), deliver_policy: DeliverPolicy.All });
  const out: JsMsg[] = [];
  const deadline = Date.now() + 15_000;
  while (out.length < count && Date.now() < deadline) {
    const m = await consumer.next({ expires: 1000 });
    if (m) out.push(m);
  }
  const left = (await consumer.info()).num_pending;
  for (let i = 0; i < left; i++) {
    const m = await consumer.next({ expires: 1000 });
    if (m) out.push(m);
  }
  return out.map((m) => {
    const r = m.json<ArbitrageRecord>();
    expect(ArbitrageRecordCheck.Check(r)).toBe(true);
    expect(m.headers?.get('Nats-Msg-Id')).toBe(r.id);
    return r;
  });
}

/** Polls until `check` holds (a generous deadline, no fixed sleeps). */
async function until<T>(read: () => Promise<T>, check: (v: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (check(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  ctx = await startProcess({ role: 'spread-test', needs: ['nats', 'pg'], env: iso.env, httpPort: 0, installSignalHandlers: false });
  await ensureMarketStreams(ctx.nats!.jsm, ctx.ns, loadStreamsConfig(iso.env));
  spread = await startSpread(ctx, settings());
  nats = await iso.nats();
  store = new ArbitrageStore(iso.sql(), { schema: iso.ns.pgSchema, retentionMs: null });
  funding = new FundingStore(iso.sql(), { schema: iso.ns.pgSchema });
});
afterAll(async () => {
  await ctx?.lifecycle.shutdown();
  await iso.cleanup();
});

describe('spread worker (real NATS JetStream + core NATS + PostgreSQL)', () => {
  it('quotes: an episode opens on md.arb with its Nats-Msg-Id, closes when the crossing goes, one PostgreSQL row carries it', async () => {
    await publishQuote(quote('binance', 'BTC-USDT', '99.9', '100'));
    await publishQuote(quote('okx', 'BTC-USDT', '100.5', '100.6'));
    const opened = await arbMessages('BTC-USDT', 1);
    expect(opened.map((r) => [r.event, r.kind, r.buyVenue, r.sellVenue, r.size, r.netQuote, r.netBps])).toEqual([
      // 2 × (100.5 × 0.999 − 100 × 1.001) = 0.599; / 200.2 = 29.9201 bps
      ['open', 'book', 'binance', 'okx', '2', '0.599', '29.9201'],
    ]);
    await publishQuote(quote('okx', 'BTC-USDT', '100.0', '100.6'));
    const all = await arbMessages('BTC-USDT', 2);
    expect(all.map((r) => [r.event, r.episodeId])).toEqual([
      ['open', opened[0]!.episodeId],
      ['close', opened[0]!.episodeId],
    ]);
    const rows = await until(
      () => store.recent({ symbol: 'BTC-USDT', limit: 10 }),
      (r) => r.length === 1 && r[0]!.event === 'close',
    );
    expect(rows.map((r) => [r.id, r.event, r.startedAt, r.endedAt, r.size, r.peakBps, r.avgBps])).toEqual([
      [opened[0]!.episodeId, 'close', opened[0]!.startedAt, all[1]!.endedAt, '2', '29.9201', '29.9201'],
    ]);
  });

  it('books: md.book events on core NATS and a top-N from MD_BOOKS build the mirrors the walk uses', async () => {
    const now = Date.now();
    const ev = (venue: string, seqNo: number, type: BookEvent['type'], bids: [string, string][], asks: [string, string][]): BookEvent => ({
      venue,
      symbol: 'ETH-USDT',
      type,
      epoch: 1,
      seq: seqNo,
      prevSeq: seqNo - 1,
      state: 'live',
      bids,
      asks,
      ts: now,
      recvTs: Date.now(),
    });
    // okx: a whole-book snapshot event; bybit: events the spread actor joins in the middle of,
    // bridged by the MD_BOOKS top-N as of seq 4
    nats.nc.publish(iso.ns.subject(bookSubject('okx', 'ETH-USDT')), JSON.stringify(ev('okx', 1, 'snapshot', [['1610', '1']], [['1612', '1']])));
    nats.nc.publish(iso.ns.subject(bookSubject('bybit', 'ETH-USDT')), JSON.stringify(ev('bybit', 5, 'delta', [], [['1599', '0.5']])));
    await nats.nc.flush();
    const snap: BookSnap = { venue: 'bybit', symbol: 'ETH-USDT', epoch: 1, seq: 4, state: 'live', depth: 50, bids: [['1598', '1']], asks: [['1600', '3']], ts: now, recvTs: Date.now() };
    await nats.js.publish(iso.ns.subject(bookSnapSubject('bybit', 'ETH-USDT')), JSON.stringify(snap), { msgID: bookSnapMsgId('bybit', 'ETH-USDT', 1, 4) });
    // buy on bybit: 0.5 @1599 and 0.5 @1600 against okx's 1 @1610:
    // 1610 × 0.999 − (1599 × 0.5 + 1600 × 0.5) × 1.001 = 1608.39 − 1601.0995 = 7.2905
    const opened = await arbMessages('ETH-USDT', 1);
    expect(opened.map((r) => [r.event, r.buyVenue, r.sellVenue, r.size, r.ask, r.bid, r.netQuote, r.notional])).toEqual([
      ['open', 'bybit', 'okx', '1', '1599', '1610', '7.2905', '1599.5'],
    ]);
    expect((await nats.jsm.streams.info(iso.ns.stream(BOOK_STREAM))).state.messages).toBe(1);
  });

  it('derivatives: a funding spread episode; settled rates are written once, also after a restart and a redelivery', async () => {
    const base = Date.now();
    const ticker = (venue: string, rate: string, ts: number, settled?: DerivTicker['settled']): DerivTicker => ({
      venue,
      symbol: 'BTC-USDT-PERP',
      venueSymbol: venue === 'okx' ? 'BTC-USDT-SWAP' : 'BTCUSDT',
      markPrice: '27000',
      indexPrice: '26999',
      lastPrice: null,
      fundingRate: rate,
      nextFundingTime: base + 3_600_000,
      fundingIntervalMs: 8 * 3_600_000,
      predictedFundingRate: null,
      openInterest: null,
      openInterestValue: null,
      venueOpenInterest: null,
      ts,
      recvTs: Date.now(),
      ...(settled ? { settled } : {}),
    });
    const pub = (t: DerivTicker) => nats.js.publish(iso.ns.subject(derivSubject(t.venue, t.symbol)), JSON.stringify(t), { msgID: derivMsgId(t) });
    const settled = { fundingRate: '0.00012', fundingTime: base - 1000, fundingIntervalMs: 8 * 3_600_000 };
    await pub(ticker('binance-futures', '0.0001', base, settled));
    await pub(ticker('okx', '0.0003', base));
    const opened = await arbMessages('BTC-USDT-PERP', 1);
    expect(opened.map((r) => [r.kind, r.event, r.buyVenue, r.sellVenue, r.netBps])).toEqual([['funding', 'open', 'binance-futures', 'okx', '2.0000']]);
    const read = () => funding.recent({ symbol: 'BTC-USDT-PERP', limit: 10 });
    const once = await until(read, (r) => r.length === 1);
    expect(once).toEqual([{ venue: 'binance-futures', symbol: 'BTC-USDT-PERP', fundingTime: base - 1000, fundingRate: '0.00012', fundingIntervalMs: 8 * 3_600_000 }]);
    // restart: the durable consumer resumes; the same settlement reported again (a second replica) adds nothing
    await spread.stop();
    spread = await startSpread(ctx, settings());
    await pub(ticker('binance-futures', '0.0001', base + 1, settled));
    await pub(ticker('binance-futures', '0.0001', base + 2, { ...settled, fundingTime: base + 28_800_000 - 1000, fundingRate: '0.0001' }));
    const two = await until(read, (r) => r.length === 2);
    expect(two.map((r) => [r.fundingTime, r.fundingRate])).toEqual([
      [base + 28_800_000 - 1000, '0.0001'],
      [base - 1000, '0.00012'],
    ]);
  });

  it('stop() closes open episodes and writes them before it resolves', async () => {
    await publishQuote(quote('binance', 'SOL-USDT', '149', '150'));
    await publishQuote(quote('okx', 'SOL-USDT', '151', '152'));
    await arbMessages('SOL-USDT', 1);
    await spread.stop();
    const r = await store.recent({ symbol: 'SOL-USDT', limit: 10 });
    expect(r.map((x) => [x.buyVenue, x.sellVenue, x.event, typeof x.endedAt])).toEqual([['binance', 'okx', 'close', 'number']]);
  });
});
