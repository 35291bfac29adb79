// Integration test of perpetual books end to end: the book feed against the venue simulator, the
// API on the same namespace, all on the real NATS, Redis and PostgreSQL servers.
import { afterEach, describe, expect, it } from 'vitest';
import { BookSnapCheck, type BookSnap } from '../../schemas/book.js';
import { allLive, bookOf, expectSameBook, startBookRig, until, type BookRig } from '../actors/feed/books-rig.js';
import { startApi, type ApiUnderTest } from './harness.js';

/**
 * A `BASE-QUOTE-PERP` book of Bybit (linear endpoint) and OKX (swap, sizes in contracts) is kept in
 * Redis under `book:<venue>:<SYMBOL>` and answered by `GET /v1/book/:venue/:symbol` in base units,
 * equal to the simulator's true book.
 */
const SYMBOL = 'BTC-USDT-PERP';

describe('GET /v1/book/:venue/:symbol for perpetual books (simulator, NATS, Redis, PostgreSQL)', () => {
  let api: ApiUnderTest | undefined;
  let rig: BookRig | undefined;
  afterEach(async () => {
    await rig?.stop();
    await api?.stop();
    rig = undefined;
    api = undefined;
  }, 60_000);

  for (const venue of ['bybit', 'okx']) {
    it(`${venue}: the live ${SYMBOL} book from Redis book:${venue}:${SYMBOL}, cut to depth, equal to the true book`, async () => {
      api = await startApi();
      rig = await startBookRig(venue, { symbols: [SYMBOL], tradesPerSec: 20, quotesPerSec: 20, seed: 11 }, {}, undefined, api.iso);
      await allLive(rig, [SYMBOL]);
      const stored = await api.iso.redis().get(api.iso.ns.key(`book:${venue}:${SYMBOL}`));
      expect(JSON.parse(stored!)).toMatchObject({ venue, symbol: SYMBOL });

      // the market paused: once the feed has applied everything, the API answers the true book
      const r = rig;
      const base = api.base;
      r.sim.pause();
      try {
        let lastSeq = -1;
        let stableSince = Date.now();
        const body = await until(`${SYMBOL} quiet, live and served by the API`, async () => {
          const h = bookOf(r, SYMBOL);
          if (h === undefined) return null;
          if (h.seq !== lastSeq) {
            lastSeq = h.seq;
            stableSince = Date.now();
            return null;
          }
          if (h.state !== 'live' || Date.now() - stableSince < 400) return null;
          const res = await fetch(`${base}/v1/book/${venue}/${SYMBOL}?depth=10`);
          if (res.status !== 200) return null;
          const b = (await res.json()) as BookSnap;
          return b.seq === h.seq && b.state === 'live' ? b : null;
        });
        expect(BookSnapCheck.Check(body)).toBe(true);
        expect(body).toMatchObject({ venue, symbol: SYMBOL, state: 'live', depth: 10 });
        expect([body.bids.length, body.asks.length]).toEqual([10, 10]);
        expectSameBook(body, r.sim.book(SYMBOL, 10)!);
      } finally {
        r.sim.resume();
      }
    }, 120_000);
  }
});
