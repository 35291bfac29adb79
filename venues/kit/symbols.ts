import { TickworkError } from '../../runtime/errors.js';

/**
 * Venue symbol ↔ canonical `BASE-QUOTE` helpers shared by the adapters. The venue-specific rules
 * (quote-asset tables, aliases) live in each venue's file and are passed in.
 */

/** The contract's canonical symbol pattern (schemas/common.ts `Symbol`). */
const CANONICAL = /^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}$/;

export function isCanonical(symbol: string): boolean {
  return CANONICAL.test(symbol);
}

/** `BASE-QUOTE` from parts, or null when the result would not be a canonical symbol. */
export function canonicalOf(base: string, quote: string): string | null {
  const s = `${base}-${quote}`;
  return CANONICAL.test(s) ? s : null;
}

/** Splits a canonical symbol; callers pass symbols they were configured with. */
export function splitCanonical(symbol: string): [base: string, quote: string] {
  const i = symbol.indexOf('-');
  if (i <= 0 || !isCanonical(symbol)) throw new TickworkError('SYMBOL_INVALID', `not a canonical BASE-QUOTE symbol: ${symbol}`);
  return [symbol.slice(0, i), symbol.slice(i + 1)];
}

/**
 * Splits a separator-less symbol ('BTCUSDT') by the longest matching quote-asset suffix.
 * `quotesLongestFirst` must be sorted by length, longest first ('BUSD' before 'USD').
 */
export function splitByQuoteSuffix(venueSymbol: string, quotesLongestFirst: readonly string[]): string | null {
  const upper = venueSymbol.toUpperCase();
  for (const q of quotesLongestFirst) {
    if (upper.length > q.length && upper.endsWith(q)) return canonicalOf(upper.slice(0, -q.length), q);
  }
  return null;
}

export function longestFirst(quotes: readonly string[]): readonly string[] {
  return [...new Set(quotes)].sort((a, b) => b.length - a.length || a.localeCompare(b));
}

/**
 * Per-connection cache venue symbol → canonical. Symbols learnt from subscriptions win over the
 * derived mapping (the operator said what 'BTCUSDT' is); derived answers are cached. Bounded, so
 * a stream of garbage symbols cannot grow it without limit.
 */
export class SymbolMap {
  private readonly learnt = new Map<string, string>();
  private readonly derived = new Map<string, string | null>();

  constructor(
    private readonly derive: (venueSymbol: string) => string | null,
    private readonly maxDerived = 10_000,
  ) {}

  learn(venueSymbol: string, canonical: string): void {
    this.learnt.set(venueSymbol, canonical);
  }

  get(venueSymbol: string): string | null {
    const known = this.learnt.get(venueSymbol);
    if (known !== undefined) return known;
    let c = this.derived.get(venueSymbol);
    if (c === undefined) {
      c = this.derive(venueSymbol);
      if (this.derived.size >= this.maxDerived) this.derived.clear();
      this.derived.set(venueSymbol, c);
    }
    return c;
  }
}
