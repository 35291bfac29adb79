import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { recordingsDir } from '../../../runtime/recording.js';
import { QuoteCheck, type Quote } from '../../../schemas/quote.js';
import { TradeCheck, type Trade } from '../../../schemas/trade.js';
import { readStream, simFeedRig, waitUntil } from './helpers.js';
import { CASES, recordingSymbols, type Expected, type ExpectedQuote } from './recording-walk.js';

/**
 * Acceptance (issue 3): each shared recording replayed by the simulator (`speed: Infinity`) into
 * the real connector (FeedSupervisor → PipelinedPublisher → real NATS JetStream). Every trade
 * and quote frame of the file is stored once in MD_TRADES / MD_QUOTES with the fields of the
 * source frame, computed independently (recording-walk.ts); every other frame is a documented
 * non-data frame or in MD_DLQ. Counts are exact.
 */

// `book`: an L2 frame the adapter recognized and checked; the book feed's own connections apply
// them (actors/feed/book-feed.ts), a trade connection passes over them.
const DOCUMENTED_CONTROL = new Set(['ack', 'subscribed', 'unsubscribed', 'heartbeat', 'pong', 'info', 'book']);

function recordingFile(name: string): string {
  const path = `${recordingsDir()}/${name}`;
  if (!existsSync(path)) throw new Error(`recording ${path} missing (see ../shared/data/README.md; set TICKWORK_RECORDINGS)`);
  return path;
}

/** The recording's received frames, read with a plain line split (independent of runtime/recording.ts). */
function rawFrames(path: string): { ts: number; data: string }[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .flatMap((l) => {
      const m = /^(\d+(?:\.\d+)?): (.*)$/.exec(l);
      return m ? [{ ts: Math.floor(Number(m[1]) * 1000), data: m[2]! }] : [];
    });
}

const tradeKey = (t: { symbol: string; id?: string; ts: number; price: string; qty: string }) => `${t.symbol}|${t.id ?? ''}|${t.ts}|${t.price}|${t.qty}`;
const quoteKey = (q: { symbol: string; ts: number; bidPrice: string; bidQty: string; askPrice: string; askQty: string; updateId?: string }) =>
  `${q.symbol}|${q.updateId ?? ''}|${q.ts}|${q.bidPrice}|${q.bidQty}|${q.askPrice}|${q.askQty}`;

