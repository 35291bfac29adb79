import { describe, expect, it } from 'vitest';
import { newBookOutput, type BookOutput } from '../../../actors/book/index.js';
import { compare, parseDecimal } from '../../../runtime/decimal.js';
import { BookEventCheck } from '../../../schemas/book.js';
import { BinanceDepthUpdateCheck, type BinanceDepthSnapshot, type BinanceDepthUpdate } from '../../../venues/binance/book-schemas.js';
import { BinanceBookSync, binanceDepthSnapshot } from '../../../venues/binance/book.js';
import { runGapScenario, SEQUENCE_FAULTS, type GapDriver, type TrueBook } from '../book-gaps.js';
import { receivedFrames } from '../recordings.js';

interface BookTicker {
  u: number;
  s: string;
  b: string;
  B: string;
  a: string;
  A: string;
}

type Item = { kind: 'diff'; d: BinanceDepthUpdate; ts: number } | { kind: 'ticker'; t: BookTicker; ts: number };

async function load(file: string): Promise<Item[]> {
  const items: Item[] = [];
  for (const f of await receivedFrames(file)) {
    const m = JSON.parse(f.data) as { stream: string; data: unknown };
    if (m.stream.endsWith('@depth@100ms')) {
      if (!BinanceDepthUpdateCheck.Check(m.data)) throw new Error(`line ${f.line}: ${JSON.stringify(BinanceDepthUpdateCheck.Errors(m.data).First())}`);
      items.push({ kind: 'diff', d: m.data, ts: f.ts });
    } else if (m.stream.endsWith('@bookTicker')) items.push({ kind: 'ticker', t: m.data as BookTicker, ts: f.ts });
  }
  return items;
}

const cmp = (a: string, b: string): number => compare(parseDecimal(a), parseDecimal(b));

/**
 * The recordings hold no REST snapshot, so each symbol's book starts from an empty snapshot at
 * `U − 1` of its first diff: the book then holds exactly the diff-known levels, which must agree
 * with every bookTicker that shares an update id with a diff (a bookTicker arrives before its
 * 100 ms diff, so they are matched by id, not arrival).
 */
async function replay(file: string, venue: string): Promise<{ diffs: number; links: number; chainBreaks: number; matched: number; violations: string[]; out: BookOutput }> {
  const items = await load(file);
  const out = newBookOutput();
  const syncs = new Map<string, BinanceBookSync>();
  const lastU = new Map<string, number>();
  const tickers = new Map<string, BookTicker[]>();
  for (const it of items) if (it.kind === 'ticker') tickers.set(`${it.t.s}:${it.t.u}`, [...(tickers.get(`${it.t.s}:${it.t.u}`) ?? []), it.t]);
  let diffs = 0;
  let links = 0;
  let chainBreaks = 0;
  let matched = 0;
  const violations: string[] = [];
  for (const it of items) {
    if (it.kind !== 'diff') continue;
    const d = it.d;
    diffs++;
    const prev = lastU.get(d.s);
    if (prev !== undefined) {
      links++;
      if (d.U !== prev + 1) chainBreaks++;
    }
    lastU.set(d.s, d.u);
    let s = syncs.get(d.s);
    if (!s) {
      syncs.set(d.s, (s = new BinanceBookSync({ venue, symbol: 'X-Y', venueSymbol: d.s, now: it.ts })));
      s.onDiff(d, it.ts, out);
      expect(out.requests.at(-1)).toMatchObject({ kind: 'snapshot', venueSymbol: d.s, reason: 'initial' });
      s.onSnapshot({ lastUpdateId: d.U - 1, bids: [], asks: [] }, it.ts, out);
    } else s.onDiff(d, it.ts, out);
    expect(s.state).toBe('live');
    for (const t of tickers.get(`${d.s}:${d.u}`) ?? []) {
      matched++;
      const { bids, asks } = s.book;
      for (let i = 0; i < bids.size && cmp(bids.priceAt(i), t.b) > 0; i++) violations.push(`${d.s}@${d.u}: known bid ${bids.priceAt(i)} above best bid ${t.b}`);
      for (let i = 0; i < asks.size && cmp(asks.priceAt(i), t.a) < 0; i++) violations.push(`${d.s}@${d.u}: known ask ${asks.priceAt(i)} below best ask ${t.a}`);
      const bq = s.book.bids.qtyAtKey(s.book.keyOf(t.b));
      const aq = s.book.asks.qtyAtKey(s.book.keyOf(t.a));
      if (bq !== undefined && cmp(bq, t.B) !== 0) violations.push(`${d.s}@${d.u}: bid qty ${bq} ≠ ${t.B}`);
      if (aq !== undefined && cmp(aq, t.A) !== 0) violations.push(`${d.s}@${d.u}: ask qty ${aq} ≠ ${t.A}`);
    }
  }
  return { diffs, links, chainBreaks, matched, violations, out };
}

