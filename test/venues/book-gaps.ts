import { expect } from 'vitest';
import { newBookOutput, OrderBook, type BookOutput, type BookRequest, type BookSync, type Level } from '../../actors/book/index.js';
import { BookEventCheck, type BookEvent } from '../../schemas/book.js';

/**
 * Gap-rule scenarios shared by the venue book tests: a venue (a driver rendering frames from a
 * true book, assigning its ids in send order) and a network that drops, duplicates, reorders or
 * corrupts ONE frame of symbol A, while symbol B runs clean beside it. Requests are answered at
 * the end of each step (a round trip later), as the venue would: a snapshot of the true book.
 */

export interface Change {
  side: 'bid' | 'ask';
  price: string;
  /** "0" deletes. */
  qty: string;
}

/** The venue's own book: price text → qty text per side. */
export class TrueBook {
  readonly bids = new Map<string, string>();
  readonly asks = new Map<string, string>();

  apply(changes: readonly Change[]): void {
    for (const c of changes) {
      const side = c.side === 'bid' ? this.bids : this.asks;
      if (c.qty === '0') side.delete(c.price);
      else side.set(c.price, c.qty);
    }
  }

  /** Best first, as `[price, qty]`. */
  levels(side: 'bid' | 'ask'): Level[] {
    const m = side === 'bid' ? this.bids : this.asks;
    const sorted = [...m.entries()].sort((a, b) => Number(a[0]) - Number(b[0])); // test prices have ≤ 2 decimals: exact in a double
    return (side === 'bid' ? sorted.reverse() : sorted).map(([p, q]) => [p, q]);
  }

  /** The same levels in an engine book (for checksums the venue computes). */
  toOrderBook(): OrderBook {
    const b = new OrderBook();
    for (const [p, q] of this.bids) b.set('bid', p, q);
    for (const [p, q] of this.asks) b.set('ask', p, q);
    return b;
  }

  clone(): TrueBook {
    const t = new TrueBook();
    for (const [p, q] of this.bids) t.bids.set(p, q);
    for (const [p, q] of this.asks) t.asks.set(p, q);
    return t;
  }
}

/** mulberry32: deterministic streams. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BID_PRICES = ['99.91', '99.92', '99.93', '99.94', '99.95', '99.96', '99.97', '99.98', '99.99'];
const ASK_PRICES = ['100.01', '100.02', '100.03', '100.04', '100.05', '100.06', '100.07', '100.08', '100.09'];

/**
 * Steps of 1–4 changes that each change the book (insert a new price, delete or re-size a held
 * one), on 9 prices a side that never cross, so every change is inside a top-10 checksum.
 */
export function changeSteps(seed: number, steps: number): { initial: Change[]; steps: Change[][] } {
  const rand = rng(seed);
  const truth = new TrueBook();
  const qty = (): string => (1 + Math.floor(rand() * 9_999)).toString().padStart(4, '0').replace(/^(\d)(\d{3})$/, '$1.$2');
  const initial: Change[] = [];
  for (const p of BID_PRICES.slice(3)) initial.push({ side: 'bid', price: p, qty: qty() });
  for (const p of ASK_PRICES.slice(0, 6)) initial.push({ side: 'ask', price: p, qty: qty() });
  truth.apply(initial);
  const out: Change[][] = [];
  for (let s = 0; s < steps; s++) {
    const n = 1 + Math.floor(rand() * 4);
    const changes: Change[] = [];
    const touched = new Set<string>();
    for (let i = 0; i < n; i++) {
      const side = rand() < 0.5 ? 'bid' : 'ask';
      const prices = side === 'bid' ? BID_PRICES : ASK_PRICES;
      const price = prices[Math.floor(rand() * prices.length)]!;
      if (touched.has(side + price)) continue;
      touched.add(side + price);
      const held = (side === 'bid' ? truth.bids : truth.asks).get(price);
      let q = qty();
      if (held !== undefined && rand() < 0.4) q = '0';
      else while (q === held) q = qty();
      changes.push({ side, price, qty: q });
    }
    truth.apply(changes);
    out.push(changes);
  }
  return { initial, steps: out };
}

/** One venue's protocol for one symbol, as the scenario drives it. */
export interface GapDriver<F> {
  /** A fresh sync, live on a snapshot of `truth` (made without a request). */
  start(truth: TrueBook, ts: number, out: BookOutput): BookSync;
  /** The venue renders one step's frame (ids assigned now, in send order); `truth` is after the step. */
  render(changes: Change[], truth: TrueBook, ts: number): F;
  deliver(sync: BookSync, frame: F, ts: number, out: BookOutput): void;
  /** The venue answers a request (a round trip after it): a snapshot of `truth`. */
  answer(sync: BookSync, req: BookRequest, truth: TrueBook, ts: number, out: BookOutput): void;
  /** The frame with a wrong checksum (checksum venues only). */
  corrupt?(frame: F): F;
  /** For venues without sequence ids: would dropping step k's frame show at step k+1? */
  dropShows?(before: TrueBook, k: Change[], next: Change[]): boolean;
}

export type Fault = 'none' | 'drop' | 'duplicate' | 'reorder' | 'corrupt';

