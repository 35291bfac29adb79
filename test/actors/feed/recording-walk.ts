import { expect } from 'vitest';
import { readRecording, recordingsDir } from '../../../runtime/recording.js';

/**
 * The expected trades and quotes of the shared recordings, extracted by a naive walk of the raw
 * JSON (plus regexes for the exact text of JSON-number decimals), independent of the venue
 * adapters. Used by the adapter test (test/venues/recordings.test.ts) and by the
 * end-to-end feed test (test/actors/feed/simulated-recordings.test.ts).
 */

export interface Expected {
  venueSymbol: string;
  symbol: string;
  id?: string;
  price: string;
  qty: string;
  side: 'buy' | 'sell';
  ts: number;
  count?: number;
}

export interface ExpectedQuote {
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

export function binanceWalk(raw: string, recvTs: number): [Expected[], ExpectedQuote[]] {
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

export function bybitWalk(raw: string): [Expected[], ExpectedQuote[]] {
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

export function coinbaseWalk(raw: string): [Expected[], ExpectedQuote[]] {
  const j: J = JSON.parse(raw);
  if (j.type !== 'match' && j.type !== 'last_match') return [[], []];
  // `side` is the maker's: the taker did the opposite.
  return [[{ venueSymbol: j.product_id, symbol: j.product_id, id: String(j.trade_id), price: j.price, qty: j.size, side: j.side === 'buy' ? 'sell' : 'buy', ts: isoMs(j.time) }], []];
}

export function krakenWalk(raw: string): [Expected[], ExpectedQuote[]] {
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

export function okxWalk(raw: string): [Expected[], ExpectedQuote[]] {
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

export const CASES = [
  { file: 'BINANCE.ws.1.0', venue: 'binance', walk: binanceWalk, trades: 2, quotes: 84 },
  { file: 'BINANCE_US.ws.1.0', venue: 'binance-us', walk: binanceWalk, trades: 11, quotes: 128 },
  { file: 'BYBIT.ws.25.0', venue: 'bybit', walk: bybitWalk, trades: 101, quotes: 0 },
  { file: 'COINBASE.ws.28.0', venue: 'coinbase', walk: coinbaseWalk, trades: 107, quotes: 0 },
  { file: 'KRAKEN.ws.50.0', venue: 'kraken', walk: krakenWalk, trades: 0, quotes: 0 },
  { file: 'OKX.ws.1.0', venue: 'okx', walk: okxWalk, trades: 69, quotes: 25 },
] as const;


export type RecordingCase = (typeof CASES)[number];

/**
 * Canonical symbols a recording subscribed to, read from its subscribe lines (the combined-stream
 * URL for Binance, the sent subscribe frames elsewhere). Derivatives (OKX `BTC-USD-SWAP`) are not
 * `BASE-QUOTE` symbols and are left out.
 */
export async function recordingSymbols(file: string, venue: string): Promise<string[]> {
  const venueSymbols = new Set<string>();
  for await (const l of readRecording(`${recordingsDir()}/${file}`)) {
    if (l.kind === 'open') {
      const streams = new URL(l.url).searchParams.get('streams');
      for (const s of streams?.split('/') ?? []) venueSymbols.add(s.slice(0, s.indexOf('@')).toUpperCase());
    } else if (l.kind === 'sent') {
      const j: J = JSON.parse(l.data);
      for (const a of j.args ?? []) venueSymbols.add(typeof a === 'string' ? a.slice(a.indexOf('.') + 1) : a.instId);
      for (const p of j.product_ids ?? []) venueSymbols.add(p);
      for (const p of j.pair ?? []) venueSymbols.add(p);
    }
  }
  const canonical = [...venueSymbols].map((vs) => {
    if (venue === 'binance' || venue === 'binance-us') {
      const q = ['USDT', 'BUSD', 'EUR', 'ETH', 'BTC'].find((x) => vs.endsWith(x))!;
      return `${vs.slice(0, -q.length)}-${q}`;
    }
    if (venue === 'bybit') return vs.replace(/USDT$/, '-USDT');
    if (venue === 'kraken') return vs.replace('XBT', 'BTC').replace('/', '-');
    return vs;
  });
  return canonical.filter((s) => /^[A-Z0-9]+-[A-Z0-9]+$/.test(s)).sort();
}
