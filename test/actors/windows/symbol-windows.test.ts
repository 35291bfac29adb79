import { describe, expect, it } from 'vitest';
import { SeriesState, SessionCalendar, SymbolWindows, WindowsError, type Bar, type SessionConfig, type WindowTrade, type WindowsConfig } from '../../../actors/windows/index.js';
import type { Candle } from '../../../schemas/candle.js';
import { DecimalError } from '../../../runtime/decimal.js';

const T0 = Date.UTC(2024, 0, 2, 10, 0, 0);
const M = 60_000;
let nextId = 1;
function trade(ts: number, price: string, qty: string, side: 'buy' | 'sell' = 'buy', count?: number, id = String(nextId++)): WindowTrade {
  const t: WindowTrade = { id, price, qty, side, ts };
  if (count !== undefined) t.count = count;
  return t;
}
function windows(cfg: Partial<WindowsConfig> = {}): SymbolWindows {
  nextId = 1;
  return new SymbolWindows({ venue: 'binance', symbol: 'BTC-USDT', timeframes: ['1m'], vwapWindows: ['1m'], ...cfg });
}
const pick = (cs: readonly Candle[], f: (c: Candle) => unknown) => cs.map(f);

describe('SymbolWindows candles', () => {
  it('builds every Candle field exactly and closes on the next interval’s trade', () => {
    const w = windows();
    w.apply(trade(T0 + 1_000, '100.50', '0.200', 'buy'));
    w.apply(trade(T0 + 20_000, '101.25', '1.5', 'sell', 3));
    w.apply(trade(T0 + 59_999, '99.75', '0.3', 'buy'));
    expect(w.drainClosed()).toEqual([]);
    expect(w.openCandles()[0]).toMatchObject({ openTime: T0, closed: false, trades: 5 });
    w.apply(trade(T0 + M, '100.00', '1'));
    expect(w.drainClosed()).toEqual([
      {
        venue: 'binance',
        symbol: 'BTC-USDT',
        tf: '1m',
        openTime: T0,
        closeTime: T0 + M - 1,
        open: '100.50',
        high: '101.25',
        low: '99.75',
        close: '99.75',
        volume: '2.000',
        quoteVolume: '201.900', // 20.1 + 151.875 + 29.925
        vwap: '100.950000', // price precision 2 + 4
        trades: 5,
        buyVolume: '0.500',
        firstTradeId: '1',
        lastTradeId: '3',
        closed: true,
      },
    ]);
    expect(w.drainClosed()).toEqual([]);
  });

  it('rounds the VWAP half-up at price precision + 4 and follows the digits seen', () => {
    const w = windows();
    w.apply(trade(T0, '1', '1'));
    w.apply(trade(T0 + 1, '2', '2'));
    expect(w.openCandles()[0]!.vwap).toBe('1.6667'); // 5/3
    w.apply(trade(T0 + 2, '2.5', '0.00000000'));
    const c = w.openCandles()[0]!;
    expect(c.vwap).toBe('1.66667'); // one price digit seen now
    expect(c.volume).toBe('3.00000000');
    expect(windows({ pricePrecision: 8 }).vwaps()).toEqual({ '1m': null });
  });

  it('orders open/close and first/last trade ids by (trade time, trade id), never by arrival', () => {
    const w = windows();
    w.apply(trade(T0 + 30_000, '100', '1', 'buy', undefined, '9'));
    w.apply(trade(T0 + 10_000, '90', '1', 'buy', undefined, '12')); // earlier
    w.apply(trade(T0 + 30_000, '95', '1', 'buy', undefined, '10')); // same time as 9, higher id
    w.apply(trade(T0 + 30_000, '97', '1', 'buy', undefined, '8')); // same time, lower id: not the close
    w.apply(trade(T0 + 10_000, '91', '1', 'buy', undefined, '11')); // same time as 12, lower id: the open
    const c = w.openCandles()[0]!;
    expect([c.open, c.close, c.firstTradeId, c.lastTradeId, c.low, c.high]).toEqual(['91', '95', '11', '10', '90', '100']);
    expect(w.lastTrade!.id).toBe('10'); // latest by (ts, id), not the last to arrive
  });

  it('gives the same candles and VWAPs for every arrival order of the same trades (ties in time included)', () => {
    const ts = [T0 + 59_000, T0 + 59_000, T0 + M + 1, T0 + M + 1, T0 + 2 * M, T0 + 30_000, T0 + 30_000];
    const base = ts.map((t, i) => trade(t, String(100 + i), `${i + 1}.5`, i % 2 ? 'buy' : 'sell', undefined, String(50 - i)));
    const run = (order: number[]) => {
      const w = windows({ timeframes: ['1m', '1h'], vwapWindows: ['1m', '5m'], historySize: 4 });
      for (const i of order) w.apply(base[i]!);
      const last = new Map<string, unknown>();
      for (const c of [...w.drainClosed(), ...w.openCandles()]) last.set(`${c.tf}:${c.openTime}`, c);
      return { candles: [...last.entries()].sort(), vwaps: w.vwaps(), lastTrade: w.lastTrade };
    };
    const want = run([0, 1, 2, 3, 4, 5, 6].sort((a, b) => base[a]!.ts - base[b]!.ts || Number(base[a]!.id) - Number(base[b]!.id)));
    for (const order of [[6, 5, 4, 3, 2, 1, 0], [4, 0, 6, 2, 1, 5, 3], [1, 0, 3, 2, 5, 6, 4], [2, 4, 3, 0, 1, 6, 5]]) expect(run(order)).toEqual(want);
  });

  it('writes an extreme reached by equal prices written differently the same way in every arrival order', () => {
    // 0.0001 and 0.00010 are one price: the text with more fraction digits wins, whether the
    // trades arrive in order, reversed, or the second lands as a correction of a closed bar.
    const base = [trade(T0 + 1_000, '1', '1'), trade(T0 + 2_000, '0.0001', '1'), trade(T0 + 3_000, '0.00010', '1'), trade(T0 + 4_000, '1.000', '1'), trade(T0 + 5_000, '0.5', '1')];
    const run = (order: number[], closeFirst: boolean) => {
      const w = windows({ timeframes: ['1s', '1m', '5m'], historySize: 100 });
      for (const i of order) {
        w.apply(base[i]!);
        if (closeFirst) w.advance(T0 + 10_000); // later trades become corrections of closed 1s bars
      }
      const last = new Map<string, Candle>();
      for (const c of [...w.drainClosed(), ...w.openCandles()]) last.set(`${c.tf}:${c.openTime}`, c);
      return ['1m', '5m'].map((tf) => last.get(`${tf}:${T0}`)!).map((c) => [c.high, c.low]);
    };
    for (const closeFirst of [false, true]) {
      for (const order of [[0, 1, 2, 3, 4], [0, 2, 1, 4, 3], [3, 4, 2, 1, 0], [2, 0, 3, 1, 4]]) {
        expect(run(order, closeFirst), `order ${order.join(',')}${closeFirst ? ' (corrections)' : ''}`).toEqual([['1.000', '0.00010'], ['1.000', '0.00010']]);
      }
    }
  });

  it('updates high/low of larger bars when the smallest open bar is empty', () => {
    const w = windows({ timeframes: ['1s', '1m'] });
    w.apply(trade(T0 + 30_000, '100', '1'));
    w.advance(T0 + M + 15_000); // 1s bar at +75 s open and empty
    w.apply(trade(T0 + M + 10_000, '200', '1')); // late for 1s, in the open 1m bar
    w.apply(trade(T0 + M + 15_500, '100', '1')); // inside the 1s bar's old range, below the 1m low
    expect(w.openCandles().find((c) => c.tf === '1m')).toMatchObject({ high: '200', low: '100', trades: 2 });
  });

  it('fills gaps with empty candles carrying the previous close', () => {
    const w = windows();
    w.apply(trade(T0 + 10_000, '100.5', '0.25'));
    w.apply(trade(T0 + 3 * M + 5_000, '101', '1'));
    const out = w.drainClosed();
    expect(pick(out, (c) => c.openTime)).toEqual([T0, T0 + M, T0 + 2 * M]);
    expect(out[1]).toMatchObject({
      open: '100.5',
      high: '100.5',
      low: '100.5',
      close: '100.5',
      volume: '0.00',
      quoteVolume: '0.00',
      buyVolume: '0.00',
      vwap: '100.50000',
      trades: 0,
      firstTradeId: null,
      lastTradeId: null,
      closed: true,
    });
    expect(out[2]).toEqual({ ...out[1], openTime: T0 + 2 * M, closeTime: T0 + 3 * M - 1 });
  });

  it('closes a quiet symbol’s candle on advance(watermark), never before the interval end', () => {
    const w = windows();
    w.apply(trade(T0 + 10_000, '100', '1'));
    w.advance(T0 + M - 1);
    expect(w.drainClosed()).toEqual([]);
    w.advance(T0 + M);
    expect(pick(w.drainClosed(), (c) => c.openTime)).toEqual([T0]);
    const open = w.openCandles()[0]!;
    expect(open).toMatchObject({ openTime: T0 + M, trades: 0, open: '100', close: '100', closed: false });
    w.advance(T0 + M - 5_000); // backwards: ignored
    expect(w.watermark).toBe(T0 + M);
  });

  it('applies a late trade as a correction (same openTime) and re-derives the gap bars after it', () => {
    const w = windows();
    w.apply(trade(T0 + 10_000, '100', '1', 'buy')); // id 1
    w.advance(T0 + 3 * M + 1); // T0 closed, two gap bars closed, empty open bar at +3m
    expect(w.drainClosed()).toHaveLength(3);
    w.apply(trade(T0 + 50_000, '103', '2', 'sell')); // id 2: late for T0
    const fixes = w.drainClosed();
    expect(pick(fixes, (c) => c.openTime)).toEqual([T0, T0 + M, T0 + 2 * M]);
    expect(fixes[0]).toMatchObject({ close: '103', high: '103', low: '100', volume: '3', quoteVolume: '306', buyVolume: '1', trades: 2, lastTradeId: '2', vwap: '102.0000', closed: true });
    expect(fixes[1]).toMatchObject({ open: '103', high: '103', low: '103', close: '103', vwap: '103.0000', trades: 0 });
    expect(w.openCandles()[0]).toMatchObject({ openTime: T0 + 3 * M, open: '103', close: '103', trades: 0 });
    expect(w.stats).toMatchObject({ applied: 2, late: 1, corrections: 3, droppedLate: 0 });

    // a late trade into a closed gap bar gives it OHLC of its own
    w.apply(trade(T0 + M + 5_000, '99', '1')); // id 3
    const fix2 = w.drainClosed();
    expect(pick(fix2, (c) => [c.openTime, c.open, c.close, c.trades])).toEqual([
      [T0 + M, '99', '99', 1],
      [T0 + 2 * M, '99', '99', 0],
    ]);
    expect(w.openCandles()[0]!.close).toBe('99');
  });

  it('drops late trades older than the kept history, and counts them', () => {
    const w = windows({ historySize: 2, timeframes: ['1m', '1h'] });
    w.apply(trade(T0 + 10_000, '100', '1'));
    w.apply(trade(T0 + 5 * M + 1, '100', '1')); // closes T0 … T0+4m; history keeps +3m, +4m
    w.drainClosed();
    w.apply(trade(T0 + 20_000, '100', '1')); // 1m: dropped; 1h: inside the open bar
    expect(w.drainClosed()).toEqual([]);
    expect(w.stats).toMatchObject({ late: 1, droppedLate: 1, corrections: 0 });
    expect(w.openCandles().find((c) => c.tf === '1h')!.trades).toBe(3);
    w.apply(trade(T0 + 3 * M + 5_000, '100', '1')); // still in history
    expect(pick(w.drainClosed(), (c) => [c.tf, c.openTime, c.trades])).toEqual([['1m', T0 + 3 * M, 1]]);
    w.apply(trade(T0 - 3 * 3_600_000, '100', '1')); // before the first bar; 1m: history full, 1h: three bars back, room for two
    expect(w.drainClosed()).toEqual([]);
    expect(w.stats.droppedLate).toBe(2);
  });

  it('creates the bars back to a trade older than the first bar while the history has room', () => {
    const w = windows({ historySize: 3, timeframes: ['1m'] });
    w.apply(trade(T0 + 10_000, '100', '1')); // id 1: first bar T0, open
    w.apply(trade(T0 - 2 * M + 5_000, '98', '2', 'sell')); // id 2: two bars before it
    const out = w.drainClosed();
    expect(pick(out, (c) => [c.openTime, c.open, c.close, c.trades, c.volume, c.firstTradeId])).toEqual([
      [T0 - 2 * M, '98', '98', 1, '2', '2'],
      [T0 - M, '98', '98', 0, '0', null], // gap bar carrying the new bar's close
    ]);
    expect(w.stats).toMatchObject({ late: 1, corrections: 2, droppedLate: 0 });
    w.apply(trade(T0 - 4 * M, '97', '1')); // id 3: needs two more closed bars, the history holds one more
    expect(w.drainClosed()).toEqual([]);
    expect(w.stats.droppedLate).toBe(1);
    w.apply(trade(T0 - M + 1, '99', '1')); // id 4: into the created gap bar
    expect(pick(w.drainClosed(), (c) => [c.openTime, c.open, c.close, c.trades])).toEqual([[T0 - M, '99', '99', 1]]);
    w.apply(trade(T0 + M, '101', '1'));
    expect(pick(w.drainClosed(), (c) => [c.openTime, c.open, c.close, c.trades])).toEqual([[T0, '100', '100', 1]]);
  });

  it('is exact beyond 2^53 (bigint path)', () => {
    const w = windows();
    w.apply(trade(T0, '123456789012345678.123456789', '1000000000.000000001'));
    const c = w.openCandles()[0]!;
    expect(c.quoteVolume).toBe('123456789012345678246913578.012345678123456789');
    expect(c.volume).toBe('1000000000.000000001');
    expect(c.vwap).toBe('123456789012345678.1234567890000');
  });

  it('refuses, without changing state, malformed prices and far-future jumps', () => {
    const w = windows({ timeframes: ['1s', '1m'], maxGapBars: 1000 });
    w.apply(trade(T0, '100', '1'));
    const before = JSON.stringify(w.toSnapshot());
    expect(() => w.apply(trade(T0 + 5_000, '1e5', '1'))).toThrow(DecimalError);
    expect(() => w.apply(trade(T0 + 5_000, '100', '-'))).toThrow(DecimalError);
    expect(() => w.apply(trade(T0 + 2_000_000, '100', '1'))).toThrow(WindowsError); // 2000 1s bars
    expect(() => w.advance(T0 + 2_000_000)).toThrow(/more than 1000 1s bars/);
    expect(JSON.stringify(w.toSnapshot())).toBe(before);
    expect(w.drainClosed()).toEqual([]);
    w.advance(T0 + 900_000); // within the limit
    expect(w.drainClosed()).toHaveLength(900 + 15); // bars ending at or before the watermark

    const fresh = windows({ timeframes: ['1s'], maxGapBars: 1000 });
    fresh.advance(T0 + 2_000_000);
    expect(() => fresh.apply(trade(T0, '1', '1'))).toThrow(/first trade/);
    expect(fresh.openCandles()).toEqual([]);
  });

  it('refuses by default a trade whose gap fill would pass a day of 1s bars (a trade dated tomorrow)', () => {
    const w = windows({ timeframes: ['1s', '1m', '5m', '15m', '1h', '4h', '1d'] });
    w.apply(trade(T0, '100', '1'));
    const before = JSON.stringify(w.toSnapshot());
    const err = (() => {
      try {
        w.apply(trade(T0 + 86_400_000 + 5_000, '100', '1'));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(WindowsError);
    expect((err as WindowsError).code).toBe('WINDOW_GAP_TOO_LONG');
    expect((err as Error).message).toMatch(/more than 86400 1s bars/);
    expect(JSON.stringify(w.toSnapshot())).toBe(before);
    expect(w.drainClosed()).toEqual([]);
    w.apply(trade(T0 + 3_600_000, '100', '1')); // an hour: 3,600 + 60 + 12 + 4 + 1 candles
    expect(w.drainClosed()).toHaveLength(3_677);
  });

  it('crosses a long real gap in bounded steps with advanceToward, then takes the trade after it', () => {
    const w = windows({ timeframes: ['1s', '1m', '1h'], maxGapBars: 1_000 });
    w.apply(trade(T0, '100', '1'));
    const after = T0 + 3_600_000 + 500; // an hour later: 3,600 1s bars
    expect(() => w.apply(trade(after, '101', '1'))).toThrow(WindowsError);
    const steps: number[] = [];
    for (let done = false; !done; ) {
      done = w.advanceToward(after);
      const n = w.drainClosed().length;
      expect(n).toBeLessThanOrEqual(1_000 + 16 + 1);
      steps.push(n);
    }
    expect(steps).toHaveLength(4);
    expect(steps.reduce((a, b) => a + b)).toBe(3_600 + 60 + 1);
    w.apply(trade(after, '101', '1'));
    expect(w.openCandles().map((c) => [c.tf, c.close, c.trades])).toEqual([
      ['1s', '101', 1],
      ['1m', '101', 1],
      ['1h', '101', 1],
    ]);
  });

  it('validates its configuration with WINDOW_CONFIG_INVALID and snapshots with WINDOW_SNAPSHOT_INVALID', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(WindowsError);
        return [(e as WindowsError).code, (e as Error).message];
      }
      return null;
    };
    expect(code(() => windows({ timeframes: ['2m' as never] }))).toEqual(['WINDOW_CONFIG_INVALID', expect.stringMatching(/timeframe "2m"/)]);
    expect(code(() => windows({ vwapWindows: ['90ms'] }))).toEqual(['WINDOW_CONFIG_INVALID', expect.stringMatching(/duration/)]);
    expect(code(() => windows({ session: { timeZone: 'Mars/Olympus', open: '09:30', close: '16:00' } }))).toEqual([
      'WINDOW_CONFIG_INVALID',
      expect.stringMatching(/time zone "Mars\/Olympus"/),
    ]);
    expect(code(() => windows({ session: { timeZone: 'UTC', open: '9:30', close: '16:00' } }))).toEqual(['WINDOW_CONFIG_INVALID', expect.stringMatching(/session/)]);
    expect(code(() => windows({ historySize: -1 }))).toEqual(['WINDOW_CONFIG_INVALID', expect.stringMatching(/historySize/)]);
    expect(code(() => windows({ maxGapBars: 0.5 }))).toEqual(['WINDOW_CONFIG_INVALID', expect.stringMatching(/maxGapBars/)]);
    expect(code(() => SymbolWindows.fromSnapshot({ ...windows().toSnapshot(), v: 2 as 1 }))).toEqual(['WINDOW_SNAPSHOT_INVALID', expect.stringMatching(/version/)]);
    const oneTf = windows().toSnapshot();
    expect(code(() => SymbolWindows.fromSnapshot({ ...oneTf, series: [{ ...oneTf.series[0]!, tf: '1h' }] }))).toEqual(['WINDOW_SNAPSHOT_INVALID', expect.stringMatching(/timeframe 1h/)]);
  });

  it('names its series states', () => {
    const w = windows({ timeframes: ['1m'] });
    expect(w.toSnapshot().series[0]!.state).toBe(SeriesState.None);
    w.apply(trade(T0, '1', '1'));
    expect(w.toSnapshot().series[0]!.state).toBe(SeriesState.Open);
    const s = windows({ timeframes: ['1h'], session: { timeZone: 'UTC', open: '09:00', close: '10:00', weekdays: [1, 2, 3, 4, 5, 6, 7] } });
    s.apply(trade(T0 - 30 * M, '1', '1')); // 09:30
    s.advance(T0 + M);
    expect(s.toSnapshot().series[0]!.state).toBe(SeriesState.Waiting);
  });
});

