import { describe, expect, it } from 'vitest';
import { BookSync, newBookOutput, type BookOutput, type Level, type RawLevel } from '../../../actors/book/index.js';
import { BookEventCheck, BookSnapCheck } from '../../../schemas/book.js';

/** The smallest venue: a snapshot, then deltas numbered n, n+1, … (what every venue sync builds on). */
class CountingSync extends BookSync {
  protected readonly resyncKind = 'resubscribe' as const;
  private last = 0;

  snapshot(n: number, bids: RawLevel[], asks: RawLevel[], ts: number, out: BookOutput): void {
    this.book.clear();
    if (!this.applyLevels('bid', bids, null, ts, out) || !this.applyLevels('ask', asks, null, ts, out)) return;
    if (!this.checkUncrossed(ts, out)) return;
    this.last = n;
    this.begin(ts, ts, String(n), undefined, out);
  }

  update(n: number, bids: RawLevel[], asks: RawLevel[], ts: number, out: BookOutput): void {
    if (this.state === 'syncing') return;
    if (n !== this.last + 1) return this.fail(n <= this.last ? 'out-of-order' : 'gap', ts, out);
    const b: Level[] = [];
    const a: Level[] = [];
    if (!this.applyLevels('bid', bids, b, ts, out) || !this.applyLevels('ask', asks, a, ts, out)) return;
    if (!this.checkUncrossed(ts, out)) return;
    this.last = n;
    this.delta(b, a, ts, ts, String(n), undefined, out);
  }
}

function live(out: BookOutput = newBookOutput()): { s: CountingSync; out: BookOutput } {
  const s = new CountingSync({ venue: 'okx', symbol: 'BTC-USDT', venueSymbol: 'BTC-USDT', now: 0, resyncTimeoutMs: 10_000 });
  s.snapshot(1, [['100', '1']], [['101', '1']], 5, out);
  return { s, out };
}

describe('BookSync: states, events and requests every venue shares', () => {
  it('opens epoch 1 with a snapshot of the whole book, then numbers every event contiguously', () => {
    const { s, out } = live();
    s.update(2, [['99', '2']], [], 6, out);
    s.update(3, [], [['101', '0.000']], 7, out);
    expect(out.events.map((e) => [e.type, e.epoch, e.seq, e.prevSeq, e.state])).toEqual([
      ['snapshot', 1, 1, 0, 'live'],
      ['delta', 1, 2, 1, 'live'],
      ['delta', 1, 3, 2, 'live'],
    ]);
    expect(out.events[2]!.asks).toEqual([['101', '0']]); // any spelling of zero is published as "0"
    expect(out.events.every((e) => BookEventCheck.Check(e))).toBe(true);
  });

  it('a failure goes syncing (one status event, book cleared, nothing served) and requests one resync; more failures request nothing', () => {
    const { s, out } = live();
    s.update(3, [], [], 10, out); // 2 lost
    s.update(5, [], [], 11, out);
    s.update(4, [], [], 12, out);
    expect(out.requests).toEqual([{ kind: 'resubscribe', venue: 'okx', symbol: 'BTC-USDT', venueSymbol: 'BTC-USDT', reason: 'gap' }]);
    expect(out.events.at(-1)).toMatchObject({ type: 'status', state: 'syncing', reason: 'gap', seq: 2, bids: [], asks: [] });
    expect(s.book.bids.size + s.book.asks.size).toBe(0);
    const snap = s.topN(50);
    expect(BookSnapCheck.Check(snap)).toBe(true);
    expect(snap).toMatchObject({ state: 'syncing', bids: [], asks: [], epoch: 1, seq: 2 });
    s.snapshot(9, [['100', '3']], [['102', '1']], 13, out);
    expect(out.events.at(-1)).toMatchObject({ type: 'snapshot', epoch: 2, seq: 3, bids: [['100', '3']] });
    expect(s.resyncs).toMatchObject({ gap: 1, initial: 0 });
  });

  it('asks again when a resync does not complete in time', () => {
    const { s, out } = live();
    s.update(5, [], [], 1_000, out);
    s.tick(10_999, out);
    expect(out.requests.map((r) => r.reason)).toEqual(['gap']);
    s.tick(11_000, out);
    s.tick(15_000, out);
    expect(out.requests.map((r) => r.reason)).toEqual(['gap', 'timeout']);
  });

  it('waits for the first snapshot without asking, and asks if it never comes', () => {
    const out = newBookOutput();
    const s = new CountingSync({ venue: 'okx', symbol: 'BTC-USDT', venueSymbol: 'BTC-USDT', now: 0, resyncTimeoutMs: 10_000 });
    s.update(1, [['1', '1']], [], 5, out); // a delta before any snapshot: nothing to apply it to
    s.tick(9_999, out);
    expect([out.requests, out.events, s.state]).toEqual([[], [], 'syncing']);
    s.tick(10_000, out);
    expect(out.requests.map((r) => r.reason)).toEqual(['timeout']);
  });

  it('a disconnect goes syncing without a request (the reconnect resubscribes); stale books come back live with the next frame', () => {
    const { s, out } = live();
    s.markStale(50, out);
    expect([s.state, s.live, s.topN(5).bids]).toEqual(['stale', false, [['100', '1']]]);
    s.update(2, [], [], 60, out); // a keep-alive proves the book current
    expect(out.events.slice(-2).map((e) => [e.type, e.state, e.reason])).toEqual([
      ['status', 'stale', 'stale'],
      ['delta', 'live', undefined],
    ]);
    s.update(3, [], [], 61, out); // while live, an empty frame emits nothing
    expect(out.events).toHaveLength(3);
    s.onDisconnect(70, out);
    expect(out.events.at(-1)).toMatchObject({ type: 'status', state: 'syncing', reason: 'disconnect' });
    expect(out.requests).toEqual([]);
    s.tick(10_069, out);
    s.tick(10_070, out);
    expect(out.requests.map((r) => r.reason)).toEqual(['timeout']);
  });

  it('a crossed book after a whole frame, or a level the engine refuses, fails the sync; refused levels are reported for the DLQ', () => {
    const { s, out } = live();
    // one frame moves both sides: crossed only if judged level by level
    s.update(2, [['101.5', '1']], [['101', '0'], ['102', '1']], 10, out);
    expect(out.requests).toEqual([]);
    s.update(3, [['103', '1']], [], 11, out);
    expect(out.requests.map((r) => r.reason)).toEqual(['crossed']);
    const b = live();
    b.s.update(2, [['100', '-1']], [], 10, b.out);
    expect(b.out.requests.map((r) => r.reason)).toEqual(['invalid-level']);
    expect(b.out.invalid).toEqual([{ venue: 'okx', symbol: 'BTC-USDT', venueSymbol: 'BTC-USDT', detail: 'qty is negative: -1' }]);
  });
});
