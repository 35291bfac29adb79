/**
 * Reference implementation of the window semantics for property tests: re-aggregates every
 * candle from scratch out of the full trade list, with its own decimal math (everything at a
 * fixed 40-digit scale) and its own session enumeration (scanning offsets with
 * `Intl.DateTimeFormat#format`). Shares no code with actors/windows or runtime/decimal.
 */
import type { Candle } from '../../../schemas/candle.js';
import { TF_MS, type Tf } from '../../../schemas/common.js';
import type { SessionConfig } from '../../../actors/windows/config.js';

export interface RefTrade {
  id: string;
  price: string;
  qty: string;
  side: 'buy' | 'sell';
  ts: number;
  count?: number;
}
export type RefEvent = { kind: 'trade'; trade: RefTrade } | { kind: 'advance'; ts: number };

export interface RefConfig {
  venue: string;
  symbol: string;
  timeframes: readonly Tf[];
  vwapWindows: readonly string[];
  /** VWAP digits = pricePrecision + 4; the tests always know it up front. */
  pricePrecision: number;
  session: SessionConfig | null;
  historySize: number;
}

// ---- decimals: fixed scale 40 (quantities, prices) and 80 (products) ----

const S = 40;
const TEN = 10n;
function unitsAt(s: string, scale: number): bigint {
  const neg = s.startsWith('-');
  const body = neg ? s.slice(1) : s;
  const [i, f = ''] = body.split('.');
  if (f.length > scale) throw new Error(`reference: ${s} has more than ${scale} decimals`);
  const v = BigInt(i! + f.padEnd(scale, '0'));
  return neg ? -v : v;
}
export const units40 = (s: string): bigint => unitsAt(s, S);
/** Value of a decimal string at scale 80 (for comparing quote volumes). */
export const units80 = (s: string): bigint => unitsAt(s, 2 * S);
function roundHalfUp(num: bigint, den: bigint): bigint {
  // num, den > 0 in every use here except zero numerators
  const q = num / den;
  const r = num % den;
  return 2n * r >= den ? q + 1n : q;
}
function fmt(unitsAtD: bigint, d: number): string {
  let s = unitsAtD.toString().padStart(d + 1, '0');
  if (d > 0) s = s.slice(0, s.length - d) + '.' + s.slice(s.length - d);
  return s;
}
/** quote80 / vol40 rounded half-up to d digits. */
export function refVwap(quote80: bigint, vol40: bigint, d: number): string {
  return fmt(roundHalfUp(quote80 * TEN ** BigInt(d), vol40 * TEN ** BigInt(S)), d);
}
/** A price at d digits, half-up. */
export function refPriceAt(price: string, d: number): string {
  const u = units40(price);
  return d >= S ? fmt(u * TEN ** BigInt(d - S), d) : fmt(roundHalfUp(u, TEN ** BigInt(S - d)), d);
}

