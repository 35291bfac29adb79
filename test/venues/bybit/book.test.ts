import { describe, expect, it } from 'vitest';
import { newBookOutput } from '../../../actors/book/index.js';
import { BookEventCheck } from '../../../schemas/book.js';
import { BybitV2BookCheck, decodeBybitV2Book, type BybitV2Book } from '../../../venues/bybit/book-schemas.js';
import { BybitAdapter } from '../../../venues/bybit/adapter.js';
import { bybitBooks, BybitBookSync, BybitV2BookSync } from '../../../venues/bybit/book.js';
import { newParseOutput } from '../../../venues/kit/types.js';
import { BybitOrderbookCheck, type BybitOrderbook } from '../../../venues/bybit/schemas.js';
import { runGapScenario, SEQUENCE_FAULTS, TrueBook, type Change, type GapDriver } from '../book-gaps.js';
import { receivedFrames } from '../recordings.js';

async function v2BookFrames(): Promise<{ m: BybitV2Book; ts: number }[]> {
  const out: { m: BybitV2Book; ts: number }[] = [];
  for (const f of await receivedFrames('BYBIT.ws.25.0')) {
    if (!f.data.startsWith('{"topic":"orderBookL2_25.')) continue;
    const m = decodeBybitV2Book(f.data);
    if (!BybitV2BookCheck.Check(m)) throw new Error(`line ${f.line}: ${JSON.stringify(BybitV2BookCheck.Errors(m).First())}`);
    out.push({ m, ts: f.ts });
  }
  return out;
}

describe('Bybit v2 orderBookL2_25: recording BYBIT.ws.25.0', () => {
  it('applies 8 snapshots + 3,252 deltas: ids behave (deletes/updates existing, inserts new), 25 levels a side after each, never crossed', async () => {
    const frames = await v2BookFrames();
    expect(frames.filter((x) => x.m.type === 'snapshot')).toHaveLength(8);
    expect(frames.filter((x) => x.m.type === 'delta')).toHaveLength(3_252);
    const out = newBookOutput();
    const syncs = new Map<string, BybitV2BookSync>();
    let applied = 0;
    for (const { m, ts } of frames) {
      let s = syncs.get(m.topic);
      if (!s) syncs.set(m.topic, (s = new BybitV2BookSync({ symbol: 'X-Y', venueSymbol: m.topic.slice(15), now: ts })));
      s.onMessage(m, ts, out);
      expect(s.state).toBe('live');
      expect([s.book.bids.size, s.book.asks.size]).toEqual([25, 25]);
      expect(s.book.crossed()).toBe(false);
      applied++;
    }
    expect(applied).toBe(3_260);
    expect(out.requests).toEqual([]);
    expect(out.events).toHaveLength(3_260);
    expect(out.events.every((e) => BookEventCheck.Check(e))).toBe(true);
  });

  it('publishes every size as the exact text sent (float artefacts such as 12.849999 included)', async () => {
    const frames = await v2BookFrames();
    const out = newBookOutput();
    const syncs = new Map<string, BybitV2BookSync>();
    const raw = (await receivedFrames('BYBIT.ws.25.0')).filter((f) => f.data.startsWith('{"topic":"orderBookL2_25.'));
    for (let i = 0; i < frames.length; i++) {
      const { m, ts } = frames[i]!;
      let s = syncs.get(m.topic);
      if (!s) syncs.set(m.topic, (s = new BybitV2BookSync({ symbol: 'X-Y', venueSymbol: m.topic.slice(15), now: ts })));
      const n = out.events.length;
      s.onMessage(m, ts, out);
      if (m.type !== 'delta') continue;
      // the sizes of the delta event are the `"size":<number>` texts of the raw frame
      const sent = [...raw[i]!.data.matchAll(/"size":([0-9.]+)/g)].map((x) => x[1]);
      const e = out.events[n]!;
      const published = [...e.bids, ...e.asks].filter((l) => l[1] !== '0').map((l) => l[1]);
      expect(published.sort()).toEqual(sent.sort());
    }
    expect(out.events.some((e) => e.bids.concat(e.asks).some((l) => l[1] === '12.849999'))).toBe(true);
  });
});