export interface GapResult {
  /** Requests made for symbol A, and for the clean symbol B. */
  requestsA: BookRequest[];
  requestsB: BookRequest[];
  faultStep: number;
}

/**
 * Runs 40 steps of symbols A and B; injects `fault` into A at the first step ≥ 5 where it can
 * show, and checks what must hold whatever the venue: A and B end live and equal to the truth,
 * B never resyncs, nothing of A is served between its failure and its next snapshot, our seq is
 * contiguous, every event is valid, and a consumer mirroring A's events holds the true book.
 */
export function runGapScenario<F>(makeDriver: (venueSymbol: string) => GapDriver<F>, fault: Fault, seed = 7): GapResult {
  const STEPS = 40;
  const a = { d: makeDriver('AAA'), ...changeSteps(seed, STEPS), truth: new TrueBook(), out: newBookOutput() };
  const b = { d: makeDriver('BBB'), ...changeSteps(seed + 1, STEPS), truth: new TrueBook(), out: newBookOutput() };
  let ts = 1_700_000_000_000;
  a.truth.apply(a.initial);
  b.truth.apply(b.initial);
  const syncA = a.d.start(a.truth, ts, a.out);
  const syncB = b.d.start(b.truth, ts, b.out);
  expect([syncA.state, syncB.state]).toEqual(['live', 'live']);

  let faultStep = -1;
  if (fault !== 'none') {
    for (let k = 5; k < STEPS - 2 && faultStep < 0; k++) {
      if (fault === 'drop' && a.d.dropShows) {
        const before = new TrueBook();
        before.apply(a.initial);
        for (const s of a.steps.slice(0, k)) before.apply(s);
        if (!a.d.dropShows(before, a.steps[k]!, a.steps[k + 1]!)) continue;
      }
      faultStep = k;
    }
    expect(faultStep, 'a step where the fault can show').toBeGreaterThanOrEqual(5);
  }
  if (fault === 'corrupt') expect(a.d.corrupt, 'corrupt needs a checksum venue').toBeDefined();

  let held: F | null = null;
  let servedWhileSyncing = 0;
  for (let k = 0; k < STEPS; k++) {
    ts += 100;
    for (const side of [a, b]) {
      const sync = side === a ? syncA : syncB;
      side.truth.apply(side.steps[k]!);
      const frame = side.d.render(side.steps[k]!, side.truth, ts);
      const n = side.out.requests.length;
      const deliveries: F[] = [];
      if (side !== a || k !== faultStep) deliveries.push(frame);
      else if (fault === 'duplicate') deliveries.push(frame, frame);
      else if (fault === 'reorder') held = frame;
      else if (fault === 'corrupt') deliveries.push(side.d.corrupt!(frame));
      // 'drop': nothing delivered
      if (side === a && k === faultStep + 1 && held !== null) {
        deliveries.push(held);
        held = null;
      }
      for (const f of deliveries) side.d.deliver(sync, f, ts, side.out);
      if (sync.state === 'syncing') {
        const snap = sync.topN(50);
        servedWhileSyncing += snap.bids.length + snap.asks.length;
      }
      // the venue answers a round trip later, with its book as of then
      for (const req of side.out.requests.slice(n)) side.d.answer(sync, req, side.truth, ts + 50, side.out);
    }
  }

  for (const [side, sync] of [[a, syncA], [b, syncB]] as const) {
    expect(sync.state).toBe('live');
    expect({ bids: sync.book.bids.levels(), asks: sync.book.asks.levels() }).toEqual({ bids: side.truth.levels('bid'), asks: side.truth.levels('ask') });
    checkEvents(side.out.events, side.truth);
  }
  expect(servedWhileSyncing).toBe(0);
  return { requestsA: a.out.requests, requestsB: b.out.requests, faultStep };
}

/** Valid, contiguous, nothing served while syncing, and a mirror built from them equals the truth. */
function checkEvents(events: BookEvent[], truth: TrueBook): void {
  const mirror = new OrderBook();
  let syncing = false;
  let epoch = 0; // the first snapshot opens epoch 1
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    expect(BookEventCheck.Check(e), JSON.stringify(e).slice(0, 200)).toBe(true);
    expect(e.seq).toBe(i + 1);
    expect(e.prevSeq).toBe(i);
    if (e.type === 'status') {
      if (e.state === 'syncing') syncing = true;
      continue;
    }
    if (e.type === 'snapshot') {
      expect(e.epoch).toBe(epoch + 1);
      epoch = e.epoch;
      syncing = false;
      mirror.clear();
    } else {
      expect(syncing, 'a delta while syncing').toBe(false);
      expect(e.epoch).toBe(epoch);
    }
    for (const [p, q] of e.bids) mirror.set('bid', p, q);
    for (const [p, q] of e.asks) mirror.set('ask', p, q);
  }
  expect({ bids: mirror.bids.levels(), asks: mirror.asks.levels() }).toEqual({ bids: truth.levels('bid'), asks: truth.levels('ask') });
}

/** The four network faults every sequenced venue must catch with exactly one resync of that symbol. */
export const SEQUENCE_FAULTS = ['drop', 'duplicate', 'reorder'] as const;
