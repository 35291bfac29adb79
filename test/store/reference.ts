import { TF_MS, type Tf } from '../../schemas/common.js';
import type { Candle } from '../../schemas/candle.js';
import type { Trade } from '../../schemas/trade.js';

/**
 * A deliberately plain reference aggregator (exact decimals as BigInt + scale) that builds, from
 * a trade list, the candles the symbol actor is specified to produce: gap-filled, event-time,
 * UTC-aligned, vwap = quoteVolume / volume rounded half-up to the symbol's price precision + 4
 * (precision = the most price fraction digits seen so far, as actors/windows does by default),
 * or the previous close at those digits when the candle is empty; the last candle is still open.
 */
export interface Dec {
  v: bigint;
  s: number;
}
export const dec = (x: string): Dec => {
  const neg = x.startsWith('-');
  const [i, f = ''] = (neg ? x.slice(1) : x).split('.');
  const v = BigInt(`${i}${f}`);
  return { v: neg ? -v : v, s: f.length };
};
const up = (a: Dec, s: number): bigint => a.v * 10n ** BigInt(s - a.s);
export const add = (a: Dec, b: Dec): Dec => {
  const s = Math.max(a.s, b.s);
  return { v: up(a, s) + up(b, s), s };
};
export const mul = (a: Dec, b: Dec): Dec => ({ v: a.v * b.v, s: a.s + b.s });
export const cmp = (a: Dec, b: Dec): number => {
  const s = Math.max(a.s, b.s);
  const d = up(a, s) - up(b, s);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
};
export const str = (a: Dec): string => {
  const neg = a.v < 0n;
  const digits = (neg ? -a.v : a.v).toString().padStart(a.s + 1, '0');
  const out = a.s ? `${digits.slice(0, -a.s)}.${digits.slice(-a.s)}` : digits;
  return neg ? `-${out}` : out;
};
/** Canonical value form (no trailing fraction zeros), for comparing decimals by value. */
export const norm = (x: string): string => {
  if (!x.includes('.')) return x;
  const t = x.replace(/0+$/, '').replace(/\.$/, '');
  return t === '-0' ? '0' : t;
};
/** a / b rounded half-up (positive operands) to `scale` digits. */
export const divRound = (a: Dec, b: Dec, scale: number): Dec => {
  // a/b * 10^scale = (a.v * 10^(b.s + scale)) / (b.v * 10^a.s)
  const num = a.v * 10n ** BigInt(b.s + scale);
  const den = b.v * 10n ** BigInt(a.s);
  let q = num / den;
  if (2n * (num - q * den) >= den) q += 1n;
  return { v: q, s: scale };
};

const ZERO: Dec = { v: 0n, s: 0 };

export function referenceCandles(trades: readonly Trade[], tf: Tf): Candle[] {
  if (trades.length === 0) return [];
  const ms = TF_MS[tf];
  const sorted = [...trades].sort((a, b) => a.ts - b.ts);
  const first = Math.floor(sorted[0]!.ts / ms) * ms;
  const last = Math.floor(sorted[sorted.length - 1]!.ts / ms) * ms;
  const out: Candle[] = [];
  let prevClose = sorted[0]!.price;
  let precision = 0;
  let i = 0;
  for (let open = first; open <= last; open += ms) {
    const inside: Trade[] = [];
    while (i < sorted.length && sorted[i]!.ts < open + ms) inside.push(sorted[i++]!);
    const base = { venue: sorted[0]!.venue, symbol: sorted[0]!.symbol, tf, openTime: open, closeTime: open + ms - 1 };
    if (inside.length === 0) {
      out.push({
        ...base,
        open: prevClose,
        high: prevClose,
        low: prevClose,
        close: prevClose,
        volume: '0',
        quoteVolume: '0',
        vwap: str(divRound(dec(prevClose), { v: 1n, s: 0 }, precision + 4)),
        trades: 0,
        buyVolume: '0',
        firstTradeId: null,
        lastTradeId: null,
        closed: open !== last,
      });
      continue;
    }
    let high = inside[0]!.price;
    let low = inside[0]!.price;
    let volume = ZERO;
    let quote = ZERO;
    let buy = ZERO;
    for (const t of inside) {
      if (cmp(dec(t.price), dec(high)) > 0) high = t.price;
      if (cmp(dec(t.price), dec(low)) < 0) low = t.price;
      volume = add(volume, dec(t.qty));
      quote = add(quote, mul(dec(t.price), dec(t.qty)));
      if (t.side === 'buy') buy = add(buy, dec(t.qty));
      precision = Math.max(precision, dec(t.price).s);
    }
    const close = inside[inside.length - 1]!.price;
    out.push({
      ...base,
      open: inside[0]!.price,
      high,
      low,
      close,
      volume: str(volume),
      quoteVolume: str(quote),
      vwap: str(divRound(quote, volume, precision + 4)),
      trades: inside.length,
      buyVolume: str(buy),
      firstTradeId: inside[0]!.id,
      lastTradeId: inside[inside.length - 1]!.id,
      closed: open !== last,
    });
    prevClose = close;
  }
  return out;
}