/** Bybit v5 as the scenario's venue: `u` +1 per delta; a (re)subscribe answers with a snapshot at the current `u`. */
function bybitDriver(venueSymbol: string): GapDriver<BybitOrderbook> {
  let u = 5_000;
  const levels = (changes: Change[], side: 'bid' | 'ask'): [string, string][] => changes.filter((c) => c.side === side).map((c) => [c.price, c.qty]);
  const snapshot = (truth: TrueBook, ts: number): BybitOrderbook => ({
    topic: `orderbook.50.${venueSymbol}`,
    type: 'snapshot',
    ts,
    data: { s: venueSymbol, b: truth.levels('bid'), a: truth.levels('ask'), u, seq: u * 10 },
    cts: ts - 1,
  });
  return {
    start(truth, ts, out) {
      const s = new BybitBookSync({ symbol: 'AAA-USDT', venueSymbol, now: ts });
      s.onMessage(snapshot(truth, ts), ts, out);
      return s;
    },
    render(changes, _truth, ts) {
      u++;
      const m: BybitOrderbook = { topic: `orderbook.50.${venueSymbol}`, type: 'delta', ts, data: { s: venueSymbol, b: levels(changes, 'bid'), a: levels(changes, 'ask'), u, seq: u * 10 }, cts: ts - 1 };
      expect(BybitOrderbookCheck.Check(m)).toBe(true);
      return m;
    },
    deliver: (sync, m, ts, out) => (sync as BybitBookSync).onMessage(m, ts, out),
    answer(sync, req, truth, ts, out) {
      expect(req.kind).toBe('resubscribe');
      (sync as BybitBookSync).onMessage(snapshot(truth, ts), ts, out);
    },
  };
}

/** Bybit v2 as the scenario's venue: id-keyed delete/update/insert, rising cross_seq, sizes as JSON numbers. */
function bybitV2Driver(venueSymbol: string): GapDriver<BybitV2Book> {
  let crossSeq = 864_131_773;
  let before = new TrueBook();
  const level = (side: 'bid' | 'ask', price: string, size?: string): Record<string, string> => ({
    price,
    symbol: venueSymbol,
    id: String(Math.round(Number(price) * 100) * 100),
    side: side === 'bid' ? 'Buy' : 'Sell',
    ...(size === undefined ? {} : { size }),
  });
  const decode = (frame: object): BybitV2Book => {
    // sizes go on the wire as JSON numbers, as Bybit sent them
    const text = JSON.stringify(frame).replace(/"size":"([0-9.]+)"/g, '"size":$1');
    const m = decodeBybitV2Book(text);
    expect(BybitV2BookCheck.Check(m)).toBe(true);
    return m as BybitV2Book;
  };
  const snapshot = (truth: TrueBook, ts: number): BybitV2Book =>
    decode({
      topic: `orderBookL2_25.${venueSymbol}`,
      type: 'snapshot',
      data: { order_book: [...truth.levels('bid').map(([p, q]) => level('bid', p, q)), ...truth.levels('ask').map(([p, q]) => level('ask', p, q))] },
      cross_seq: String(crossSeq),
      timestamp_e6: String(ts * 1000),
    });
  return {
    start(truth, ts, out) {
      before = truth.clone();
      const s = new BybitV2BookSync({ symbol: 'AAA-USDT', venueSymbol, now: ts });
      s.onMessage(snapshot(truth, ts), ts, out);
      return s;
    },
    render(changes, truth, ts) {
      crossSeq += 1 + (crossSeq % 3);
      const held = (c: Change): boolean => (c.side === 'bid' ? before.bids : before.asks).has(c.price);
      const frame = {
        topic: `orderBookL2_25.${venueSymbol}`,
        type: 'delta',
        data: {
          delete: changes.filter((c) => c.qty === '0').map((c) => level(c.side, c.price)),
          update: changes.filter((c) => c.qty !== '0' && held(c)).map((c) => level(c.side, c.price, c.qty)),
          insert: changes.filter((c) => c.qty !== '0' && !held(c)).map((c) => level(c.side, c.price, c.qty)),
          transactTimeE6: 0,
        },
        cross_seq: String(crossSeq),
        timestamp_e6: String(ts * 1000),
      };
      before = truth.clone();
      return decode(frame);
    },
    deliver: (sync, m, ts, out) => (sync as BybitV2BookSync).onMessage(m, ts, out),
    answer(sync, req, truth, ts, out) {
      expect(req.kind).toBe('resubscribe');
      (sync as BybitV2BookSync).onMessage(snapshot(truth, ts), ts, out);
    },
    // without an update counter, a lost frame shows only when the next one names a level it added or removed
    dropShows(b, k, next) {
      const after = b.clone();
      after.apply(k);
      return next.some((c) => (c.side === 'bid' ? b.bids : b.asks).has(c.price) !== (c.side === 'bid' ? after.bids : after.asks).has(c.price));
    },
  };
}

