import { describe, expect, it } from 'vitest';
import { newBookOutput, OrderBook, type BookOutput } from '../../../actors/book/index.js';
import { BookEventCheck } from '../../../schemas/book.js';
import { decodeKrakenV2Book, KrakenV1BookCheck, KrakenV2BookCheck, normalizeKrakenV1Book, type KrakenV1Book, type KrakenV1BookFrame } from '../../../venues/kraken/book-schemas.js';
import { KrakenBookSync, krakenChecksum } from '../../../venues/kraken/book.js';
import { plainDecimal } from '../../../venues/kit/frame.js';
import { runGapScenario, type GapDriver, type TrueBook } from '../book-gaps.js';
import { receivedFrames } from '../recordings.js';

interface V1 {
  f: KrakenV1BookFrame;
  ts: number;
  /** The update's levels in the first dict only (what a reader of msg[1] alone sees). */
  firstDict: KrakenV1BookFrame | null;
}

async function v1Frames(): Promise<V1[]> {
  const out: V1[] = [];
  for (const r of await receivedFrames('KRAKEN.ws.50.0')) {
    const m = JSON.parse(r.data) as unknown;
    if (!Array.isArray(m) || typeof m[m.length - 2] !== 'string' || !(m[m.length - 2] as string).startsWith('book-')) continue;
    if (!KrakenV1BookCheck.Check(m)) throw new Error(`line ${r.line}: ${JSON.stringify(KrakenV1BookCheck.Errors(m).First())}`);
    const f = normalizeKrakenV1Book(m);
    const firstDict = m.length === 5 ? normalizeKrakenV1Book([m[0], m[1], m[3], m[4]] as KrakenV1Book) : null;
    out.push({ f, ts: r.ts, firstDict: firstDict && { ...firstDict, checksum: f.checksum } });
  }
  return out;
}

/** The same message as Kraken v2 sends it: prices and quantities as JSON numbers with their full text. */
function asV2Text(f: KrakenV1BookFrame, checksum: number): string {
  const levels = (ls: KrakenV1BookFrame['asks']): string => `[${ls.map((l) => `{"price":${l[0]},"qty":${l[1]}}`).join(',')}]`;
  const ts = f.snapshot ? '' : `,"timestamp":"2021-04-17T16:48:53.365913Z"`;
  return `{"channel":"book","type":"${f.snapshot ? 'snapshot' : 'update'}","data":[{"symbol":"${f.pair}","bids":${levels(f.bids)},"asks":${levels(f.asks)},"checksum":${checksum}${ts}}]}`;
}

/** v1 snapshots carry no checksum but v2 snapshots do: Kraken's rule over the snapshot's own top 10. */
function snapshotChecksum(f: KrakenV1BookFrame): number {
  const b = new OrderBook();
  for (const l of f.asks) b.set('ask', l[0], l[1]);
  for (const l of f.bids) b.set('bid', l[0], l[1]);
  return krakenChecksum(b);
}

