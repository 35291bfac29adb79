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
 * One ring of per-second buckets holds exact qty and quote sums at one ring-wide scale; each
 * window keeps running sums, adding each trade and subtracting buckets as they slide out, so a
 * trade costs O(windows) additions and reading a VWAP is O(1).
 *
 * The ring is indexed by second modulo its capacity and sized to the seconds in use, not to the
 * longest window: it starts at a few slots on the first trade and doubles when two seconds still
 * inside the longest window would share a slot, up to that window's length (where no two can).
 * A symbol that traded in 30 distinct seconds holds 32 slots, not 900 for a 15m window.
 */
export class RollingVwap {
  readonly labels: readonly string[];
  private readonly spans: number[];
  /** Seconds in the longest window: no live bucket is older than `sec − size`. */
  private readonly size: number;
  /** Slots in the ring (0 before the first trade; at most `size`). */
  private cap = 0;
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

  /** Slots the ring holds now (memory: 40 bytes each). */
  get slots(): number {
    return this.cap;
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
    const slot = this.slotOf(x);
    const q = v.qty;
    if (q.scale > this.qtyScale) this.rescaleQty(q.scale);
    const quote = v.quote;
    if (quote.scale > this.quoteScale) this.rescaleQuote(quote.scale);
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
      for (let slot = 0; slot < this.cap; slot++) {
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
    this.slotSec = null;
    this.cap = 0;
    for (const [x, qty, quote] of snap.buckets) {
      const slot = this.slotOf(x);
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
    const slot = ((x % this.cap) + this.cap) % this.cap;
    if (this.slotSec![slot] !== x) return;
    const q = this.winQty[w]!;
    q.addBig(-this.qtyHi[slot]!, this.qtyScale);
    q.add(-this.qtyLo![slot]!, this.qtyScale);
    const v = this.winQuote[w]!;
    v.addBig(-this.quoteHi[slot]!, this.quoteScale);
    v.add(-this.quoteLo![slot]!, this.quoteScale);
  }

  /**
   * The slot of second `x` (inside the longest window), the ring allocated or grown first when
   * it has none or a live bucket of another second holds that slot. The bucket may still be
   * a stale one of another second: the caller resets it.
   */
  private slotOf(x: number): number {
    if (this.slotSec === null) this.resize(Math.min(INITIAL_SLOTS, this.size));
    let slot = x % this.cap;
    const held = this.slotSec![slot]!;
    if (held !== x && held > this.sec - this.size) {
      let cap = this.cap;
      do cap = Math.min(cap * 2, this.size);
      while (!this.resize(cap, x));
      slot = x % this.cap;
    }
    return slot;
  }

  /**
   * Moves the live buckets into a ring of `cap` slots; false (nothing changed) when two of them,
   * or one and second `also`, would share a slot. At `cap` = `size` it always succeeds.
   */
  private resize(cap: number, also?: number): boolean {
    const slotSec = new Float64Array(cap).fill(Number.NaN);
    const qtyLo = new Float64Array(cap);
    const quoteLo = new Float64Array(cap);
    const qtyHi = new Array<bigint>(cap).fill(0n);
    const quoteHi = new Array<bigint>(cap).fill(0n);
    if (also !== undefined) slotSec[also % cap] = also;
    for (let i = 0; i < this.cap; i++) {
      const x = this.slotSec![i]!;
      if (!(x > this.sec - this.size)) continue;
      const slot = x % cap;
      if (!Number.isNaN(slotSec[slot]!)) return false; // taken
      slotSec[slot] = x;
      qtyLo[slot] = this.qtyLo![i]!;
      quoteLo[slot] = this.quoteLo![i]!;
      qtyHi[slot] = this.qtyHi[i]!;
      quoteHi[slot] = this.quoteHi[i]!;
    }
    if (also !== undefined) slotSec[also % cap] = Number.NaN;
    this.slotSec = slotSec;
    this.qtyLo = qtyLo;
    this.quoteLo = quoteLo;
    this.qtyHi = qtyHi;
    this.quoteHi = quoteHi;
    this.cap = cap;
    return true;
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

/** Slots of a ring at its first trade. */
const INITIAL_SLOTS = 8;

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