describe('SymbolWindows rolling VWAP', () => {
  it('slides per second over (S − w, S] and is null without volume', () => {
    const w = windows({ vwapWindows: ['10s', '1m'] });
    expect(w.vwaps()).toEqual({ '10s': null, '1m': null });
    w.apply(trade(T0, '10', '1'));
    w.apply(trade(T0 + 5_000, '20', '1'));
    w.apply(trade(T0 + 30_000, '30', '2'));
    expect(w.vwaps()).toEqual({ '10s': '30.0000', '1m': '22.5000' }); // 90 / 4
    w.advance(T0 + 41_000);
    expect(w.vwaps()).toEqual({ '10s': null, '1m': '22.5000' });
    w.advance(T0 + 65_000);
    expect(w.vwaps()).toEqual({ '10s': null, '1m': '30.0000' });
    w.apply(trade(T0 + 64_500, '40', '2')); // out of order, inside both windows
    expect(w.vwaps()).toEqual({ '10s': '40.0000', '1m': '35.0000' });
    w.advance(T0 + 10 * M);
    expect(w.vwaps()).toEqual({ '10s': null, '1m': null });
  });
});

describe('SymbolWindows sessions', () => {
  const NY: SessionConfig = { timeZone: 'America/New_York', open: '09:30', close: '16:00', holidays: ['2024-03-12'] };
  const at = (iso: string) => Date.parse(iso);

  it('aligns bars to the open, cuts the last at the close, skips nights, weekends and holidays (DST aware)', () => {
    const w = windows({ timeframes: ['1h', '4h', '1d'], session: NY });
    w.apply(trade(at('2024-03-08T14:29:59Z'), '99', '1')); // Friday 09:29:59 EST: outside
    expect(w.stats.outsideSession).toBe(1);
    expect(w.openCandles()).toEqual([]);
    w.apply(trade(at('2024-03-08T14:45:00Z'), '100', '1'));
    expect(pick(w.openCandles(), (c) => [c.tf, c.openTime])).toEqual([
      ['1h', at('2024-03-08T14:30:00Z')],
      ['4h', at('2024-03-08T14:30:00Z')],
      ['1d', at('2024-03-08T14:30:00Z')],
    ]);
    w.apply(trade(at('2024-03-08T20:59:59Z'), '101', '1'));
    w.advance(at('2024-03-08T21:00:00Z')); // 16:00 EST close
    const fri = w.drainClosed();
    expect(pick(fri.filter((c) => c.tf === '4h'), (c) => [c.openTime, c.closeTime])).toEqual([
      [at('2024-03-08T14:30:00Z'), at('2024-03-08T18:30:00Z') - 1],
      [at('2024-03-08T18:30:00Z'), at('2024-03-08T21:00:00Z') - 1],
    ]);
    expect(fri.filter((c) => c.tf === '1h')).toHaveLength(7); // 14:30 … 20:30, the last one 30 min
    expect(w.openCandles()).toEqual([]); // between sessions
    w.advance(at('2024-03-11T13:29:59Z'));
    expect(w.drainClosed()).toEqual([]); // no bars over the weekend
    w.advance(at('2024-03-11T13:30:00Z')); // Monday 09:30 EDT
    expect(w.openCandles().find((c) => c.tf === '1d')).toMatchObject({ openTime: at('2024-03-11T13:30:00Z'), open: '101', trades: 0 });
    w.advance(at('2024-03-13T13:30:00Z')); // past the Tuesday holiday
    const days = w.drainClosed().filter((c) => c.tf === '1d');
    expect(pick(days, (c) => [c.openTime, c.closeTime, c.close, c.trades])).toEqual([[at('2024-03-11T13:30:00Z'), at('2024-03-11T20:00:00Z') - 1, '101', 0]]);
    expect(w.openCandles().find((c) => c.tf === '1d')!.openTime).toBe(at('2024-03-13T13:30:00Z'));
  });

  it('computes session bounds through DST changes, gaps and overlaps', () => {
    const berlin = new SessionCalendar({ timeZone: 'Europe/Berlin', open: '22:00', close: '21:00', weekdays: [1, 2, 3, 4, 5, 6, 7] });
    const bar: Bar = { start: 0, end: 0 };
    berlin.barOf(at('2024-03-31T10:00:00Z'), 86_400_000, bar);
    expect(bar).toEqual({ start: at('2024-03-30T21:00:00Z'), end: at('2024-03-31T19:00:00Z') }); // 22 h session
    berlin.barOf(at('2024-03-31T18:00:00Z'), 4 * 3_600_000, bar);
    expect(bar).toEqual({ start: at('2024-03-31T17:00:00Z'), end: at('2024-03-31T19:00:00Z') });
    expect(berlin.inSession(at('2024-03-31T19:30:00Z'))).toBe(false);
    berlin.nextBar(at('2024-03-31T19:00:00Z'), 4 * 3_600_000, bar);
    expect(bar.start).toBe(at('2024-03-31T20:00:00Z')); // 22:00 CEST

    // Sunday 02:30 does not exist in New York on 2024-03-10: the open moves forward by the gap
    const gap = new SessionCalendar({ timeZone: 'America/New_York', open: '02:30', close: '05:00', weekdays: [7] });
    expect(gap.sessionFrom(at('2024-03-09T00:00:00Z'))).toEqual({ open: at('2024-03-10T07:30:00Z'), close: at('2024-03-10T09:00:00Z') });
    // 01:30 happens twice on 2024-11-03: the first one (EDT) counts
    const overlap = new SessionCalendar({ timeZone: 'America/New_York', open: '01:30', close: '03:00', weekdays: [7] });
    expect(overlap.sessionFrom(at('2024-11-02T00:00:00Z'))).toEqual({ open: at('2024-11-03T05:30:00Z'), close: at('2024-11-03T08:00:00Z') });
  });
});
