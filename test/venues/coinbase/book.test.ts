import { describe, expect, it } from 'vitest';
import { newBookOutput } from '../../../actors/book/index.js';
import { compare, parseDecimal } from '../../../runtime/decimal.js';
import { BookEventCheck } from '../../../schemas/book.js';
import { CoinbaseExchangeBookCheck, CoinbaseL2DataCheck, type CoinbaseL2Data } from '../../../venues/coinbase/book-schemas.js';
import { CoinbaseBookSync, CoinbaseLevel2Connection } from '../../../venues/coinbase/book.js';
import { runGapScenario, SEQUENCE_FAULTS, type Change, type GapDriver, type TrueBook } from '../book-gaps.js';
import { receivedFrames } from '../recordings.js';

const same = (a: string, b: string): boolean => compare(parseDecimal(a), parseDecimal(b)) === 0;

describe('Coinbase Exchange level2: recording COINBASE.ws.28.0', () => {
  it('10 snapshots + 9,719 l2updates never cross; the top of book equals best_bid/best_ask for 97 of 97 tickers in arrival order', async () => {
    const out = newBookOutput();
    const books = new Map<string, CoinbaseBookSync>();
    const tickersSeen = new Set<string>();
    let snapshots = 0;
    let updates = 0;
    let tickers = 0;
    let agree = 0;
    for (const f of await receivedFrames('COINBASE.ws.28.0')) {
      const m = JSON.parse(f.data) as { type?: string; product_id?: string; best_bid?: string; best_ask?: string };
      if (m.type === 'snapshot' || m.type === 'l2update') {
        if (!CoinbaseExchangeBookCheck.Check(m)) throw new Error(`line ${f.line}: ${JSON.stringify(CoinbaseExchangeBookCheck.Errors(m).First())}`);
        let s = books.get(m.product_id);
        if (!s) books.set(m.product_id, (s = new CoinbaseBookSync({ symbol: m.product_id, venueSymbol: m.product_id, now: f.ts })));
        s.onExchange(m, f.ts, out);
        if (m.type === 'snapshot') snapshots++;
        else updates++;
        expect(s.book.crossed()).toBe(false);
      } else if (m.type === 'ticker') {
        // the first ticker per product is the last one before we subscribed: stale
        if (!tickersSeen.has(m.product_id!)) {
          tickersSeen.add(m.product_id!);
          continue;
        }
        tickers++;
        const s = books.get(m.product_id!)!;
        if (s.live && same(s.book.bids.priceAt(0), m.best_bid!) && same(s.book.asks.priceAt(0), m.best_ask!)) agree++;
      }
    }
    expect({ snapshots, updates }).toEqual({ snapshots: 10, updates: 9_719 });
    expect({ tickers, agree }).toEqual({ tickers: 97, agree: 97 });
    expect(out.requests).toEqual([]);
    expect(out.events.every((e) => BookEventCheck.Check(e))).toBe(true);
  });
});

/** Coinbase Advanced Trade as the scenario's venue: one level2 connection per product, sequence_num per message sent. */
function advancedTradeDriver(productId: string): GapDriver<CoinbaseL2Data> {
  const conn = new CoinbaseLevel2Connection();
  let seq = 0;
  /** Messages the venue sent a heartbeat right before (its number is theirs − 1). */
  const afterHeartbeat = new Set<number>();
  const message = (type: 'snapshot' | 'update', changes: Change[], ts: number): CoinbaseL2Data => {
    const m: CoinbaseL2Data = {
      channel: 'l2_data',
      client_id: '',
      timestamp: new Date(ts).toISOString().replace('Z', '123456Z'),
      sequence_num: seq++,
      events: [
        {
          type,
          product_id: productId,
          updates: changes.map((c) => ({ side: c.side === 'bid' ? 'bid' : 'offer', event_time: new Date(ts).toISOString(), price_level: c.price, new_quantity: c.qty })),
        },
      ],
    };
    expect(CoinbaseL2DataCheck.Check(m)).toBe(true);
    return m;
  };
  const snapshot = (truth: TrueBook, ts: number): CoinbaseL2Data =>
    message('snapshot', [...truth.levels('bid').map(([price, qty]) => ({ side: 'bid' as const, price, qty })), ...truth.levels('ask').map(([price, qty]) => ({ side: 'ask' as const, price, qty }))], ts);
  return {
    start(truth, ts, out) {
      const s = new CoinbaseBookSync({ symbol: 'AAA-USD', venueSymbol: productId, now: ts });
      conn.add(s);
      conn.onSequence(seq++, ts, out); // the `subscriptions` reply
      conn.onL2Data(snapshot(truth, ts), ts, out);
      return s;
    },
    render(changes, _truth, ts) {
      // now and then a heartbeats message in between: it takes a number too (delivered with the update)
      if (seq % 5 === 0) afterHeartbeat.add(++seq);
      return message('update', changes, ts);
    },
    deliver(_sync, m, ts, out) {
      if (afterHeartbeat.has(m.sequence_num)) conn.onSequence(m.sequence_num - 1, ts, out);
      conn.onL2Data(m, ts, out);
    },
    answer(_sync, req, truth, ts, out) {
      expect(req.kind).toBe('resubscribe');
      conn.onSequence(seq++, ts, out); // `subscriptions`
      conn.onL2Data(snapshot(truth, ts), ts, out);
    },
  };
}

describe('Coinbase Advanced Trade level2 sync: gap rules on synthetic l2_data (sequence_num per connection)', () => {
  it.each(SEQUENCE_FAULTS)('a %s message causes exactly one resubscribe of that product only', (fault) => {
    const r = runGapScenario(advancedTradeDriver, fault);
    expect(r.requestsA.map((q) => [q.kind, q.venueSymbol, q.reason])).toEqual([['resubscribe', 'AAA', fault === 'duplicate' ? 'out-of-order' : 'gap']]);
    expect(r.requestsB).toEqual([]);
  });

  it('a gap on a connection carrying two products resyncs both: sequence_num cannot name the product lost', () => {
    const out = newBookOutput();
    const conn = new CoinbaseLevel2Connection();
    for (const p of ['BTC-USD', 'ETH-USD']) conn.add(new CoinbaseBookSync({ symbol: p, venueSymbol: p, now: 0 }));
    const snap = (seq: number, product: string): CoinbaseL2Data => ({
      channel: 'l2_data',
      timestamp: '2024-01-02T03:04:05.123456789Z',
      sequence_num: seq,
      events: [{ type: 'snapshot', product_id: product, updates: [{ side: 'bid', price_level: '1', new_quantity: '1' }, { side: 'offer', price_level: '2', new_quantity: '1' }] }],
    });
    conn.onL2Data(snap(0, 'BTC-USD'), 1, out);
    conn.onL2Data(snap(1, 'ETH-USD'), 2, out);
    expect(out.events.map((e) => [e.symbol, e.type, e.ts])).toEqual([['BTC-USD', 'snapshot', Date.UTC(2024, 0, 2, 3, 4, 5, 123)], ['ETH-USD', 'snapshot', Date.UTC(2024, 0, 2, 3, 4, 5, 123)]]);
    conn.onSequence(3, 3, out); // 2 lost
    expect(out.requests.map((r) => [r.venueSymbol, r.reason])).toEqual([['BTC-USD', 'gap'], ['ETH-USD', 'gap']]);
    expect([...conn.books.values()].map((b) => b.state)).toEqual(['syncing', 'syncing']);
  });
});
