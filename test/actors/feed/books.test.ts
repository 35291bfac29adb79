import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookSnapSubject, BookSnapCheck, type BookSnap } from '../../../schemas/book.js';
import type { BookFault } from '../../../simulate/book-faults.js';
import { TcpProxy } from '../../tcp-proxy.js';
import { allLive, bookOf, expectSameBook, resyncCount, servedAndTrue, startBookRig, until, type BookRig } from './books-rig.js';

/**
 * Books live, per venue, against the simulator (its true book moves with the synthetic market)
 * and real NATS and Redis: every book syncs; a dropped, duplicated or reordered delta, or one with
 * a corrupt checksum, makes exactly one resync of that symbol and none of its neighbour; nothing
 * is served while it resyncs (no book quote, no Redis book with state live); the rebuilt book equals
 * the simulator's true book.
 *
 * Kraken sends absolute level values and no sequence numbers: a duplicated update leaves the book
 * as it was (its checksum still holds), so there it must cause no resync at all.
 */

interface Case {
  venue: string;
  /** Names the case where a venue has several (its perpetuals). */
  label?: string;
  symbols: [string, string];
  /** Faults and the resyncs each must cause. */
  faults: [BookFault, number][];
}

const CASES: Case[] = [
  { venue: 'binance', symbols: ['BTC-USDT', 'ETH-USDT'], faults: [['drop', 1], ['duplicate', 1], ['reorder', 1]] },
  { venue: 'binance-futures', symbols: ['BTC-USDT-PERP', 'ETH-USDT-PERP'], faults: [['drop', 1], ['duplicate', 1], ['reorder', 1]] },
  { venue: 'bybit', symbols: ['BTC-USDT', 'ETH-USDT'], faults: [['drop', 1], ['duplicate', 1], ['reorder', 1]] },
  { venue: 'coinbase', symbols: ['BTC-USD', 'ETH-USD'], faults: [['drop', 1], ['duplicate', 1], ['reorder', 1]] },
  { venue: 'kraken', symbols: ['BTC-USD', 'ETH-USD'], faults: [['drop', 1], ['reorder', 1], ['corrupt-checksum', 1], ['duplicate', 0]] },
  { venue: 'okx', symbols: ['BTC-USDT', 'ETH-USDT'], faults: [['drop', 1], ['duplicate', 1], ['reorder', 1], ['corrupt-checksum', 1]] },
  // perpetuals on their own book connections: Bybit linear (`/v5/public/linear`, sizes in base units)
  // and OKX swaps (sizes in contracts, published × ctVal; the checksum is over the contract text)
  { venue: 'bybit', label: 'linear perpetuals', symbols: ['BTC-USDT-PERP', 'ETH-USDT-PERP'], faults: [['drop', 1], ['duplicate', 1], ['reorder', 1]] },
  { venue: 'okx', label: 'swaps', symbols: ['BTC-USDT-PERP', 'ETH-USDT-PERP'], faults: [['drop', 1], ['duplicate', 1], ['reorder', 1], ['corrupt-checksum', 1]] },
  // the same pair as spot and perpetual: two instruments, two books, each its own connection
  { venue: 'bybit', label: 'spot and linear of one pair', symbols: ['BTC-USDT-PERP', 'BTC-USDT'], faults: [['drop', 1]] },
  { venue: 'okx', label: 'spot and swap of one pair', symbols: ['BTC-USDT-PERP', 'BTC-USDT'], faults: [['drop', 1]] },
];

