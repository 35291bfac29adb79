import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createAdapter } from '../../../../actors/feeds/venues/registry.js';
import { classify, receivedFrames, recordingPath } from './helpers.js';

/**
 * Every received frame of the six shared recordings goes through its venue adapter. The expected
 * trades/quotes are extracted here by a separate, naive walk of the raw JSON (plus regexes for
 * the exact text of JSON-number decimals), then compared field by field with what the adapter
 * emitted for that frame. Totals are also pinned to literal counts taken from the files.
 */

interface Expected {
  venueSymbol: string;
  symbol: string;
  id?: string;
  price: string;
  qty: string;
  side: 'buy' | 'sell';
  ts: number;
  count?: number;
}

interface ExpectedQuote {
  venueSymbol: string;
  symbol: string;
  bidPrice: string;
  bidQty: string;
  askPrice: string;
  askQty: string;
  updateId?: string;
  ts: number;
}

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** ISO time with microseconds → floor ms, by hand (independent of Date.parse). */
function isoMs(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z$/.exec(s)!;
  const ms = Number(((m[7] ?? '') + '000').slice(0, 3));
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) + ms;
}

const BINANCE_SYMBOLS: Record<string, string> = {
  NKNUSDT: 'NKN-USDT', BLZETH: 'BLZ-ETH', LRCBTC: 'LRC-BTC', RUNEEUR: 'RUNE-EUR',
  CRVUSDT: 'CRV-USDT', COMPUSDT: 'COMP-USDT', OMGBUSD: 'OMG-BUSD', ZRXUSDT: 'ZRX-USDT',
};

function binanceWalk(raw: string, recvTs: number): [Expected[], ExpectedQuote[]] {
  const j: J = JSON.parse(raw);
  const d = j.data ?? j;
  if (d.e === 'aggTrade') {
    return [[{ venueSymbol: d.s, symbol: BINANCE_SYMBOLS[d.s]!, id: String(d.a), price: d.p, qty: d.q, side: d.m ? 'sell' : 'buy', ts: d.T, count: d.l - d.f + 1 }], []];
  }
  if (j.stream?.endsWith('@bookTicker')) {
    return [[], [{ venueSymbol: d.s, symbol: BINANCE_SYMBOLS[d.s]!, bidPrice: d.b, bidQty: d.B, askPrice: d.a, askQty: d.A, updateId: String(d.u), ts: recvTs }]];
  }
  return [[], []];
}

function bybitWalk(raw: string): [Expected[], ExpectedQuote[]] {
  const j: J = JSON.parse(raw);
  if (!j.topic?.startsWith('trade.')) return [[], []];
  // `size` is a JSON number: its exact text comes from the raw frame, in order.
  const sizes = [...raw.matchAll(/"size":(-?[0-9.eE+-]+)/g)].map((m) => m[1]!);
  expect(sizes.length).toBe(j.data.length);
  return [
    j.data.map((t: J, i: number) => ({
      venueSymbol: t.symbol,
      symbol: t.symbol.replace(/USDT$/, '-USDT'),
      id: t.trade_id,
      price: t.price,
      qty: sizes[i],
      side: t.side === 'Buy' ? 'buy' : 'sell',
      ts: Number(t.trade_time_ms),
    })),
    [],
  ];
}

function coinbaseWalk(raw: string): [Expected[], ExpectedQuote[]] {
  const j: J = JSON.parse(raw);
  if (j.type !== 'match' && j.type !== 'last_match') return [[], []];
  // `side` is the maker's: the taker did the opposite.
  return [[{ venueSymbol: j.product_id, symbol: j.product_id, id: String(j.trade_id), price: j.price, qty: j.size, side: j.side === 'buy' ? 'sell' : 'buy', ts: isoMs(j.time) }], []];
}

function krakenWalk(raw: string): [Expected[], ExpectedQuote[]] {
  const j = JSON.parse(raw);
  if (!Array.isArray(j) || j[j.length - 2] !== 'trade') return [[], []];
  const pair: string = j[j.length - 1];
  return [
    j[1].map((t: string[]) => ({
      venueSymbol: pair,
      symbol: pair.replace('XBT', 'BTC').replace('/', '-'),
      price: t[0]!,
      qty: t[1]!,
      side: t[3] === 'b' ? 'buy' : 'sell',
      ts: Math.floor(Number(t[2]) * 1000),
    })),
    [],
  ];
}

