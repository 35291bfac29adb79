import { formatDecimal, normalize, parseDecimal } from '../../runtime/decimal.js';

/** More fraction digits than any venue quotes: a value needing more is noise, not precision. */
const MAX_DIGITS = 10;

/** Fraction digits a price really uses: "27123.45000000" (Binance pads to 8) → 2, "27123" → 0. */
export function significantDigits(price: string): number {
  try {
    return Math.min(MAX_DIGITS, normalize(parseDecimal(price)).scale);
  } catch {
    return 0;
  }
}

/** `value` at exactly `digits` fraction digits, rounded half-up on the decimal itself (never via a float). */
export function toDigits(value: string, digits: number): string {
  try {
    return formatDecimal(parseDecimal(value), digits);
  } catch {
    return value;
  }
}

/**
 * A symbol's display precision, learnt from the prices it trades at: the most fraction digits
 * any of them needs once the venue's padding is dropped. One price can end in a zero ("…45.40"),
 * many rarely all do, so it grows as prices arrive and never shrinks.
 */
export class PricePrecision {
  private digits: number | null = null;

  observe(...prices: (string | null | undefined)[]): void {
    for (const p of prices) {
      if (p == null) continue;
      const d = significantDigits(p);
      if (this.digits === null || d > this.digits) this.digits = d;
    }
  }

  /** Fraction digits to show; null until a price was seen. */
  get value(): number | null {
    return this.digits;
  }

  /** A price or VWAP at this precision; as given while nothing was learnt. */
  format(value: string): string {
    return this.digits === null ? value : toDigits(value, this.digits);
  }
}

/** Precision per `venue:symbol`, shared by the header, the chart and the tables. */
export class Precisions {
  private readonly map = new Map<string, PricePrecision>();

  of(venue: string, symbol: string): PricePrecision {
    const key = `${venue}:${symbol}`;
    let p = this.map.get(key);
    if (!p) this.map.set(key, (p = new PricePrecision()));
    return p;
  }
}

/** A decimal without its padding ("1.25000000" → "1.25"), exact; as given when it does not parse. */
export function plain(value: string): string {
  try {
    return formatDecimal(normalize(parseDecimal(value)));
  } catch {
    return value;
  }
}
