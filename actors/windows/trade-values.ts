import { FastDecimal } from '../../runtime/decimal.js';

/** One trade, parsed once and shared by every series of the symbol. */
export class TradeValues {
  readonly price = new FastDecimal();
  readonly qty = new FastDecimal();
  /** price × qty. */
  readonly quote = new FastDecimal();
  priceText = '';
  id = '';
  /** Trade time; read from here rather than passed as an argument (a double argument costs an allocation per call). */
  ts = 0;
  /** Later than every trade applied before (ts past the watermark): it closes every bar it lands in. */
  newest = false;
  buy = false;
  count = 1;

  load(price: string, qty: string): void {
    this.quote.setProduct(this.price.parse(price), this.qty.parse(qty));
    this.priceText = price;
  }
}

/**
 * Trade order among equal times: shorter id first, then by character — numeric order for the
 * canonical numerals venues send, and a fixed order for any other ids, so ties never depend on arrival.
 */
export function idBefore(a: string, b: string): boolean {
  return a.length !== b.length ? a.length < b.length : a < b;
}
