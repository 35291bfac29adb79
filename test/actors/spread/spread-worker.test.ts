import { DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSpread } from '../../../cli/commands/spread.js';
import type { NatsHandles } from '../../../runtime/nats.js';
import { startProcess, type ProcessContext } from '../../../runtime/process.js';
import { ArbitrageRecordCheck, type ArbitrageRecord } from '../../../schemas/arbitrage.js';
import type { Quote } from '../../../schemas/quote.js';
import { quoteSubject, STREAMS, STREAM_SUBJECTS } from '../../../schemas/subjects.js';
import { ArbitrageStore } from '../../../store/arbitrage.js';
import { isolated } from '../../harness.js';

// Real NATS JetStream (MD_QUOTES → MD_ARB) and PostgreSQL (arbitrage table), namespace t<id>.
const iso = isolated();
let ctx: ProcessContext;
let nats: NatsHandles;
let store: ArbitrageStore;
let spread: { stop(): Promise<void> };
let seq = 0;

const quote = (venue: string, symbol: string, bidPrice: string, askPrice: string, ts = Date.now()): Quote => ({
  venue,
  symbol,
  venueSymbol: symbol.replace('-', ''),
  bidPrice,
  bidQty: '1.5',
  askPrice,
  askQty: '2',
  ts,
  recvTs: ts,
});

async function publish(q: Quote): Promise<void> {
  await nats.js.publish(iso.ns.subject(quoteSubject(q.venue, q.symbol)), JSON.stringify(q), { msgID: `q${++seq}` });
}

/** The md.arb messages of `symbol` in MD_ARB, read until `count` arrived (or 10 s passed). */
async function arbMessages(symbol: string, count: number): Promise<JsMsg[]> {
  const consumer = await nats.js.consumers.get(iso.ns.stream(STREAMS.arb), {
    filter_subjects: iso.ns.subject(`md.arb.${symbol}`),
    deliver_policy: DeliverPolicy.All,
  });
  const out: JsMsg[] = [];
  const deadline = Date.now() + 10_000;
  while (out.length < count && Date.now() < deadline) {
    const m = await consumer.next({ expires: 1000 });
    if (m) out.push(m);
  }
  // Anything stored beyond `count` (e.g. a repeat emitted before the barrier) fails the caller's check.
  const left = (await consumer.info()).num_pending;
  for (let i = 0; i < left; i++) {
    const m = await consumer.next({ expires: 1000 });
    if (m) out.push(m);
  }
  return out;
}

async function rows(symbol: string, count: number): Promise<ArbitrageRecord[]> {
  for (let i = 0; i < 100; i++) {
    const r = await store.recent({ symbol, limit: 100 });
    if (r.length >= count) return r.reverse();
    await new Promise((res) => setTimeout(res, 50));
  }
  return (await store.recent({ symbol, limit: 100 })).reverse();
}

beforeAll(async () => {
  ctx = await startProcess({ role: 'spread-test', needs: ['nats', 'pg'], env: iso.env, httpPort: 0, installSignalHandlers: false });
  spread = await runSpread(ctx, { TICKWORK_ARB_STALE_MS: 5000, TICKWORK_ARB_MIN_BPS: '1', TICKWORK_ARB_FLUSH_MS: 50 });
  nats = await iso.nats();
  store = new ArbitrageStore(iso.sql(), { schema: iso.ns.pgSchema, retentionMs: null });
  // runSpread created the streams; its consumer sees everything published from now on.
  await nats.jsm.streams.info(iso.ns.stream(STREAMS.quotes));
  expect(iso.ns.subject(STREAM_SUBJECTS.arb)).toBe(`${iso.id}.md.arb.>`);
});
afterAll(async () => {
  await ctx?.lifecycle.shutdown();
  await iso.cleanup();
});

describe('spread actors on MD_QUOTES (real NATS JetStream + PostgreSQL)', () => {
  it('two venues crossing: one md.arb message with its Nats-Msg-Id and one PostgreSQL row; an identical repeat adds nothing', async () => {
    const t = Date.now();
    await publish(quote('binance', 'BTC-USDT', '100.5', '100.6', t - 20));
    await publish(quote('okx', 'BTC-USDT', '101.00', '101.1', t - 10));
    await publish(quote('okx', 'BTC-USDT', '101.0', '101.1', t - 5)); // same state, newer ts
    await publish(quote('okx', 'BTC-USDT', '101.01', '101.1', t)); // moved: the barrier

    const msgs = await arbMessages('BTC-USDT', 2);
    expect(msgs.map((m) => m.subject)).toEqual([iso.ns.subject('md.arb.BTC-USDT'), iso.ns.subject('md.arb.BTC-USDT')]);
    const first = msgs[0]!.json<ArbitrageRecord>();
    expect(ArbitrageRecordCheck.Check(first)).toBe(true);
    const expected: ArbitrageRecord = {
      id: `BTC-USDT:binance:okx:${t - 10}`,
      symbol: 'BTC-USDT',
      ts: t - 10,
      buyVenue: 'binance',
      sellVenue: 'okx',
      ask: '100.6',
      bid: '101.00',
      spreadBps: '39.7614',
    };
    expect(first).toEqual(expected);
    expect(msgs[0]!.headers?.get('Nats-Msg-Id')).toBe(expected.id);
    const second = msgs[1]!.json<ArbitrageRecord>();
    expect([second.id, second.bid, second.spreadBps]).toEqual([`BTC-USDT:binance:okx:${t}`, '101.01', '40.7555']);

    const stored = await rows('BTC-USDT', 2);
    expect(stored).toEqual([expected, second]);
  });

  it('no emission for quotes that do not cross, cross by less than the minimum, or are stale', async () => {
    const t = Date.now();
    await publish(quote('binance', 'ETH-USDT', '10', '10.01', t));
    await publish(quote('okx', 'ETH-USDT', '10.005', '10.02', t)); // below binance's ask
    await publish(quote('bybit', 'ETH-USDT', '10.0105', '10.03', t)); // over binance's ask by 0.4995 bps
    await publish(quote('kraken', 'ETH-USDT', '11', '9', t - 6000)); // would cross everything, but stale
    await publish(quote('coinbase', 'ETH-USDT', '10.02', '10.04', t)); // barrier: 9.99 bps over binance's ask

    const msgs = await arbMessages('ETH-USDT', 1);
    expect(msgs.map((m) => m.json<ArbitrageRecord>()).map((r) => [r.buyVenue, r.sellVenue, r.ask, r.bid, r.spreadBps])).toEqual([
      ['binance', 'coinbase', '10.01', '10.02', '9.9900'],
    ]);
    expect((await rows('ETH-USDT', 1)).map((r) => r.sellVenue)).toEqual(['coinbase']);
  });

  it('stop() drains: the last opportunity reaches PostgreSQL before it resolves', async () => {
    const t = Date.now();
    await publish(quote('binance', 'SOL-USDT', '150', '150.1', t));
    await publish(quote('kraken', 'SOL-USDT', '150.4', '150.5', t));
    await arbMessages('SOL-USDT', 1); // delivered to the actor and published
    await spread.stop();
    const r = await store.recent({ symbol: 'SOL-USDT', limit: 10 });
    expect(r.map((x) => [x.buyVenue, x.sellVenue, x.spreadBps])).toEqual([['binance', 'kraken', '19.9867']]);
  });
});