function okxWalk(raw: string): [Expected[], ExpectedQuote[]] {
  const j: J = JSON.parse(raw);
  const spot = (id: string) => id.split('-').length === 2;
  if (j.data && j.arg?.channel === 'trades' && spot(j.arg.instId)) {
    return [j.data.map((t: J) => ({ venueSymbol: t.instId, symbol: t.instId, id: t.tradeId, price: t.px, qty: t.sz, side: t.side, ts: Number(t.ts) })), []];
  }
  if (j.data && j.arg?.channel === 'tickers' && spot(j.arg.instId)) {
    return [[], j.data.map((t: J) => ({ venueSymbol: t.instId, symbol: t.instId, bidPrice: t.bidPx, bidQty: t.bidSz, askPrice: t.askPx, askQty: t.askSz, ts: Number(t.ts) }))];
  }
  return [[], []];
}

const CASES = [
  { file: 'BINANCE.ws.1.0', venue: 'binance', walk: binanceWalk, trades: 2, quotes: 84 },
  { file: 'BINANCE_US.ws.1.0', venue: 'binance-us', walk: binanceWalk, trades: 11, quotes: 128 },
  { file: 'BYBIT.ws.25.0', venue: 'bybit', walk: bybitWalk, trades: 101, quotes: 0 },
  { file: 'COINBASE.ws.28.0', venue: 'coinbase', walk: coinbaseWalk, trades: 107, quotes: 0 },
  { file: 'KRAKEN.ws.50.0', venue: 'kraken', walk: krakenWalk, trades: 0, quotes: 0 },
  { file: 'OKX.ws.1.0', venue: 'okx', walk: okxWalk, trades: 69, quotes: 25 },
] as const;

describe('venue adapters on the shared recordings', () => {
  for (const c of CASES) {
    it(`${c.file} (${c.venue}): every frame classified once, trades/quotes equal the source`, async () => {
      const frames = await receivedFrames(c.file);
      // Independent frame count: lines of the form `<secs>: <json>`.
      const lines = readFileSync(recordingPath(c.file), 'utf8').split('\n').filter((l) => /^\d+(\.\d+)?: /.test(l));
      expect(frames.length).toBe(lines.length);

      const adapter = createAdapter(c.venue);
      const classes = new Map<string, number>();
      let trades = 0;
      let quotes = 0;
      let rejects = 0;
      let expectedTrades = 0;
      let expectedQuotes = 0;
      for (const f of frames) {
        const recvTs = Math.floor(f.ts);
        const { cls, out } = classify(adapter, f.data, f.ts);
        classes.set(cls, (classes.get(cls) ?? 0) + 1);
        const [et, eq] = c.walk(f.data, recvTs);
        expectedTrades += et.length;
        expectedQuotes += eq.length;
        // Kraken v1 has no trade id in the source (the adapter builds one; tested below).
        const withIds = et.every((t) => t.id !== undefined);
        expect(out.trades.map(({ id, ...t }) => (withIds ? { id, ...t } : t))).toEqual(et.map((t) => ({ ...t, venue: c.venue, recvTs })));
        expect(out.quotes).toEqual(eq.map((q) => ({ ...q, venue: c.venue, recvTs })));
        trades += out.trades.length;
        quotes += out.quotes.length;
        rejects += out.rejects.length;
      }
      const classified = [...classes.values()].reduce((a, b) => a + b, 0);
      expect(classified).toBe(frames.length);
      expect(rejects).toBe(0);
      expect(trades).toBe(expectedTrades);
      expect(quotes).toBe(expectedQuotes);
      expect(trades).toBe(c.trades);
      expect(quotes).toBe(c.quotes);
      // data frames + documented control/ignored kinds = all frames, with no reject class at all
      expect(classes.has('reject')).toBe(false);
    });
  }

  it('Kraken v1 trades have deterministic, distinct, non-sequential ids', () => {
    const a = createAdapter('kraken');
    const b = createAdapter('kraken');
    const raw =
      '[0,[["5541.20000","0.15850568","1534614057.321597","s","l",""],["5541.20000","0.15850568","1534614057.321597","s","l",""],["6060.00000","0.02455000","1534614057.324998","b","l",""]],"trade","XBT/USD"]';
    const x = classify(a, raw).out.trades;
    const y = classify(b, raw).out.trades;
    expect(x.map((t) => t.id)).toEqual(y.map((t) => t.id));
    expect(new Set(x.map((t) => t.id)).size).toBe(3);
    expect(x.map((t) => a.tradeSeq!(t))).toEqual([null, null, null]);
    expect(x[0]).toMatchObject({ symbol: 'BTC-USD', venueSymbol: 'XBT/USD', price: '5541.20000', qty: '0.15850568', side: 'sell', ts: 1534614057321 });
    expect(x[2]).toMatchObject({ side: 'buy', ts: 1534614057324 });
  });
});
