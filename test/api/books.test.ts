// Integration test of the book API against the real NATS, Redis and PostgreSQL servers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { BookSnapCheck, type BookSnap } from '../../schemas/book.js';
import { symbolsKey } from '../../schemas/state.js';
import { BookStore } from '../../store/books.js';
import { startApi, type ApiUnderTest } from './harness.js';

const VENUE = 'binance';
const SYMBOL = 'BTC-USDT';

/** A live top-50 book as the book feed writes it (decimal text as the venue sent it). */
function book(seq: number, state: BookSnap['state'] = 'live'): BookSnap {
  const live = state !== 'syncing';
  const level = (i: number, side: 1 | -1): [string, string] => [`${(42000 + side * (0.5 + i)).toFixed(2)}0`, `${(i % 7) + 1}.00000000`];
  return {
    venue: VENUE,
    symbol: SYMBOL,
    epoch: 3,
    seq,
    state,
    depth: 50,
    bids: live ? Array.from({ length: 50 }, (_, i) => level(i, -1)) : [],
    asks: live ? Array.from({ length: 50 }, (_, i) => level(i, 1)) : [],
    ts: 1_700_000_000_000 + seq,
    recvTs: 1_700_000_000_001 + seq,
  };
}

describe('GET /v1/book/:venue/:symbol and the book channel of /v1/stream (NATS, Redis, PostgreSQL)', () => {
  let api: ApiUnderTest;
  let store: BookStore;

  beforeAll(async () => {
    api = await startApi({ API_WS_THROTTLE_MS: 50 });
    store = new BookStore(api.iso.redis(), api.iso.ns);
    // the symbol is known (a worker registered it), so the stream accepts it
    await api.iso.redis().hset(api.iso.ns.key(symbolsKey), `${VENUE}:${SYMBOL}`, JSON.stringify({ worker: 'w1', updatedAt: 1 }));
    await store.put([book(10)]);
  }, 60_000);
  afterAll(async () => api?.stop(), 60_000);

  const get = async (path: string) => {
    const res = await fetch(api.base + path);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('answers the stored top-N, cut to depth (default 50)', async () => {
    const all = await get(`/v1/book/${VENUE}/${SYMBOL}`);
    expect(all.status).toBe(200);
    expect(BookSnapCheck.Check(all.body)).toBe(true);
    expect(all.body).toEqual(book(10));
    const five = await get(`/v1/book/${VENUE}/${SYMBOL}?depth=5`);
    expect(five.status).toBe(200);
    expect(five.body).toEqual({ ...book(10), depth: 5, bids: book(10).bids.slice(0, 5), asks: book(10).asks.slice(0, 5) });
  });

  it.each(['0', '51', 'abc', '1.5', '-1'])('depth=%s is a 400 naming depth', async (depth) => {
    const r = await get(`/v1/book/${VENUE}/${SYMBOL}?depth=${depth}`);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: 'bad_request', field: 'depth' });
  });

  it('404 for a book nobody feeds; 400 for a malformed symbol', async () => {
    expect(await get(`/v1/book/${VENUE}/DOGE-USDT`)).toMatchObject({ status: 404, body: { error: 'not_found', field: 'symbol' } });
    expect(await get(`/v1/book/${VENUE}/btcusdt`)).toMatchObject({ status: 400, body: { field: 'symbol' } });
  });

  it('serves nothing of a resyncing book: its state with empty sides', async () => {
    await store.put([{ ...book(11, 'syncing'), symbol: 'ETH-USDT' }]);
    const r = await get(`/v1/book/${VENUE}/ETH-USDT?depth=3`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ state: 'syncing', bids: [], asks: [], depth: 3 });
  });

  it('documents the route and the channel in OpenAPI', async () => {
    const doc = (await get('/openapi.json')).body as { paths: Record<string, { get: { parameters?: { name: string; in: string }[]; responses: Record<string, unknown> } }> };
    const route = doc.paths['/v1/book/{venue}/{symbol}']!.get;
    expect(route.parameters!.map((p) => `${p.in}:${p.name}`).sort()).toEqual(['path:symbol', 'path:venue', 'query:depth']);
    expect(Object.keys(route.responses).sort()).toEqual(['200', '400', '404', '429', '500']);
    expect(JSON.stringify(doc.paths['/v1/stream'])).toContain('"channel"');
  });

  it('pushes the book at once, then each change (throttled), to a WebSocket subscriber at its depth', async () => {
    const ws = new WebSocket(api.wsUrl);
    const frames: Record<string, unknown>[] = [];
    ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Record<string, unknown>));
    await new Promise((r) => ws.once('open', r));
    const waitFor = async (pred: (f: Record<string, unknown>) => boolean) => {
      for (let i = 0; i < 400; i++) {
        const f = frames.find(pred);
        if (f) return f;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`no such frame in ${JSON.stringify(frames).slice(0, 1000)}`);
    };
    ws.send(JSON.stringify({ op: 'subscribe', channel: 'book', venue: VENUE, symbol: SYMBOL, depth: 3 }));
    expect(await waitFor((f) => f.type === 'subscribed')).toEqual({ type: 'subscribed', channel: 'book', venue: VENUE, symbol: SYMBOL, depth: 3 });
    const first = (await waitFor((f) => f.type === 'book')).data as BookSnap;
    expect(first).toMatchObject({ seq: 10, depth: 3, bids: book(10).bids.slice(0, 3), asks: book(10).asks.slice(0, 3) });
    await store.put([book(12)]);
    const next = (await waitFor((f) => f.type === 'book' && (f.data as BookSnap).seq === 12)).data as BookSnap;
    expect(next.bids).toHaveLength(3);
    // refused frames answer an error naming the field, or 404 for an unknown symbol
    ws.send(JSON.stringify({ op: 'subscribe', channel: 'book', venue: VENUE, symbol: SYMBOL, depth: 99 }));
    expect(await waitFor((f) => f.type === 'error')).toMatchObject({ error: 'bad_request', field: 'depth' });
    ws.send(JSON.stringify({ op: 'subscribe', channel: 'book', venue: VENUE, symbol: 'XRP-USDT' }));
    expect(await waitFor((f) => f.type === 'error' && f.error === 'not_found')).toMatchObject({ field: 'symbol' });
    ws.send(JSON.stringify({ op: 'unsubscribe', channel: 'book', venue: VENUE, symbol: SYMBOL }));
    expect(await waitFor((f) => f.type === 'unsubscribed')).toMatchObject({ channel: 'book', symbol: SYMBOL });
    // unsubscribed: later changes are not pushed
    const seen = frames.length;
    await store.put([book(13)]);
    await new Promise((r) => setTimeout(r, 400));
    expect(frames.slice(seen).filter((f) => f.type === 'book')).toEqual([]);
    ws.close();
  }, 60_000);
});
