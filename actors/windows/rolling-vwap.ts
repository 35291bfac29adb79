import { ExactSum, FAST_LIMIT, FastDecimal, POW10, div, formatDecimal, pow10n } from '../../runtime/decimal.js';
import { configError, durationMs } from './config.js';
import type { TradeValues } from './trade-values.js';

/** Snapshot of the ring: current second and its non-empty buckets as [second, qty units, quote units]. */
export interface RollingVwapSnapshot {
  sec: number | null;
  qtyScale: number;
  quoteScale: number;
  buckets: [number, string, string][];
}

/**
 * Rolling VWAP over sliding windows of whole seconds, ending at the watermark's second S:
 * a window of w seconds holds the trades with ts in seconds (S − w, S].
 *
 * One ring of per-second buckets (sized for the longest window) holds exact qty and quote sums
 * at one ring-wide scale; each window keeps running sums, adding each trade and subtracting
 * buckets as they slide out, so a trade costs O(windows) additions and reading a VWAP is O(1).
 * Typed arrays keep the ring compact (one per symbol, allocated on the first trade).
 */
export class RollingVwap {
  readonly labels: readonly string[];
  private readonly spans: number[];
  private readonly size: number;
  /** Watermark second S; NaN before anything happened. */
  private sec = Number.NaN;
  private slotSec: Float64Array | null = null;
  private qtyLo: Float64Array | null = null;
  private quoteLo: Float64Array | null = null;
  private qtyHi: bigint[] = [];
  private quoteHi: bigint[] = [];
  private qtyScale = 0;
  private quoteScale = 0;
  /** Scratch for passing a scaled value to the window sums without boxing a double. */
  private readonly scaled = new FastDecimal();
  private readonly winQty: ExactSum[];
  private readonly winQuote: ExactSum[];

  constructor(labels: readonly string[]) {
    this.labels = [...labels];
    this.spans = labels.map((l) => {
      const ms = durationMs(l);
      if (ms % 1000 !== 0) throw configError(`VWAP window ${l} is not whole seconds`);
      return ms / 1000;
    });
    this.size = Math.max(1, ...this.spans);
    this.winQty = this.spans.map(() => new ExactSum());
    this.winQuote = this.spans.map(() => new ExactSum());
  }

  /** Moves the window end to the second of `ts` (never backwards). */
  advance(ts: number): void {
    const s = Math.floor(ts / 1000);
    if (s > this.sec || Number.isNaN(this.sec)) this.slide(s);
  }

  private slide(s: number): void {
    const prev = this.sec;
    this.sec = s;
    if (this.slotSec === null || Number.isNaN(prev)) return;
    for (let w = 0; w < this.spans.length; w++) {
      const span = this.spans[w]!;
      if (s - prev >= span) {
        this.winQty[w]!.clear();
        this.winQuote[w]!.clear();
        continue;
      }
      // seconds prev−span+1 … s−span leave the window
      for (let x = prev - span + 1; x <= s - span; x++) this.evict(w, x);
    }
  }

  /**
   * Adds a trade (slides the windows first if its second is new). Trades older than the ring
   * are ignored: they are outside every window now and forever.
   */
  add(v: TradeValues): void {
    const x = Math.floor(v.ts / 1000);
    if (x > this.sec || Number.isNaN(this.sec)) this.slide(x);
    if (x <= this.sec - this.size) return;
    if (this.slotSec === null) this.allocate();
    const q = v.qty;
    if (q.scale > this.qtyScale) this.rescaleQty(q.scale);
    const quote = v.quote;
    if (quote.scale > this.quoteScale) this.rescaleQuote(quote.scale);
    const slot = x % this.size;
    const slotSec = this.slotSec!;
    if (slotSec[slot] !== x) {
      slotSec[slot] = x;
      this.qtyLo![slot] = 0;
      this.quoteLo![slot] = 0;
      this.qtyHi[slot] = 0n;
      this.quoteHi[slot] = 0n;
    }
    const spans = this.spans;
    const scaled = this.scaled;
    const kq = this.qtyScale - q.scale;
    let fast = false;
    if (q.big === null && kq < POW10.length) {
      const u = q.units * POW10[kq]!;
      if (u <= FAST_LIMIT && u >= -FAST_LIMIT) {
        fast = true;
        scaled.units = u;
        scaled.scale = this.qtyScale;
        const lo = this.qtyLo!;
        const b = lo[slot]! + u;
        if (b > FAST_LIMIT || b < -FAST_LIMIT) {
          this.spill(this.qtyHi, lo, slot);
          lo[slot] = u;
        } else lo[slot] = b;
        for (let w = 0; w < spans.length; w++) if (x > this.sec - spans[w]!) this.winQty[w]!.addValue(scaled);
      }
    }
    if (!fast) {
      const big = (q.big ?? BigInt(q.units)) * pow10n(kq);
      this.qtyHi[slot]! += big;
      for (let w = 0; w < spans.length; w++) if (x > this.sec - spans[w]!) this.winQty[w]!.addBig(big, this.qtyScale);
    }
    const kv = this.quoteScale - quote.scale;
    fast = false;
    if (quote.big === null && kv < POW10.length) {
      const u = quote.units * POW10[kv]!;
      if (u <= FAST_LIMIT && u >= -FAST_LIMIT) {
        fast = true;
        scaled.units = u;
        scaled.scale = this.quoteScale;
        const lo = this.quoteLo!;
        const b = lo[slot]! + u;
        if (b > FAST_LIMIT || b < -FAST_LIMIT) {
          this.spill(this.quoteHi, lo, slot);
          lo[slot] = u;
        } else lo[slot] = b;
        for (let w = 0; w < spans.length; w++) if (x > this.sec - spans[w]!) this.winQuote[w]!.addValue(scaled);
      }
    }
    if (!fast) {
      const big = (quote.big ?? BigInt(quote.units)) * pow10n(kv);
      this.quoteHi[slot]! += big;
      for (let w = 0; w < spans.length; w++) if (x > this.sec - spans[w]!) this.winQuote[w]!.addBig(big, this.quoteScale);
    }
  }