describe('Binance depth@100ms: recordings', () => {
  it('BINANCE: U == prev.u + 1 across all 173 diff-to-diff links; the book agrees with all 26 bookTickers sharing an update id', async () => {
    const r = await replay('BINANCE.ws.1.0', 'binance');
    // 177 diffs over 4 symbols: 173 follow a previous diff of their symbol
    expect({ diffs: r.diffs, links: r.links, chainBreaks: r.chainBreaks, matched: r.matched, violations: r.violations }).toEqual({ diffs: 177, links: 173, chainBreaks: 0, matched: 26, violations: [] });
    expect(r.out.requests.map((q) => q.reason)).toEqual(['initial', 'initial', 'initial', 'initial']);
    expect(r.out.events.every((e) => BookEventCheck.Check(e))).toBe(true);
  });

  it('BINANCE_US: U == prev.u + 1 across all 332 diff-to-diff links; the book agrees with all 57 bookTickers sharing an update id', async () => {
    const r = await replay('BINANCE_US.ws.1.0', 'binance-us');
    expect({ diffs: r.diffs, links: r.links, chainBreaks: r.chainBreaks, matched: r.matched, violations: r.violations }).toEqual({ diffs: 336, links: 332, chainBreaks: 0, matched: 57, violations: [] });
    expect(r.out.requests.every((q) => q.reason === 'initial')).toBe(true);
  });
});

/** Binance as the scenario's venue: ids assigned in send order, 3 per diff; REST answers with the true book. */
function binanceDriver(venue: string): (venueSymbol: string) => GapDriver<BinanceDepthUpdate> {
  return (venueSymbol) => {
    let nextId = 1_000;
    let lastU = 999;
    const rest = (truth: TrueBook): BinanceDepthSnapshot => ({ lastUpdateId: lastU, bids: truth.levels('bid'), asks: truth.levels('ask') });
    return {
      start(truth, ts, out) {
        const s = new BinanceBookSync({ venue, symbol: 'AAA-USDT', venueSymbol, now: ts });
        s.onSnapshot(rest(truth), ts, out);
        return s;
      },
      render(changes, _truth, ts) {
        const d: BinanceDepthUpdate = {
          e: 'depthUpdate',
          E: ts,
          s: venueSymbol,
          U: nextId,
          u: nextId + 2,
          b: changes.filter((c) => c.side === 'bid').map((c) => [c.price, c.qty === '0' ? '0.00000000' : c.qty]),
          a: changes.filter((c) => c.side === 'ask').map((c) => [c.price, c.qty === '0' ? '0.00000000' : c.qty]),
        };
        if (venue === 'binance-futures') Object.assign(d, { T: ts - 2, pu: lastU });
        expect(BinanceDepthUpdateCheck.Check(d)).toBe(true);
        nextId += 3;
        lastU = d.u;
        return d;
      },
      deliver: (sync, d, ts, out) => (sync as BinanceBookSync).onDiff(d, ts, out),
      answer(sync, req, truth, ts, out) {
        expect(req.kind).toBe('snapshot');
        (sync as BinanceBookSync).onSnapshot(rest(truth), ts, out);
      },
    };
  };
}

describe.each(['binance', 'binance-futures'])('%s depth sync: gap rules on synthetic diffs', (venue) => {
  it.each(SEQUENCE_FAULTS)('a %s diff causes exactly one REST snapshot request for that symbol only, and the rebuilt book is the true book', (fault) => {
    const r = runGapScenario(binanceDriver(venue), fault);
    expect(r.requestsA.map((q) => [q.kind, q.venueSymbol, q.reason])).toEqual([['snapshot', 'AAA', fault === 'duplicate' ? 'out-of-order' : 'gap']]);
    expect(r.requestsB).toEqual([]);
  });

  it('runs clean without any request', () => {
    const r = runGapScenario(binanceDriver(venue), 'none');
    expect([r.requestsA, r.requestsB]).toEqual([[], []]);
  });
});

