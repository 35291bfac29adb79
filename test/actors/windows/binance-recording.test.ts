/**
 * Realistic check against the exchange's own numbers: the aggTrade frames of the Binance
 * recordings, aggregated by SymbolWindows, must give the kline_1m frames' o/h/l/c/v/q/n (and
 * V, taker buy volume) exactly — for every kline frame whose trades (ids f…L) are all in the recording.
 * Frames whose minute began before the recording started cannot be rebuilt from scratch; for
 * those we check the increment between two frames of the same minute instead.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SymbolWindows, type WindowTrade } from '../../../actors/windows/index.js';
import { compare, formatDecimal, parseDecimal, sub } from '../../../runtime/decimal.js';
import { readRecording, recordingsDir } from '../../../runtime/recording.js';
import type { Candle } from '../../../schemas/candle.js';

interface AggTrade extends WindowTrade {
  symbol: string;
  first: number;
  last: number;
}
interface Kline {
  s: string;
  t: number;
  T: number;
  f: number;
  L: number;
  o: string;
  h: string;
  l: string;
  c: string;
  v: string;
  q: string;
  /** Taker buy base volume. */
  V: string;
  n: number;
  x: boolean;
}

async function load(file: string): Promise<{ aggs: AggTrade[]; klines: Kline[] }> {
  const path = join(recordingsDir(), file);
  if (!existsSync(path)) throw new Error(`recording ${path} is missing: tests need ../shared/data/recordings beside the checkout (or TICKWORK_RECORDINGS)`);
  const aggs: AggTrade[] = [];
  const klines: Kline[] = [];
  for await (const line of readRecording(path)) {
    if (line.kind !== 'received') continue;
    const d = (JSON.parse(line.data) as { data?: Record<string, unknown> }).data;
    if (d?.e === 'aggTrade') {
      const a = d as { s: string; a: number; p: string; q: string; f: number; l: number; T: number; m: boolean };
      // m = buyer is the maker, so the taker sold
      aggs.push({ symbol: a.s, id: String(a.a), price: a.p, qty: a.q, side: a.m ? 'sell' : 'buy', ts: a.T, count: a.l - a.f + 1, first: a.f, last: a.l });
    } else if (d?.e === 'kline') klines.push(d.k as Kline);
  }
  return { aggs, klines };
}

/** The aggTrades covering trade ids from…to of `symbol` inside minute [t, T], if they are all there and contiguous. */
function covering(aggs: AggTrade[], k: Kline, from: number): AggTrade[] | null {
  const got = aggs.filter((a) => a.symbol === k.s && a.ts >= k.t && a.ts <= k.T && a.first >= from && a.last <= k.L);
  if (got.length === 0 || got[0]!.first !== from || got[got.length - 1]!.last !== k.L) return null;
  for (let i = 1; i < got.length; i++) if (got[i]!.first !== got[i - 1]!.last + 1) return null;
  return got;
}

function candleOf(trades: AggTrade[], openTime: number): Candle {
  const w = new SymbolWindows({ venue: 'binance-us', symbol: 'OMG-BUSD', timeframes: ['1m'], vwapWindows: [] });
  const emitted: Candle[] = [];
  for (const t of trades) {
    w.apply(t);
    emitted.push(...w.drainClosed());
  }
  const c = [...emitted, ...w.openCandles()].find((x) => x.openTime === openTime);
  if (!c) throw new Error(`no candle at ${openTime}`);
  return c;
}

const eq = (a: string, b: string) => compare(parseDecimal(a), parseDecimal(b)) === 0;

describe('SymbolWindows vs Binance kline_1m frames in the recordings', () => {
  it.each([
    // [file, minutes rebuilt in full, increments checked]
    ['BINANCE_US.ws.1.0', ['OMGBUSD@1633998300000'], 3],
    ['BINANCE.ws.1.0', ['LRCBTC@1633998480000'], 0],
  ])('%s: o/h/l/c/v/q/n/V equal the exchange’s as exact decimals', async (file, wantFull, wantIncrements) => {
    const { aggs, klines } = await load(file);
    const full: string[] = [];
    for (const k of klines) {
      const trades = covering(aggs, k, k.f);
      if (trades === null) continue;
      const c = candleOf(
        aggs.filter((a) => a.symbol === k.s && a.last <= k.L),
        k.t,
      );
      expect([c.openTime, c.closeTime]).toEqual([k.t, k.T]);
      expect({ o: c.open, h: c.high, l: c.low, c: c.close, n: c.trades }).toEqual({ o: k.o, h: k.h, l: k.l, c: k.c, n: k.n });
      expect(eq(c.volume, k.v), `v ${c.volume} vs ${k.v}`).toBe(true);
      expect(eq(c.quoteVolume, k.q), `q ${c.quoteVolume} vs ${k.q}`).toBe(true);
      expect(eq(c.buyVolume, k.V), `V ${c.buyVolume} vs ${k.V}`).toBe(true);
      expect([c.firstTradeId, c.lastTradeId]).toEqual([trades[0]!.id, trades[trades.length - 1]!.id]);
      full.push(`${k.s}@${k.t}`);
    }
    expect([...new Set(full)]).toEqual(wantFull);

    // Minutes that began before the recording: the trades between two frames of one minute
    // must add exactly the difference of the frames' v, q and n, and end at the later close.
    let increments = 0;
    for (let i = 0; i < klines.length; i++) {
      const k2 = klines[i]!;
      const k1 = klines.slice(0, i).reverse().find((k) => k.s === k2.s && k.t === k2.t && k.L < k2.L);
      if (!k1) continue;
      const trades = covering(aggs, k2, k1.L + 1);
      if (trades === null) continue;
      const c = candleOf(trades, k2.t);
      expect(eq(c.volume, formatDecimal(sub(parseDecimal(k2.v), parseDecimal(k1.v))))).toBe(true);
      expect(eq(c.quoteVolume, formatDecimal(sub(parseDecimal(k2.q), parseDecimal(k1.q))))).toBe(true);
      expect(eq(c.buyVolume, formatDecimal(sub(parseDecimal(k2.V), parseDecimal(k1.V))))).toBe(true);
      expect(c.trades).toBe(k2.n - k1.n);
      expect(c.close).toBe(k2.c);
      increments++;
    }
    expect(increments).toBe(wantIncrements);
  });
});