for (const c of CASES) {
  describe(`books on ${c.venue}${c.label ? ` (${c.label})` : ''} (simulator, NATS, Redis)`, () => {
    let rig: BookRig;
    const [A, B] = c.symbols;

    beforeAll(async () => {
      // both symbols busy: a fault on A is caught at A's next delta within a second or so
      rig = await startBookRig(c.venue, { symbols: [...c.symbols], tradesPerSec: 20, quotesPerSec: 20, seed: 7, burstiness: 0.2 });
    }, 60_000);
    afterAll(async () => rig?.stop(), 60_000);

    it('syncs every book from the venue and serves the true book', async () => {
      await allLive(rig, c.symbols);
      for (const s of c.symbols) {
        const { served, truth } = await servedAndTrue(rig, s);
        expect(served.bids.length).toBeGreaterThan(0);
        expectSameBook(served, truth);
      }
      // live books made quotes from their top
      await until('a book quote per symbol', () => c.symbols.every((s) => rig.bus.some((m) => m.kind === 'quote' && m.q.symbol === s)));
      expect(resyncCount(bookOf(rig, A))).toBe(0);
      // MD_BOOKS holds one message per book subject (in memory): its latest top-N
      const stream = rig.iso.ns.stream('MD_BOOKS');
      const info = await rig.nats.jsm.streams.info(stream);
      expect([info.config.max_msgs_per_subject, info.config.storage]).toEqual([1, 'memory']);
      await until('MD_BOOKS: one message per book', async () => (await rig.nats.jsm.streams.info(stream)).state.messages === c.symbols.length);
      for (const s of c.symbols) {
        const m = await rig.nats.jsm.streams.getMessage(stream, { last_by_subj: rig.iso.ns.subject(bookSnapSubject(c.venue, s)) });
        const snap = m!.json<BookSnap>();
        expect(BookSnapCheck.Check(snap)).toBe(true);
        expect(snap).toMatchObject({ venue: c.venue, symbol: s, state: 'live', depth: 50 });
        expect(snap.bids.length).toBeGreaterThan(0);
      }
    }, 90_000);

    for (const [fault, resyncs] of c.faults) {
      // One retry, re-armed and re-measured from scratch: under CPU starvation (two cores saturated
      // by other work) the simulator's fault timing against the feed's resync was seen to give a
      // second resync (bybit reorder, 1 of 4 runs at load ~7); a real defect fails both tries.
      it(`${fault} of one ${A} delta: ${resyncs === 1 ? 'one resync of that book only, nothing served meanwhile, rebuilt to the true book' : 'no resync (the book stays true)'}`, { retry: 1, timeout: 120_000 }, async () => {
        await allLive(rig, c.symbols);
        const before = { a: resyncCount(bookOf(rig, A)), b: resyncCount(bookOf(rig, B)), epoch: bookOf(rig, A)!.epoch };
        const applied = rig.sim.stats().bookFaults[fault] ?? 0;
        const busFrom = rig.bus.length;
        const writesFrom = rig.writes.length;
        rig.sim.misbehave({ kind: 'book', fault, symbol: A });
        await until(`${fault} applied`, () => (rig.sim.stats().bookFaults[fault] ?? 0) > applied);
        if (resyncs === 1) {
          await until(`${A} resynced`, () => resyncCount(bookOf(rig, A)) > before.a && bookOf(rig, A)!.state === 'live' && bookOf(rig, A)!.epoch > before.epoch, 30_000, () => rig.feed.health());
        } else {
          // several more deltas of A, each checked
          const seq = bookOf(rig, A)!.seq;
          await until(`${A} moved on`, () => bookOf(rig, A)!.seq >= seq + 5);
        }
        const { served, truth } = await servedAndTrue(rig, A);
        expectSameBook(served, truth);
        expect(resyncCount(bookOf(rig, A)) - before.a).toBe(resyncs);
        expect(resyncCount(bookOf(rig, B)) - before.b).toBe(0);
        if (resyncs === 0) return;

        // md.book: A left live once (one status event) and came back with a snapshot of a new epoch
        const bus = rig.bus.slice(busFrom);
        const failAt = bus.findIndex((m) => m.kind === 'event' && m.e.symbol === A && m.e.type === 'status' && m.e.state === 'syncing');
        expect(failAt).toBeGreaterThanOrEqual(0);
        const backAt = bus.findIndex((m, i) => i > failAt && m.kind === 'event' && m.e.symbol === A && m.e.type === 'snapshot');
        expect(backAt).toBeGreaterThan(failAt);
        expect(bus.filter((m) => m.kind === 'event' && m.e.symbol === A && m.e.type === 'status').length).toBe(1);
        // no quote of A while it was syncing; B kept quoting around it
        expect(bus.slice(failAt, backAt).filter((m) => m.kind === 'quote' && m.q.symbol === A)).toEqual([]);

        // Redis: once A went syncing, no live book of the broken epoch; syncing entries hold no levels
        const writes = rig.writes.slice(writesFrom).filter((w) => w.symbol === A);
        const syncingAt = writes.findIndex((w) => w.state === 'syncing');
        expect(syncingAt).toBeGreaterThanOrEqual(0);
        for (const w of writes.slice(syncingAt)) {
          if (w.state === 'syncing') expect([w.bids.length, w.asks.length]).toEqual([0, 0]);
          else expect(w.epoch).toBeGreaterThan(before.epoch);
        }
      });
    }
  });
}

describe('a 429 storm on Binance depth snapshots (simulator, NATS, Redis)', () => {
  let rig: BookRig;
  afterAll(async () => rig?.stop(), 60_000);

  it('honours Retry-After and the REST weight: every book syncs with 0 violations counted by the simulator', async () => {
    const symbols = ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'];
    rig = await startBookRig('binance', { symbols, tradesPerSec: 20, quotesPerSec: 20, seed: 3 });
    // every first snapshot and the retries after it: 429 with Retry-After 1 s, six times over
    rig.sim.misbehave({ kind: 'snapshot-429', count: 6, retryAfterMs: 1000 });
    await allLive(rig, symbols);
    const stats = rig.sim.stats();
    expect(stats.violations).toEqual({});
    expect(stats.restRequests).toBeGreaterThanOrEqual(6 + symbols.length);
    for (const s of symbols) {
      const { served, truth } = await servedAndTrue(rig, s);
      expectSameBook(served, truth);
    }
  }, 120_000);
});

describe('OKX swap books wait for their contract values (simulator behind a TCP proxy, NATS, Redis)', () => {
  let rig: BookRig | undefined;
  const proxy = { current: null as TcpProxy | null };
  afterAll(async () => {
    await rig?.stop();
    await proxy.current?.cut();
  }, 60_000);

  it('no swap book while the instruments cannot be read (sizes would be contracts), the spot book meanwhile; read again later, the swap book syncs in base units', async () => {
    const symbols = ['BTC-USDT', 'BTC-USDT-PERP'];
    rig = await startBookRig('okx', { symbols, tradesPerSec: 20, quotesPerSec: 20, seed: 9 }, async (sim) => {
      const p = TcpProxy.forUrl(sim.env.OKX_REST_URL!, 80);
      await p.start();
      await p.cut();
      proxy.current = p;
      return { OKX_REST_URL: p.url(sim.env.OKX_REST_URL!).replace(/\/$/, '') };
    });
    await allLive(rig, ['BTC-USDT']);
    expect(bookOf(rig, 'BTC-USDT-PERP')).toBeUndefined();
    expect(rig.feed.symbols).toEqual(['BTC-USDT']);
    await proxy.current!.start();
    await allLive(rig, symbols);
    const { served, truth } = await servedAndTrue(rig, 'BTC-USDT-PERP');
    expectSameBook(served, truth);
  }, 120_000);
});
