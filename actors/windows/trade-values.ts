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
  buy = false;
  count = 1;

  load(price: string, qty: string): void {
    this.quote.setProduct(this.price.parse(price), this.qty.parse(qty));
    this.priceText = price;
  }
}