describe('Binance depth sync: bootstrap from REST', () => {
  const diff = (U: number, u: number, b: [string, string][] = [], a: [string, string][] = [], pu?: number): BinanceDepthUpdate => ({
    e: 'depthUpdate',
    E: 1_000 + u,
    s: 'BTCUSDT',
    U,
    u,
    b,
    a,
    ...(pu === undefined ? {} : { pu }),
  });

  it('asks for a snapshot at the first diff, asks again when it is older than the buffer, then bridges the buffered diffs', () => {
    const out = newBookOutput();
    const s = new BinanceBookSync({ venue: 'binance', symbol: 'BTC-USDT', venueSymbol: 'BTCUSDT', now: 0 });
    s.onDiff(diff(101, 103, [['100.00', '1']]), 10, out);
    s.onDiff(diff(104, 104, [], [['101.00', '2']]), 20, out);
    expect(out.requests.map((r) => r.reason)).toEqual(['initial']);
    s.onSnapshot({ lastUpdateId: 99, bids: [['99.00', '5']], asks: [] }, 30, out); // 99 + 1 < 101: a diff is missing between
    expect(out.requests.map((r) => r.reason)).toEqual(['initial', 'snapshot-stale']);
    expect(s.state).toBe('syncing');
    s.onDiff(diff(105, 106, [['100.00', '0']]), 40, out);
    s.onSnapshot({ lastUpdateId: 102, bids: [['99.00', '5'], ['100.00', '3']], asks: [] }, 50, out);
    expect(s.state).toBe('live');
    expect(out.requests).toHaveLength(2);
    // 101–103 bridges 102; 104 and 105–106 follow: 100.00 deleted, 101.00 added
    expect({ bids: s.book.bids.levels(), asks: s.book.asks.levels() }).toEqual({ bids: [['99.00', '5']], asks: [['101.00', '2']] });
    const snap = out.events.find((e) => e.type === 'snapshot')!;
    expect([snap.epoch, snap.venueSeq, snap.ts]).toEqual([1, '106', 1_106]);
    s.onDiff(diff(107, 107, [['99.50', '1']]), 60, out);
    expect(out.events.at(-1)).toMatchObject({ type: 'delta', venueSeq: '107', bids: [['99.50', '1']] });
  });

  it('USD-M: the first diff must straddle lastUpdateId (or carry pu == lastUpdateId), later ones pu == previous u', () => {
    const out = newBookOutput();
    const s = new BinanceBookSync({ venue: 'binance-futures', symbol: 'BTC-USDT-PERP', venueSymbol: 'BTCUSDT', now: 0 });
    s.onDiff(diff(90, 95, [], [], 80), 1, out);
    s.onDiff(diff(96, 120, [['100', '1']], [], 95), 2, out);
    s.onSnapshot({ lastUpdateId: 110, bids: [], asks: [['101', '1']] }, 3, out);
    expect(s.state).toBe('live');
    s.onDiff(diff(121, 130, [], [['101', '0']], 120), 4, out);
    expect(s.book.asks.size).toBe(0);
    s.onDiff(diff(131, 140, [], [], 125), 5, out); // pu 125 ≠ 130
    expect(out.requests.map((r) => r.reason)).toEqual(['initial', 'gap']);
  });

  it('a missing diff inside the buffer asks for a snapshot past it', () => {
    const out = newBookOutput();
    const s = new BinanceBookSync({ venue: 'binance', symbol: 'BTC-USDT', venueSymbol: 'BTCUSDT', now: 0 });
    s.onDiff(diff(101, 101), 1, out);
    s.onDiff(diff(103, 103), 2, out); // 102 lost
    s.onSnapshot({ lastUpdateId: 100, bids: [], asks: [] }, 3, out);
    expect(out.requests.map((r) => r.reason)).toEqual(['initial', 'gap']);
    s.onSnapshot({ lastUpdateId: 103, bids: [['1', '1']], asks: [] }, 4, out);
    expect(s.state).toBe('live');
  });

  it('honours Retry-After after a failed fetch, and asks again after the resync timeout', () => {
    const out = newBookOutput();
    const s = new BinanceBookSync({ venue: 'binance', symbol: 'BTC-USDT', venueSymbol: 'BTCUSDT', now: 0, resyncTimeoutMs: 30_000 });
    s.onDiff(diff(1, 1), 1_000, out);
    s.onSnapshotFailed(2_000, 60_000, out); // 429 with Retry-After: 60
    s.tick(40_000, out); // past the resync timeout, but the venue said wait
    expect(out.requests.map((r) => r.reason)).toEqual(['initial']);
    s.tick(62_000, out);
    expect(out.requests.map((r) => r.reason)).toEqual(['initial', 'snapshot-failed']);
    s.tick(91_999, out);
    s.tick(92_000, out); // no answer for 30 s
    expect(out.requests.map((r) => r.reason)).toEqual(['initial', 'snapshot-failed', 'timeout']);
    expect(s.resyncs).toMatchObject({ initial: 1, 'snapshot-failed': 1, timeout: 1 });
  });

  it('REST snapshot path and weight per venue', () => {
    expect(binanceDepthSnapshot.path('binance', 'BTCUSDT')).toBe('/api/v3/depth?symbol=BTCUSDT&limit=1000');
    expect(binanceDepthSnapshot.path('binance-futures', 'BTCUSDT', 500)).toBe('/fapi/v1/depth?symbol=BTCUSDT&limit=500');
    expect([binanceDepthSnapshot.weight('binance', 100), binanceDepthSnapshot.weight('binance', 1000), binanceDepthSnapshot.weight('binance', 5000)]).toEqual([5, 50, 250]);
    expect([binanceDepthSnapshot.weight('binance-futures', 50), binanceDepthSnapshot.weight('binance-futures', 1000)]).toEqual([2, 20]);
  });
});
