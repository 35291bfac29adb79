import type { Msg, Subscription } from '@nats-io/transport-node';
import { expect } from 'vitest';
import { loadBookConfig } from '../../../actors/feed/book-config.js';
import { BookFeed, type BookHealth } from '../../../actors/feed/book-feed.js';
import type { BookCache } from '../../../actors/feed/book-publisher.js';
import { loadFeedConfig } from '../../../actors/feed/config.js';
import { ensureMarketStreams, loadStreamsConfig } from '../../../app/streams.js';
import { compare, parseDecimal } from '../../../runtime/decimal.js';
import { createLogger } from '../../../runtime/logger.js';
import type { NatsHandles } from '../../../runtime/nats/index.js';
import type { BookEvent, BookSnap } from '../../../schemas/book.js';
import type { Quote } from '../../../schemas/quote.js';
import { startSimulator, type Simulator, type SyntheticOptions, type TrueBookView } from '../../../simulate/index.js';
import { BookStore } from '../../../store/books.js';
import { venueById } from '../../../venues/index.js';
import { isolated, type Isolated } from '../../harness.js';

/**
 * A venue simulator and an in-process BookFeed against real NATS and Redis (an isolated
 * namespace), with everything the feed served recorded in order: md.book events and md.quote
 * messages (one core subscription on the namespace's `md.>`, so their order is the publish order)
 * and every Redis book write (the cache port wraps the real BookStore).
 */
export interface BookRig {
  iso: Isolated;
  sim: Simulator;
  feed: BookFeed;
  nats: NatsHandles;
  store: BookStore;
  /** md.book events and book quotes in arrival order. */
  bus: ({ kind: 'event'; e: BookEvent } | { kind: 'quote'; q: Quote })[];
  /** Redis writes in order. */
  writes: BookSnap[];
  stop(): Promise<void>;
}

/** `shared`: a namespace the caller owns (an API under test reading the same Redis); left for the caller to clean up. */
/** `env`: overrides, or a function of the simulator making them (its URLs behind a proxy). */
export async function startBookRig(
  venue: string,
  synthetic: SyntheticOptions,
  env: Record<string, string> | ((sim: Simulator) => Promise<Record<string, string>>) = {},
  simLimits?: 'venue' | 'none',
  shared?: Isolated,
): Promise<BookRig> {
  const iso = shared ?? isolated();
  const sim = await startSimulator({ venue, synthetic, ...(simLimits ? { limits: simLimits } : {}) });
  const overrides = typeof env === 'function' ? await env(sim) : env;
  const fullEnv = { ...iso.env, ...sim.env, TICKWORK_VENUES: venue, TICKWORK_BOOKS: '1', TICKWORK_FEED_BACKOFF_INITIAL_MS: '50', ...overrides };
  const nats = await iso.nats();
  await ensureMarketStreams(nats.jsm, iso.ns, loadStreamsConfig(fullEnv));
  const bus: BookRig['bus'] = [];
  const sub: Subscription = nats.nc.subscribe(iso.ns.subject('md.>'), {
    callback: (err: Error | null, m: Msg) => {
      if (err) return;
      const subject = iso.ns.unsubject(m.subject);
      if (subject.startsWith('md.book.')) bus.push({ kind: 'event', e: m.json<BookEvent>() });
      else if (subject.startsWith('md.quote.')) {
        const q = m.json<Quote>();
        if (q.source === 'book') bus.push({ kind: 'quote', q });
      }
    },
  });
  await nats.nc.flush();
  const store = new BookStore(iso.redis(), iso.ns);
  const writes: BookSnap[] = [];
  const cache: BookCache = {
    put(snaps) {
      for (const s of snaps) writes.push(structuredClone(s));
      return store.put(snaps);
    },
  };
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', { test: 'books' });
  const feed = new BookFeed({ venue: venueById(venue), feed: loadFeedConfig(fullEnv), cfg: loadBookConfig(fullEnv), nats, ns: iso.ns, cache, log });
  await feed.subscribe(synthetic.symbols);
  return {
    iso,
    sim,
    feed,
    nats,
    store,
    bus,
    writes,
    async stop() {
      await feed.stop();
      sub.unsubscribe();
      await sim.close();
      if (shared === undefined) await iso.cleanup();
    },
  };
}

/** Polls `check` (generous: a loaded 2-core machine) until it returns a value. */
export async function until<T>(what: string, check: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 30_000, show?: () => unknown): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${show ? `: ${JSON.stringify(show())}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const bookOf = (rig: BookRig, symbol: string): BookHealth | undefined => rig.feed.health().find((h) => h.symbol === symbol);

/** Resyncs of a book that broke (the first sync is not one). */
export const resyncCount = (h: BookHealth | undefined): number => Object.values(h?.resyncs ?? {}).reduce((a, b) => a + b, 0);

export async function allLive(rig: BookRig, symbols: readonly string[]): Promise<void> {
  await until('every book live', () => symbols.every((s) => bookOf(rig, s)?.state === 'live'), 30_000, () => rig.feed.health());
}

/**
 * Pauses the market, waits until the feed applied everything it was sent (the book's seq stable
 * and in Redis), and returns the served book and the simulator's true one; resumes the market.
 */
export async function servedAndTrue(rig: BookRig, symbol: string): Promise<{ served: BookSnap; truth: TrueBookView }> {
  rig.sim.pause();
  try {
    let last = -1;
    let stableSince = Date.now();
    const served = await until(`${symbol} quiet, live and in Redis`, async () => {
      const h = bookOf(rig, symbol);
      if (h === undefined) return null;
      if (h.seq !== last) {
        last = h.seq;
        stableSince = Date.now();
        return null;
      }
      if (h.state !== 'live' || Date.now() - stableSince < 400) return null;
      const s = await rig.store.get(rig.sim.venue, symbol);
      return s !== null && s.seq === h.seq && s.state === 'live' ? s : null;
    });
    const truth = rig.sim.book(symbol, served.depth)!;
    return { served, truth };
  } finally {
    rig.sim.resume();
  }
}

const same = (a: string, b: string): boolean => compare(parseDecimal(a), parseDecimal(b)) === 0;

/** The served top-N equals the true book's, level by level (prices and sizes as exact decimals). */
export function expectSameBook(served: BookSnap, truth: TrueBookView): void {
  const show = (l: [string, string][]) => l.map(([p, q]) => `${p}@${q}`);
  for (const side of ['bids', 'asks'] as const) {
    const a = served[side];
    const b = truth[side];
    const ok = a.length === b.length && a.every(([p, q], i) => same(p, b[i]![0]) && same(q, b[i]![1]));
    if (!ok) expect(show(a), `${side} of ${served.symbol}`).toEqual(show(b));
  }
}
