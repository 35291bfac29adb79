import { describe, expect, it } from 'vitest';
import { malformedFrame, MALFORMED_KINDS } from '../../simulate/malformed.js';
import { fixed, padded, SyntheticMarket, trimmed, type MarketEvent, type TradeEvent } from '../../simulate/market.js';
import { Random } from '../../simulate/random.js';

function run(seed: number, seconds: number, tradesPerSec = 500, burstiness = 0.4): MarketEvent[] {
  const events: MarketEvent[] = [];
  const m = new SyntheticMarket({ symbols: ['BTC-USDT', 'ETH-USDT', 'XRP-ETH', 'DOGE-USDT'], tradesPerSec, seed, burstiness }, 1_000_000, (ev) =>
    events.push(structuredClone(ev)),
  );
  for (let t = 0; t <= seconds * 1000; t += 100) m.tick(1_700_000_000_000 + t);
  return events;
}

describe('SyntheticMarket (no sockets)', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = run(42, 3);
    const b = run(42, 3);
    const c = run(43, 3);
    expect(a.length).toBeGreaterThan(100);
    const text = (evs: MarketEvent[]) => JSON.stringify(evs, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    expect(text(b)).toBe(text(a));
    expect(text(c)).not.toBe(text(a));
  });

  it('generates the requested trade rate in bursts, with contiguous ids and consistent aggregates', () => {
    const events = run(7, 6, 1000, 0.5);
    const trades = events.filter((e): e is TradeEvent => e.kind === 'trade');
    const fills = trades.reduce((n, e) => n + e.fills.length, 0);
    expect(fills).toBeGreaterThan(4500);
    expect(fills).toBeLessThan(7800);
    // Bursty: some taker orders sweep several fills and several price levels.
    expect(trades.some((e) => e.fills.length >= 4)).toBe(true);
    expect(trades.some((e) => e.aggs.length >= 2)).toBe(true);

    const last = new Map<string, { trade: number; agg: number; ts: number }>();
    for (const e of trades) {
      const prev = last.get(e.spec.symbol);
      if (prev) {
        expect(e.fills[0]!.id).toBe(prev.trade + 1);
        expect(e.aggs[0]!.id).toBe(prev.agg + 1);
        expect(e.ts).toBeGreaterThanOrEqual(prev.ts);
      }
      let fi = 0;
      for (const a of e.aggs) {
        const members = e.fills.filter((f) => f.aggId === a.id);
        expect(members.map((f) => f.id)).toEqual(Array.from({ length: a.lastId - a.firstId + 1 }, (_, i) => a.firstId + i));
        expect(members.every((f) => f.price === a.price && f.side === e.side && f.ts === e.ts)).toBe(true);
        expect(members.reduce((s, f) => s + f.qty, 0)).toBe(a.qty);
        fi += members.length;
      }
      expect(fi).toBe(e.fills.length);
      expect(e.book.bid).toBeGreaterThan(0);
      expect(e.book.ask).toBeGreaterThan(e.book.bid);
      last.set(e.spec.symbol, { trade: e.fills[e.fills.length - 1]!.id, agg: e.aggs[e.aggs.length - 1]!.id, ts: e.ts });
    }
    // Every symbol trades, the first most (Zipf weights).
    const per = (s: string) => trades.filter((e) => e.spec.symbol === s).length;
    expect(per('DOGE-USDT')).toBeGreaterThan(0);
    expect(per('BTC-USDT')).toBeGreaterThan(per('DOGE-USDT'));
  });

  it('keeps prices in a realistic band with venue-like decimals', () => {
    const events = run(3, 5);
    const btc = events.find((e) => e.spec.symbol === 'BTC-USDT')!;
    const xrp = events.find((e) => e.spec.symbol === 'XRP-ETH')!;
    expect(btc.spec.priceDp).toBe(2);
    expect(btc.spec.qtyDp).toBe(5);
    const btcPrice = Number(fixed(btc.book.bid, btc.spec.priceDp));
    expect(btcPrice).toBeGreaterThan(20000);
    expect(btcPrice).toBeLessThan(35000);
    expect(Number(fixed(xrp.book.bid, xrp.spec.priceDp))).toBeLessThan(0.01);
  });

  it('formats ticks exactly', () => {
    expect(fixed(2712345, 2)).toBe('27123.45');
    expect(fixed(5, 3)).toBe('0.005');
    expect(fixed(-5, 2)).toBe('-0.05');
    expect(fixed(12, 0)).toBe('12');
    expect(fixed(123456789012345678901234567890n, 10)).toBe('12345678901234567890.1234567890');
    expect(padded(2712345, 2, 8)).toBe('27123.45000000');
    expect(padded(7, 0, 8)).toBe('7.00000000');
    expect(trimmed(2712340, 2)).toBe('27123.4');
    expect(trimmed(500, 2)).toBe('5');
    expect(trimmed(0, 2)).toBe('0');
  });
});

describe('malformed frames', () => {
  const source =
    '{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1700000000001,"s":"BTCUSDT","a":12,"p":"27123.45000000","q":"0.01000000","f":20,"l":21,"T":1700000000000,"m":true,"M":true}}';
  const keys = ['p', 'q', 'T', 'a', 'm'];
  const decimal = /^[0-9]{1,40}(\.[0-9]{1,40})?$/;

  /** What a strict aggTrade parser accepts. */
  function acceptable(f: { data: string | Buffer; binary: boolean }): boolean {
    if (f.binary) return false;
    let v: { data?: Record<string, unknown> };
    try {
      v = JSON.parse(f.data as string) as typeof v;
    } catch {
      return false;
    }
    const d = v.data;
    if (!d) return false;
    const safe = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x);
    return typeof d.p === 'string' && decimal.test(d.p) && typeof d.q === 'string' && decimal.test(d.q) && safe(d.T) && safe(d.a) && typeof d.m === 'boolean';
  }

  it('the source itself is acceptable (so the check can fail)', () => {
    expect(acceptable({ data: source, binary: false })).toBe(true);
  });

  it('every generated frame is rejected by a strict parser, every kind is produced', () => {
    const rng = new Random(9);
    const kinds = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const f = malformedFrame(source, keys, rng);
      kinds.add(f.kind);
      expect(acceptable(f), `${f.kind}: ${String(f.data).slice(0, 200)}`).toBe(false);
      if (f.kind === 'non-utf8') {
        expect(f.binary).toBe(true);
        expect(() => new TextDecoder('utf-8', { fatal: true }).decode(f.data as Buffer)).toThrow();
      }
    }
    expect([...kinds].sort()).toEqual([...MALFORMED_KINDS].sort());
  });
});