/** Ties in time are ordered by trade id: numerically for numerals, else shorter first, then by character. */
function tradeIdOrder(a: string, b: string): number {
  if (/^[1-9][0-9]*$/.test(a) && /^[1-9][0-9]*$/.test(b)) return BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0;
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

// ---- bars ----

interface BarList {
  /** Index of the bar containing ts, or null outside sessions. */
  indexOf(ts: number): number | null;
  start(i: number): number;
  end(i: number): number;
  /** First bar whose end is after w. */
  firstEndingAfter(w: number): number;
}

function utcBars(ms: number): BarList {
  return {
    indexOf: (ts) => Math.floor(ts / ms),
    start: (i) => i * ms,
    end: (i) => (i + 1) * ms,
    firstEndingAfter: (w) => Math.floor(w / ms),
  };
}

const sessionMemo = new Map<string, { open: number; close: number }[]>();

/** Sessions opening on local dates from 2 days before `fromTs` to 10 days after `toTs`, by brute force. */
export function refSessions(cfg: SessionConfig, fromTs: number, toTs: number): { open: number; close: number }[] {
  const key = JSON.stringify([cfg, fromTs, toTs]);
  const hit = sessionMemo.get(key);
  if (hit) return hit;
  const f = new Intl.DateTimeFormat('sv-SE', {
    timeZone: cfg.timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const local = (y: number, m: number, d: number, hm: string): number => {
    const base = Date.UTC(y, m - 1, d, Number(hm.slice(0, 2)), Number(hm.slice(3, 5)));
    const want = `${new Date(Date.UTC(y, m - 1, d)).toISOString().slice(0, 10)} ${hm}`;
    for (let off = -14 * 60; off <= 14 * 60; off += 15) {
      const u = base + off * 60_000; // earliest first: offsets from −14h upward means instants ascending
      if (f.format(u) === want) return u;
    }
    throw new Error(`reference: local time ${want} does not exist in ${cfg.timeZone}`);
  };
  const weekdays = cfg.weekdays ?? [1, 2, 3, 4, 5];
  const out: { open: number; close: number }[] = [];
  const day0 = Math.floor(fromTs / 86_400_000) - 2;
  const day1 = Math.floor(toTs / 86_400_000) + 10; // the bar after the last watermark may be days away
  for (let day = day0; day <= day1; day++) {
    const d = new Date(day * 86_400_000);
    const iso = d.toISOString().slice(0, 10);
    const wd = d.getUTCDay() === 0 ? 7 : d.getUTCDay();
    if (!weekdays.includes(wd) || (cfg.holidays ?? []).includes(iso)) continue;
    const [y, m, dd] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
    const open = local(y, m, dd, cfg.open);
    const nd = cfg.close <= cfg.open ? new Date((day + 1) * 86_400_000) : d;
    const close = local(nd.getUTCFullYear(), nd.getUTCMonth() + 1, nd.getUTCDate(), cfg.close);
    out.push({ open, close });
  }
  sessionMemo.set(key, out);
  return out;
}

function sessionBars(sessions: { open: number; close: number }[], ms: number): BarList {
  const starts: number[] = [];
  const ends: number[] = [];
  for (const s of sessions) {
    for (let t = s.open; t < s.close; t += ms) {
      starts.push(t);
      ends.push(Math.min(t + ms, s.close));
    }
  }
  return {
    indexOf(ts) {
      for (let i = 0; i < starts.length; i++) if (ts >= starts[i]! && ts < ends[i]!) return i;
      return null;
    },
    start: (i) => starts[i]!,
    end: (i) => ends[i]!,
    firstEndingAfter(w) {
      for (let i = 0; i < ends.length; i++) if (ends[i]! > w) return i;
      throw new Error('reference: bar list too short');
    },
  };
}

// ---- the reference run ----

export interface RefResult {
  /** Final candles per tf, keyed `${tf}:${openTime}`. */
  candles: Map<string, Candle>;
  /** VWAPs after each event (same order as the events). */
  vwaps: Record<string, string | null>[];
}

export function reference(cfg: RefConfig, events: readonly RefEvent[]): RefResult {
  const allTs = events.map((e) => (e.kind === 'trade' ? e.trade.ts : e.ts));
  const sessions = cfg.session ? refSessions(cfg.session, Math.min(...allTs), Math.max(...allTs)) : null;
  const inSession = (ts: number) => sessions === null || sessions.some((s) => ts >= s.open && ts < s.close);
  const barLists = new Map(cfg.timeframes.map((tf) => [tf, sessions ? sessionBars(sessions, TF_MS[tf]) : utcBars(TF_MS[tf])]));
  const firstIdx = new Map<Tf, number>();
  const applied = new Map<Tf, Map<number, RefTrade[]>>(cfg.timeframes.map((tf) => [tf, new Map()]));
  const vwapTrades: RefTrade[] = [];
  const vwaps: Record<string, string | null>[] = [];
  const D = cfg.pricePrecision + 4;
  let W = -Infinity;

  events.forEach((e) => {
    if (e.kind === 'advance') W = Math.max(W, e.ts);
    else {
      const t = e.trade;
      W = Math.max(W, t.ts);
      if (inSession(t.ts)) {
        vwapTrades.push(t);
        for (const tf of cfg.timeframes) {
          const bars = barLists.get(tf)!;
          const idx = bars.indexOf(t.ts)!;
          // A timeframe's first trade opens its first bar; later ones count while their bar is
          // within the history of the open bar, also before the first bar (which moves back).
          const first = firstIdx.get(tf);
          if (first !== undefined && idx < bars.firstEndingAfter(W) - cfg.historySize) continue;
          if (first === undefined || idx < first) firstIdx.set(tf, idx);
          const m = applied.get(tf)!;
          if (!m.has(idx)) m.set(idx, []);
          m.get(idx)!.push(t);
        }
      }
    }
    const sec = Math.floor(W / 1000);
    const v: Record<string, string | null> = {};
    for (const label of cfg.vwapWindows) {
      const span = Number(label.slice(0, -1)) * { s: 1, m: 60, h: 3600 }[label.slice(-1) as 's' | 'm' | 'h'];
      let q = 0n;
      let vol = 0n;
      for (const t of vwapTrades) {
        const x = Math.floor(t.ts / 1000);
        if (x > sec - span && x <= sec) {
          vol += units40(t.qty);
          q += units40(t.price) * units40(t.qty);
        }
      }
      v[label] = vol === 0n ? null : refVwap(q, vol, D);
    }
    vwaps.push(v);
  });

  const candles = new Map<string, Candle>();
  for (const tf of cfg.timeframes) {
    const first = firstIdx.get(tf);
    if (first === undefined) continue;
    const bars = barLists.get(tf)!;
    const openIdx = bars.firstEndingAfter(W);
    let prevClose = '';
    for (let i = first; i <= openIdx; i++) {
      const closed = i < openIdx;
      if (!closed && bars.start(i) > W) break; // next bar not begun (between sessions)
      const ts = [...(applied.get(tf)!.get(i) ?? [])].sort((a, b) => a.ts - b.ts || tradeIdOrder(a.id, b.id));
      let c: Candle;
      const base = { venue: cfg.venue, symbol: cfg.symbol, tf, openTime: bars.start(i), closeTime: bars.end(i) - 1, closed };
      if (ts.length === 0) {
        c = {
          ...base,
          open: prevClose,
          high: prevClose,
          low: prevClose,
          close: prevClose,
          volume: '0',
          quoteVolume: '0',
          vwap: refPriceAt(prevClose, D),
          trades: 0,
          buyVolume: '0',
          firstTradeId: null,
          lastTradeId: null,
        };
      } else {
        let vol = 0n;
        let quote = 0n;
        let buy = 0n;
        let n = 0;
        let high = ts[0]!.price;
        let low = ts[0]!.price;
        for (const t of ts) {
          vol += units40(t.qty);
          quote += units40(t.price) * units40(t.qty);
          if (t.side === 'buy') buy += units40(t.qty);
          n += t.count ?? 1;
          if (units40(t.price) > units40(high)) high = t.price;
          if (units40(t.price) < units40(low)) low = t.price;
        }
        const close = ts[ts.length - 1]!.price;
        c = {
          ...base,
          open: ts[0]!.price,
          high,
          low,
          close,
          volume: fmt(vol, S),
          quoteVolume: fmt(quote, 2 * S),
          vwap: vol === 0n ? refPriceAt(close, D) : refVwap(quote, vol, D),
          trades: n,
          buyVolume: fmt(buy, S),
          firstTradeId: ts[0]!.id,
          lastTradeId: ts[ts.length - 1]!.id,
        };
      }
      prevClose = c.close;
      candles.set(`${tf}:${c.openTime}`, c);
    }
  }
  return { candles, vwaps };
}

/** Field-by-field comparison: prices and volumes by value, everything else exactly. Returns mismatches. */
export function diffCandle(got: Candle, want: Candle): string[] {
  const bad: string[] = [];
  const same = (k: keyof Candle, eq: boolean) => {
    if (!eq) bad.push(`${k}: got ${JSON.stringify(got[k])} want ${JSON.stringify(want[k])}`);
  };
  for (const k of ['venue', 'symbol', 'tf', 'openTime', 'closeTime', 'open', 'close', 'vwap', 'trades', 'firstTradeId', 'lastTradeId', 'closed'] as const) {
    same(k, got[k] === want[k]);
  }
  for (const k of ['high', 'low', 'volume', 'buyVolume'] as const) same(k, units40(got[k]) === units40(want[k]));
  same('quoteVolume', units80(got.quoteVolume) === units80(want.quoteVolume));
  return bad;
}