describe('Kraken book: recording KRAKEN.ws.50.0 (v1, book-1000)', () => {
  it('verifies all 4,269 update checksums; the deepest side holds 853 levels, so truncation to 1,000 never cuts', async () => {
    const frames = await v1Frames();
    const out = newBookOutput();
    const syncs = new Map<string, KrakenBookSync>();
    let verified = 0;
    let deepest = 0;
    for (const { f, ts } of frames) {
      let s = syncs.get(f.pair);
      if (!s) syncs.set(f.pair, (s = new KrakenBookSync({ symbol: 'X-Y', venueSymbol: f.pair, depth: f.depth, now: ts })));
      s.onV1(f, ts, out);
      if (f.checksum !== undefined && krakenChecksum(s.book) === f.checksum) verified++;
      deepest = Math.max(deepest, s.book.bids.size, s.book.asks.size);
    }
    expect(frames.filter((x) => x.f.checksum !== undefined)).toHaveLength(4_269);
    expect(verified).toBe(4_269);
    expect(out.requests).toEqual([]);
    // SC/EUR: 849 bids in its snapshot, 853 at most after updates (a plain Map replay agrees;
    // the research brief's 847 is off)
    expect(deepest).toBe(853);
    const deltas = out.events.filter((e) => e.type === 'delta');
    expect(deltas).toHaveLength(4_269);
    // nothing beyond what Kraken sent: a truncation would have added deletes
    const sent = frames.reduce((n, x) => n + (x.f.snapshot ? 0 : x.f.asks.length + x.f.bids.length), 0);
    expect(deltas.reduce((n, e) => n + e.asks.length + e.bids.length, 0)).toBe(sent);
    expect(out.events.every((e) => BookEventCheck.Check(e))).toBe(true);
  });

  it('applies the one frame that splits a and b into two dicts whole (its checksum sits in the last dict)', async () => {
    const frames = await v1Frames();
    const at = frames.findIndex((x) => x.firstDict !== null);
    expect(frames.filter((x) => x.firstDict !== null)).toHaveLength(1);
    const pair = frames[at]!.f.pair;
    const run = (last: KrakenV1BookFrame): string[] => {
      const out = newBookOutput();
      const s = new KrakenBookSync({ symbol: 'X-Y', venueSymbol: pair, depth: 1000, now: 0 });
      for (const x of frames.slice(0, at)) if (x.f.pair === pair) s.onV1(x.f, x.ts, out);
      s.onV1(last, frames[at]!.ts, out);
      return out.requests.map((r) => r.reason);
    };
    expect(run(frames[at]!.f)).toEqual([]);
    // reading only the first dict (as cryptofeed does) misses the bid delete at the price of the
    // new ask (SC/EUR 0.042990): a crossed book, caught before the checksum
    expect(run(frames[at]!.firstDict!)).toEqual(['crossed']);
  });
});

describe('Kraken book v2: the recorded messages as JSON numbers', () => {
  it('decodes price and qty as their exact text, so all 4,269 update checksums verify', async () => {
    const frames = await v1Frames();
    const out = newBookOutput();
    const syncs = new Map<string, KrakenBookSync>();
    let verified = 0;
    for (const { f, ts } of frames) {
      const msg = decodeKrakenV2Book(asV2Text(f, f.checksum ?? snapshotChecksum(f)));
      if (!KrakenV2BookCheck.Check(msg)) throw new Error(JSON.stringify(KrakenV2BookCheck.Errors(msg).First()));
      const d = msg.data[0]!;
      let s = syncs.get(d.symbol);
      if (!s) syncs.set(d.symbol, (s = new KrakenBookSync({ symbol: 'X-Y', venueSymbol: d.symbol, depth: 1000, now: ts })));
      s.onV2(msg.type, d, ts, out);
      if (msg.type === 'update' && s.live) verified++;
    }
    expect(verified).toBe(4_269);
    expect(out.requests).toEqual([]);
    expect(out.events.find((e) => e.type === 'delta')!.ts).toBe(Date.UTC(2021, 3, 17, 16, 48, 53, 365));
  });

  it('a float decoder (JSON.parse alone) loses trailing zeros and fails the checksum', async () => {
    const frames = await v1Frames();
    const first = frames.find((x) => x.f.snapshot)!;
    const lossy = JSON.parse(asV2Text(first.f, snapshotChecksum(first.f)), (k, v: unknown) => (k === 'price' || k === 'qty' ? plainDecimal(String(v)) : v)) as unknown;
    if (!KrakenV2BookCheck.Check(lossy)) throw new Error('schema');
    const out = newBookOutput();
    const s = new KrakenBookSync({ symbol: 'X-Y', venueSymbol: first.f.pair, depth: 1000, now: first.ts });
    s.onV2('snapshot', lossy.data[0]!, first.ts, out);
    expect(out.requests).toEqual([{ kind: 'resubscribe', venue: 'kraken', symbol: 'X-Y', venueSymbol: first.f.pair, reason: 'checksum' }]);
    expect(s.state).toBe('syncing');
  });
});