  /** VWAP per window label, rounded half-up to `digits`; null when the window holds no volume. */
  values(digits: number): Record<string, string | null> {
    const out: Record<string, string | null> = {};
    for (let w = 0; w < this.spans.length; w++) {
      const q = this.winQty[w]!;
      out[this.labels[w]!] = q.isZero() ? null : formatDecimal(div(this.winQuote[w]!.toDecimal(), q.toDecimal(), digits));
    }
    return out;
  }

  toSnapshot(): RollingVwapSnapshot {
    const buckets: [number, string, string][] = [];
    if (this.slotSec !== null) {
      for (let slot = 0; slot < this.size; slot++) {
        const x = this.slotSec[slot]!;
        if (!(x > this.sec - this.size)) continue;
        buckets.push([x, (this.qtyHi[slot]! + BigInt(this.qtyLo![slot]!)).toString(), (this.quoteHi[slot]! + BigInt(this.quoteLo![slot]!)).toString()]);
      }
      buckets.sort((a, b) => a[0] - b[0]);
    }
    return { sec: Number.isNaN(this.sec) ? null : this.sec, qtyScale: this.qtyScale, quoteScale: this.quoteScale, buckets };
  }

  restore(snap: RollingVwapSnapshot): void {
    this.sec = snap.sec ?? Number.NaN;
    this.qtyScale = snap.qtyScale;
    this.quoteScale = snap.quoteScale;
    if (snap.buckets.length === 0) return;
    this.allocate();
    for (const [x, qty, quote] of snap.buckets) {
      const slot = x % this.size;
      this.slotSec![slot] = x;
      this.qtyHi[slot] = BigInt(qty);
      this.quoteHi[slot] = BigInt(quote);
      for (let w = 0; w < this.spans.length; w++) {
        if (x <= this.sec - this.spans[w]!) continue;
        this.winQty[w]!.addBig(this.qtyHi[slot]!, this.qtyScale);
        this.winQuote[w]!.addBig(this.quoteHi[slot]!, this.quoteScale);
      }
    }
  }

  /** Moves a bucket's number part, about to leave the exact range, into its bigint part. */
  private spill(hi: bigint[], lo: Float64Array, slot: number): void {
    // recomputed here from the stored part so no double crosses the call
    hi[slot]! += BigInt(lo[slot]!);
    lo[slot] = 0;
  }

  private evict(w: number, x: number): void {
    const slot = ((x % this.size) + this.size) % this.size;
    if (this.slotSec![slot] !== x) return;
    const q = this.winQty[w]!;
    q.addBig(-this.qtyHi[slot]!, this.qtyScale);
    q.add(-this.qtyLo![slot]!, this.qtyScale);
    const v = this.winQuote[w]!;
    v.addBig(-this.quoteHi[slot]!, this.quoteScale);
    v.add(-this.quoteLo![slot]!, this.quoteScale);
  }

  private allocate(): void {
    this.slotSec = new Float64Array(this.size).fill(Number.NaN);
    this.qtyLo = new Float64Array(this.size);
    this.quoteLo = new Float64Array(this.size);
    this.qtyHi = new Array<bigint>(this.size).fill(0n);
    this.quoteHi = new Array<bigint>(this.size).fill(0n);
  }

  private rescaleQty(scale: number): void {
    rescaleRing(this.qtyLo!, this.qtyHi, scale - this.qtyScale);
    this.qtyScale = scale;
  }

  private rescaleQuote(scale: number): void {
    rescaleRing(this.quoteLo!, this.quoteHi, scale - this.quoteScale);
    this.quoteScale = scale;
  }
}

/** Multiplies every bucket by 10^k exactly (a trade with more fraction digits arrived; rare). */
function rescaleRing(lo: Float64Array, hi: bigint[], k: number): void {
  const f = pow10n(k);
  for (let i = 0; i < lo.length; i++) {
    if (hi[i] !== 0n) hi[i]! *= f;
    if (lo[i] !== 0) {
      hi[i]! += BigInt(lo[i]!) * f;
      lo[i] = 0;
    }
  }
}