describe('Bybit v5 orderbook sync: gap rules on synthetic frames', () => {
  it.each(SEQUENCE_FAULTS)('a %s delta causes exactly one resubscribe of that symbol only, and the new snapshot restores the true book', (fault) => {
    const r = runGapScenario(bybitDriver, fault);
    expect(r.requestsA.map((q) => [q.kind, q.venueSymbol, q.reason])).toEqual([['resubscribe', 'AAA', fault === 'duplicate' ? 'out-of-order' : 'gap']]);
    expect(r.requestsB).toEqual([]);
  });

  it('runs clean without any request; a snapshot Bybit resends (u restarts at 1) replaces the book', () => {
    expect(runGapScenario(bybitDriver, 'none')).toMatchObject({ requestsA: [], requestsB: [] });
    const out = newBookOutput();
    const s = new BybitBookSync({ symbol: 'BTC-USDT', venueSymbol: 'BTCUSDT', now: 0 });
    const msg = (type: 'snapshot' | 'delta', u: number, b: [string, string][]): BybitOrderbook => ({ topic: 'orderbook.50.BTCUSDT', type, ts: u, data: { s: 'BTCUSDT', b, a: [['101', '1']], u } });
    s.onMessage(msg('snapshot', 500, [['100', '1']]), 1, out);
    s.onMessage(msg('delta', 501, [['99', '1']]), 2, out);
    s.onMessage(msg('snapshot', 1, [['98', '2']]), 3, out); // service restart
    s.onMessage(msg('delta', 2, [['97', '1']]), 4, out);
    expect(s.book.bids.levels()).toEqual([['98', '2'], ['97', '1']]);
    expect(out.requests).toEqual([]);
    expect(s.epoch).toBe(2);
  });

  it('a frame with u = 1 is a whole book after a service restart, whatever its type: it replaces the book, no resync', () => {
    const out = newBookOutput();
    const s = new BybitBookSync({ symbol: 'BTC-USDT-PERP', venueSymbol: 'BTCUSDT', now: 0 });
    const msg = (type: 'snapshot' | 'delta', u: number, b: [string, string][]): BybitOrderbook => ({ topic: 'orderbook.50.BTCUSDT', type, ts: u, data: { s: 'BTCUSDT', b, a: [['101', '1']], u } });
    s.onMessage(msg('snapshot', 700, [['100', '1'], ['99', '3']]), 1, out);
    s.onMessage(msg('delta', 701, [['99', '0']]), 2, out);
    s.onMessage(msg('delta', 1, [['98', '2']]), 3, out); // service restart: full data with u = 1
    s.onMessage(msg('delta', 2, [['97', '1']]), 4, out);
    expect(s.book.bids.levels()).toEqual([['98', '2'], ['97', '1']]);
    expect(out.requests).toEqual([]);
    expect(s.epoch).toBe(2);
    expect(out.events.map((e) => [e.type, e.epoch])).toEqual([['snapshot', 1], ['delta', 1], ['snapshot', 2], ['delta', 2]]);
    // any other step back is still a repeated frame
    s.onMessage(msg('delta', 2, [['96', '1']]), 5, out);
    expect(out.requests.map((r) => r.reason)).toEqual(['out-of-order']);
  });
});

describe('Bybit linear perpetual books: the adapter of the linear book connections', () => {
  it('names BTC-USDT-PERP BTCUSDT (USDC perpetuals BTCPERP) on the linear endpoint and maps its orderbook.50 frames to the perpetual', () => {
    const linear = bybitBooks.perps!;
    expect(linear.wsUrl!('wss://stream.bybit.com/v5/public/spot')).toBe('wss://stream.bybit.com/v5/public/linear');
    const a = linear.createAdapter();
    expect(a.toVenueSymbol('BTC-USDT-PERP')).toBe('BTCUSDT');
    expect(a.toVenueSymbol('ETH-USDC-PERP')).toBe('ETHPERP');
    expect(a.subscribeFrames(['BTC-USDT-PERP', 'ETH-USDC-PERP'], ['books'], () => 3).map((f) => JSON.parse(f) as unknown)).toEqual([
      { op: 'subscribe', args: ['orderbook.50.BTCUSDT', 'orderbook.50.ETHPERP'], req_id: '3' },
    ]);
    const out = newParseOutput();
    const frame = (S: string) => JSON.stringify({ topic: `orderbook.50.${S}`, type: 'snapshot', ts: 5, data: { s: S, b: [['100', '0.5']], a: [['101', '1']], u: 9, seq: 90 }, cts: 4 });
    expect(a.parse(frame('BTCUSDT'), 6, out)).toBe('book');
    expect(a.parse(frame('ETHPERP'), 6, out)).toBe('book');
    expect(out.books.map((b) => b.symbol)).toEqual(['BTC-USDT-PERP', 'ETH-USDC-PERP']);
    // the spot adapter names the same text the spot pair
    const spot = new BybitAdapter();
    spot.subscribeFrames(['BTC-USDT'], ['books'], () => 1);
    const spotOut = newParseOutput();
    spot.parse(frame('BTCUSDT'), 6, spotOut);
    expect(spotOut.books.map((b) => b.symbol)).toEqual(['BTC-USDT']);
  });
});

describe('Bybit v2 orderBookL2_25 sync: gap rules on synthetic frames', () => {
  it.each(SEQUENCE_FAULTS)('a %s delta causes exactly one resubscribe of that symbol only', (fault) => {
    const r = runGapScenario(bybitV2Driver, fault);
    expect(r.requestsA.map((q) => [q.kind, q.venueSymbol, q.reason])).toEqual([['resubscribe', 'AAA', fault === 'drop' ? 'unknown-level' : 'out-of-order']]);
    expect(r.requestsB).toEqual([]);
  });
});