/** Kraken v2 as the scenario's venue: JSON-number text on the wire, CRC32 of its true top 10, depth 10. */
function krakenV2Driver(venueSymbol: string): GapDriver<string> {
  const pair = `${venueSymbol}/USD`;
  const text = (type: 'snapshot' | 'update', bids: [string, string][], asks: [string, string][], truth: TrueBook, ts: number): string => {
    // JSON numbers as Kraken sends them: the decoder must keep "1.230" (not 1.23) for the checksum
    const lv = (ls: [string, string][]): string => `[${ls.map(([p, q]) => `{"price":${p},"qty":${q}}`).join(',')}]`;
    const stamp = type === 'update' ? `,"timestamp":"${new Date(ts).toISOString()}"` : '';
    return `{"channel":"book","type":"${type}","data":[{"symbol":"${pair}","bids":${lv(bids)},"asks":${lv(asks)},"checksum":${krakenChecksum(truth.toOrderBook())}${stamp}}]}`;
  };
  const feed = (sync: KrakenBookSync, raw: string, ts: number, out: BookOutput): void => {
    const m = decodeKrakenV2Book(raw);
    if (!KrakenV2BookCheck.Check(m)) throw new Error(JSON.stringify(KrakenV2BookCheck.Errors(m).First()));
    for (const d of m.data) sync.onV2(m.type, d, ts, out);
  };
  return {
    start(truth, ts, out) {
      const s = new KrakenBookSync({ symbol: 'AAA-USD', venueSymbol: pair, depth: 10, now: ts });
      feed(s, text('snapshot', truth.levels('bid'), truth.levels('ask'), truth, ts), ts, out);
      return s;
    },
    render(changes, truth, ts) {
      const side = (s: 'bid' | 'ask'): [string, string][] => changes.filter((c) => c.side === s).map((c) => [c.price, c.qty]);
      return text('update', side('bid'), side('ask'), truth, ts);
    },
    deliver: (sync, raw, ts, out) => feed(sync as KrakenBookSync, raw, ts, out),
    answer(sync, req, truth, ts, out) {
      expect(req.kind).toBe('resubscribe');
      feed(sync as KrakenBookSync, text('snapshot', truth.levels('bid'), truth.levels('ask'), truth, ts), ts, out);
    },
    corrupt: (raw) => raw.replace(/"checksum":([0-9]+)/, (_m, c: string) => `"checksum":${(Number(c) ^ 1) >>> 0}`),
    // no sequence numbers: a lost frame shows when the next one does not rewrite the same levels
    dropShows: (_b, k, next) => !next.some((c) => k.some((x) => x.side === c.side && x.price === c.price)),
  };
}

describe('Kraken v2 book sync: synthetic frames (no sequence numbers: the checksum is the gap rule)', () => {
  it.each(['drop', 'corrupt'] as const)('a %s update causes exactly one resubscribe of that pair only', (fault) => {
    const r = runGapScenario(krakenV2Driver, fault);
    expect(r.requestsA.map((q) => [q.kind, q.venueSymbol, q.reason])).toEqual([['resubscribe', 'AAA/USD', 'checksum']]);
    expect(r.requestsB).toEqual([]);
  });

  it('a duplicated update is harmless (absolute quantities): no resync, the book stays exact', () => {
    const r = runGapScenario(krakenV2Driver, 'duplicate');
    expect([r.requestsA, r.requestsB]).toEqual([[], []]);
  });

  it('truncates to the subscribed depth after each update and publishes the levels that fell out as deletes', () => {
    const out = newBookOutput();
    const s = new KrakenBookSync({ symbol: 'BTC-USD', venueSymbol: 'BTC/USD', depth: 10, now: 0 });
    const book = new OrderBook();
    const bids = Array.from({ length: 10 }, (_, i) => [`${100 - i}.0`, '1.00000000'] as [string, string]);
    for (const [p, q] of bids) book.set('bid', p, q);
    book.set('ask', '101.0', '1.00000000');
    const snap = { symbol: 'BTC/USD', bids: bids.map(([price, qty]) => ({ price, qty })), asks: [{ price: '101.0', qty: '1.00000000' }], checksum: krakenChecksum(book) };
    s.onV2('snapshot', snap, 1, out);
    book.set('bid', '100.5', '2.00000000');
    book.truncate(10);
    s.onV2('update', { symbol: 'BTC/USD', bids: [{ price: '100.5', qty: '2.00000000' }], asks: [], checksum: krakenChecksum(book), timestamp: '2024-01-02T03:04:05.678Z' }, 2, out);
    expect(out.requests).toEqual([]);
    expect(s.book.bids.size).toBe(10);
    expect(out.events.at(-1)).toMatchObject({ type: 'delta', bids: [['100.5', '2.00000000'], ['91.0', '0']], ts: Date.UTC(2024, 0, 2, 3, 4, 5, 678) });
  });
});