describe('recordings replayed through the simulator into the feed (real NATS JetStream)', () => {
  const rig = simFeedRig('test');

  for (const c of CASES) {
    it(`${c.file} → ${c.venue}: ${c.trades} trades and ${c.quotes} quotes stored once, equal to the source; nothing else lost`, async () => {
      const path = recordingFile(c.file);
      const frames = rawFrames(path);
      const symbols = await recordingSymbols(c.file, c.venue);
      expect(symbols.length).toBeGreaterThan(0);

      // Independent expectation: walk every frame's JSON.
      const expTrades: Expected[] = [];
      const expQuotes: ExpectedQuote[] = [];
      let dataFrames = 0;
      for (const f of frames) {
        const [t, q] = c.walk(f.data, -1); // -1: "the receipt time" (Binance bookTicker has no event time)
        expTrades.push(...t);
        expQuotes.push(...q);
        if (t.length + q.length > 0) dataFrames++;
      }
      expect(expTrades.length).toBe(c.trades);
      expect(expQuotes.length).toBe(c.quotes);

      const t0 = Date.now();
      const { iso, sim: s, feed: f } = await rig.start({ venue: c.venue, recording: path, speed: Infinity }, symbols);
      await waitUntil(
        () => s.stats().replaysCompleted >= 1 && f.stats.framesTotal === s.stats().framesSent,
        30_000,
        'the replay to complete and every frame sent to be received',
        () => ({ sim: s.stats().framesSent, replay: s.stats().replayFramesSent, feed: f.stats.framesTotal }),
      );
      await f.flush();
      const t1 = Date.now();

      const nats = await iso.nats();
      const [tradeMsgs, quoteMsgs, dlqMsgs] = await Promise.all([
        readStream(nats, iso.ns.stream('MD_TRADES')),
        readStream(nats, iso.ns.stream('MD_QUOTES')),
        readStream(nats, iso.ns.stream('MD_DLQ')),
      ]);

      // Frames: every recorded frame was replayed, every frame sent was received and classified once.
      const st = s.stats();
      expect(st.replayFramesSent).toBe(frames.length);
      expect(st.violations).toEqual({});
      expect(f.stats.framesTotal).toBe(st.framesSent);
      const classes = Object.fromEntries(f.stats.frames);
      expect(classes.data ?? 0).toBe(dataFrames);
      expect(classes.stale ?? 0).toBe(0);
      for (const cls of Object.keys(classes)) {
        if (cls === 'data' || cls === 'reject') continue;
        expect(DOCUMENTED_CONTROL.has(cls) || cls.startsWith('ignored:'), `frame class ${cls}`).toBe(true);
      }
      // Anything not usable and not documented is in the DLQ with a reason (none in these files).
      expect(dlqMsgs.length).toBe(classes.reject ?? 0);
      for (const m of dlqMsgs) expect(m.headers?.get('Tickwork-Reason')).toMatch(/^(json|schema|symbol|unknown-frame|internal|encoding)$/);
      expect(dlqMsgs.length).toBe(0);

      // Trades: each once, equal to the source.
      const trades = tradeMsgs.map((m) => m.json<Trade>());
      for (const [i, t] of trades.entries()) {
        expect(TradeCheck.Check(t), JSON.stringify(t)).toBe(true);
        expect(tradeMsgs[i]!.subject).toBe(iso.ns.subject(`md.trade.${c.venue}.${t.symbol}`));
        expect(tradeMsgs[i]!.headers?.get('Nats-Msg-Id')).toBe(`${c.venue}:${t.symbol}:${t.id}`);
        expect(t.recvTs).toBeGreaterThanOrEqual(t0);
        expect(t.recvTs).toBeLessThanOrEqual(t1);
      }
      expect(new Set(trades.map((t) => `${t.symbol}:${t.id}`)).size).toBe(trades.length);
      const withIds = expTrades.every((t) => t.id !== undefined);
      const gotTrades = trades.map(({ recvTs: _r, id, ...t }) => (withIds ? { id, ...t } : t)).sort((a, b) => tradeKey(a).localeCompare(tradeKey(b)));
      const wantTrades = expTrades.map((t) => ({ ...t, venue: c.venue })).sort((a, b) => tradeKey(a).localeCompare(tradeKey(b)));
      expect(gotTrades).toEqual(wantTrades);

      // Quotes: each once, equal to the source (receipt-time quotes: ts is the receipt time).
      const quotes = quoteMsgs.map((m) => m.json<Quote>());
      for (const [i, q] of quotes.entries()) {
        expect(QuoteCheck.Check(q), JSON.stringify(q)).toBe(true);
        expect(quoteMsgs[i]!.subject).toBe(iso.ns.subject(`md.quote.${c.venue}.${q.symbol}`));
      }
      const gotQuotes = quotes
        .map(({ recvTs, ...q }) => (q.ts === recvTs && expQuotes.some((e) => e.ts === -1) ? { ...q, ts: -1 } : q))
        .sort((a, b) => quoteKey(a).localeCompare(quoteKey(b)));
      const wantQuotes = expQuotes.map((q) => ({ ...q, venue: c.venue })).sort((a, b) => quoteKey(a).localeCompare(quoteKey(b)));
      expect(gotQuotes).toEqual(wantQuotes);

      expect(f.stats.trades).toBe(c.trades);
      expect(f.stats.quotes).toBe(c.quotes);
      expect(f.stats.duplicates).toBe(0);
      console.log(
        `${c.file}: ${frames.length} frames replayed, ${st.framesSent} sent, classes ${JSON.stringify(classes)}, ` +
          `${trades.length} trades, ${quotes.length} quotes, ${dlqMsgs.length} DLQ, ${Date.now() - t0} ms`,
      );
    });
  }
});
