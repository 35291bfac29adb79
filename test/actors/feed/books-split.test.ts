import { afterAll, describe, expect, it } from 'vitest';
import { newBookOutput } from '../../../actors/book/index.js';
import { BookPublisher, splitEvent } from '../../../actors/feed/book-publisher.js';
import { createLogger } from '../../../runtime/logger.js';
import { PipelinedPublisher } from '../../../runtime/nats/index.js';
import { BookEventCheck, type BookEvent } from '../../../schemas/book.js';
import { CoinbaseBookSync } from '../../../venues/coinbase/book.js';
import { isolated } from '../../harness.js';
import { until } from './books-rig.js';

/** A snapshot larger than NATS's max payload goes out as parts with one seq (real nats-server). */
describe('md.book snapshot above the NATS max payload (NATS)', () => {
  const iso = isolated();
  afterAll(() => iso.cleanup(), 60_000);

  it('is split into parts under the limit that together hold the whole book', async () => {
    const nats = await iso.nats();
    const max = nats.nc.info!.max_payload;
    // a deep Coinbase-like book: ~2 x 25,000 levels, well above 1 MiB of JSON
    const n = 25_000;
    const sync = new CoinbaseBookSync({ symbol: 'BTC-USD', venueSymbol: 'BTC-USD', now: 0 });
    const updates = [];
    for (let i = 0; i < n; i++) {
      updates.push({ side: 'bid' as const, price_level: (20_000 - i * 0.01).toFixed(2), new_quantity: `0.${String(i + 1).padStart(8, '0')}` });
      updates.push({ side: 'offer' as const, price_level: (20_001 + i * 0.01).toFixed(2), new_quantity: `1.${String(i + 1).padStart(8, '0')}` });
    }
    const out = newBookOutput();
    sync.onEvent({ type: 'snapshot', product_id: 'BTC-USD', updates }, 1_700_000_000_000, 1_700_000_000_001, out);
    const snapshot = out.events[0]!;
    expect(Buffer.byteLength(JSON.stringify(snapshot))).toBeGreaterThan(max);

    const got: { bytes: number; e: BookEvent }[] = [];
    const sub = nats.nc.subscribe(iso.ns.subject('md.book.coinbase.BTC-USD'), { callback: (_err, m) => { got.push({ bytes: m.data.length, e: m.json<BookEvent>() }); } });
    await nats.nc.flush();
    const js = new PipelinedPublisher(nats);
    const publisher = new BookPublisher({ venue: 'coinbase', nc: nats.nc, js, ns: iso.ns, cache: { put: async () => undefined }, depth: 50, log: createLogger('silent') });
    publisher.track(sync);
    publisher.publish(out.events, 1_700_000_000_001, Date.now());
    await until('every part', () => got.length > 0 && got.length === got[0]!.e.parts);
    sub.unsubscribe();
    js.close();

    const parts = got.map((g) => g.e);
    expect(parts.length).toBeGreaterThanOrEqual(2);
    for (const g of got) expect(g.bytes).toBeLessThanOrEqual(max);
    for (const [i, p] of parts.entries()) {
      expect(BookEventCheck.Check(p)).toBe(true);
      expect(p).toMatchObject({ type: 'snapshot', seq: snapshot.seq, epoch: snapshot.epoch, part: i + 1, parts: parts.length });
    }
    expect(parts.flatMap((p) => p.bids)).toEqual(snapshot.bids);
    expect(parts.flatMap((p) => p.asks)).toEqual(snapshot.asks);
  }, 60_000);

  it('splitEvent halves the slices until each part fits', () => {
    const e = { venue: 'x', symbol: 'A-B', type: 'snapshot', epoch: 1, seq: 1, prevSeq: 0, state: 'live', bids: Array.from({ length: 100 }, (_, i) => [`${i}`, '1']), asks: [], ts: 0, recvTs: 0 } as BookEvent;
    const parts = splitEvent(e, JSON.stringify(e).length, 400);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(400);
    expect(parts.flatMap((p) => (JSON.parse(p) as BookEvent).bids)).toEqual(e.bids);
  });
});
