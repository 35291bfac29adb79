import { afterAll, describe, expect, it } from 'vitest';
import type { BookRequest } from '../../../actors/book/index.js';
import { BookDriver } from '../../../actors/feed/book-driver.js';
import { BookPublisher } from '../../../actors/feed/book-publisher.js';
import { ensureMarketStreams, loadStreamsConfig } from '../../../app/streams.js';
import { createLogger } from '../../../runtime/logger.js';
import { PipelinedPublisher } from '../../../runtime/nats/index.js';
import type { BookSnap } from '../../../schemas/book.js';
import { venueById } from '../../../venues/index.js';
import { newParseOutput } from '../../../venues/kit/types.js';
import { readStream } from './helpers.js';
import { isolated } from '../../harness.js';
import { allLive, expectSameBook, servedAndTrue, startBookRig, until, type BookRig } from './books-rig.js';

/** Malformed depth frames go to the DLQ with a reason (real NATS, Redis); nothing crashes the connection. */

const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', { test: 'books-dlq' });

describe('malformed depth frames on a book connection (simulator, NATS, Redis)', () => {
  let rig: BookRig;
  afterAll(async () => rig?.stop(), 60_000);

  it('each goes to md.dlq.<venue> with its reason; the books resync if need be and serve the true book again', async () => {
    rig = await startBookRig('okx', { symbols: ['BTC-USDT', 'ETH-USDT'], tradesPerSec: 20, quotesPerSec: 20, seed: 11 });
    await allLive(rig, ['BTC-USDT', 'ETH-USDT']);
    const connections = rig.sim.stats().connections;
    rig.sim.misbehave({ kind: 'malformed', count: 40 });
    await until('40 malformed frames sent', () => rig.sim.stats().malformedSent >= 40);
    const dlqStream = rig.iso.ns.stream('MD_DLQ');
    const nats = rig.nats;
    const dlq = await until('the malformed frames in the DLQ', async () => {
      const msgs = await readStream(nats, dlqStream);
      return msgs.length >= 20 ? msgs : null;
    });
    for (const m of dlq) {
      expect(m.subject).toBe(rig.iso.ns.subject('md.dlq.okx'));
      expect(['json', 'schema', 'encoding', 'unknown-frame', 'symbol', 'book-level']).toContain(m.headers?.get('Tickwork-Reason'));
    }
    // the socket stayed up; the books are (again) the venue's
    expect(rig.sim.stats().connections).toBe(connections);
    await allLive(rig, ['BTC-USDT', 'ETH-USDT']);
    for (const s of ['BTC-USDT', 'ETH-USDT']) {
      const { served, truth } = await servedAndTrue(rig, s);
      expectSameBook(served, truth);
    }
  }, 120_000);
});

describe('a level the book engine refuses (NATS)', () => {
  const iso = isolated();
  afterAll(() => iso.cleanup(), 60_000);

  it('sends the raw frame to the DLQ with reason book-level and resyncs that book (invalid-level)', async () => {
    const nats = await iso.nats();
    await ensureMarketStreams(nats.jsm, iso.ns, loadStreamsConfig(iso.env));
    const js = new PipelinedPublisher(nats);
    const written: BookSnap[] = [];
    const publisher = new BookPublisher({ venue: 'okx', nc: nats.nc, js, ns: iso.ns, cache: { put: async (s) => void written.push(...s) }, depth: 50, log });
    const requests: BookRequest[] = [];
    const okx = venueById('okx');
    const driver = new BookDriver({ venue: 'okx', router: okx.books!.createRouter({ venue: 'okx' }), publisher, resyncs: { enqueue: (_d, r) => requests.push(r) }, source: 'ws://test', log });
    driver.add('BTC-USDT', 'BTC-USDT');
    const adapter = okx.createAdapter();
    adapter.subscribeFrames(['BTC-USDT'], ['books'], () => 1);
    driver.linked(1, adapter, async () => undefined);
    const feed = (raw: string) => {
      const out = newParseOutput();
      expect(adapter.parse(raw, 1_700_000_000_000, out)).toBe('book');
      driver.frames(1, out.books, Buffer.from(raw), 1_700_000_000_000);
    };
    feed('{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[["101","1","0","1"]],"bids":[["100","2","0","1"]],"ts":"1700000000000","checksum":0,"prevSeqId":-1,"seqId":10}]}');
    const bad = '{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[["99","-3","0","1"]],"ts":"1700000000001","checksum":0,"prevSeqId":10,"seqId":11}]}';
    feed(bad);
    expect(requests.map((r) => [r.symbol, r.reason, r.kind])).toEqual([['BTC-USDT', 'invalid-level', 'resubscribe']]);
    expect(driver.router.get('BTC-USDT')!.state).toBe('syncing');
    await js.flush();
    const dlq = await readStream(nats, iso.ns.stream('MD_DLQ'));
    expect(dlq).toHaveLength(1);
    expect(dlq[0]!.subject).toBe(iso.ns.subject('md.dlq.okx'));
    expect(dlq[0]!.headers?.get('Tickwork-Reason')).toBe('book-level');
    expect(dlq[0]!.headers?.get('Tickwork-Detail')).toMatch(/BTC-USDT: .*negative/);
    expect(Buffer.from(dlq[0]!.data).toString()).toBe(bad);
    js.close();
  }, 60_000);
});
