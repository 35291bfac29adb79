import { add, compare, formatDecimal, normalize, parseDecimal, sub, ZERO, type Decimal } from '../../runtime/decimal.js';
import type { BookSnap } from './api.js';
import type { Precisions } from './format.js';

/** A quantity without the venue's padding ("1.50000000" → "1.5"), exact. */
function qtyText(d: Decimal): string {
  return formatDecimal(normalize(d));
}

/** Decimal → number, for bar widths only (never shown, never compared as a price). */
const approx = (d: Decimal): number => Number(d.units) / 10 ** d.scale;

function cell(tr: HTMLTableRowElement, text: string, cls = ''): HTMLTableCellElement {
  const td = tr.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

/**
 * The depth ladder of the selected venue/symbol: asks above (best at the bottom), bids below (best
 * at the top), each level with its cumulative size drawn as a bar; nothing while the book is not
 * `live` (the feed serves no levels then), only its state.
 */
export class DepthLadder {
  private book: BookSnap | null = null;

  constructor(
    private readonly el: HTMLElement,
    private readonly precisions: Precisions,
  ) {}

  reset(): void {
    this.book = null;
    this.render();
  }

  /** A book from `/v1/book` or the `book` channel; an older one (lower epoch/seq) than shown is ignored. */
  show(b: BookSnap): void {
    const cur = this.book;
    if (cur && cur.venue === b.venue && cur.symbol === b.symbol && (b.epoch < cur.epoch || (b.epoch === cur.epoch && b.seq < cur.seq))) return;
    this.book = b;
    this.render();
  }

  private render(): void {
    const b = this.book;
    if (!b) {
      this.el.innerHTML = '<p class="empty">no book for this venue/symbol</p>';
      return;
    }
    const p = this.precisions.of(b.venue, b.symbol);
    for (const [price] of b.bids) p.observe(price);
    for (const [price] of b.asks) p.observe(price);
    const cum = (levels: [string, string][]) => {
      let sum = ZERO;
      return levels.map(([price, qty]) => {
        const q = parseDecimal(qty);
        sum = add(sum, q);
        return { price, qty: q, cum: sum };
      });
    };
    const asks = cum(b.asks);
    const bids = cum(b.bids);
    const lastAsk = asks[asks.length - 1]?.cum ?? ZERO;
    const lastBid = bids[bids.length - 1]?.cum ?? ZERO;
    const total = approx(compare(lastAsk, lastBid) > 0 ? lastAsk : lastBid);
    const table = document.createElement('table');
    table.className = 'ladder';
    table.dataset.state = b.state;
    table.innerHTML = '<thead><tr><th class="num">price</th><th class="num">size</th><th class="num">total</th></tr></thead>';
    const body = table.createTBody();
    const level = (l: { price: string; qty: Decimal; cum: Decimal }, side: 'ask' | 'bid') => {
      const tr = body.insertRow();
      tr.className = side;
      cell(tr, p.format(l.price), 'num price');
      cell(tr, qtyText(l.qty), 'num');
      const td = cell(tr, qtyText(l.cum), 'num');
      const pct = total > 0 ? Math.min(100, (approx(l.cum) / total) * 100) : 0;
      td.style.setProperty('--depth', `${pct.toFixed(1)}%`);
    };
    for (const l of [...asks].reverse()) level(l, 'ask');
    const mid = body.insertRow();
    mid.className = 'mid';
    const c = mid.insertCell();
    c.colSpan = 3;
    const bestAsk = b.asks[0]?.[0];
    const bestBid = b.bids[0]?.[0];
    c.textContent =
      b.state !== 'live'
        ? `${b.venue} book ${b.state}: no levels served`
        : bestAsk && bestBid
          ? `${b.venue} spread ${p.format(formatDecimal(normalize(sub(parseDecimal(bestAsk), parseDecimal(bestBid)))))}`
          : `${b.venue} one side empty`;
    for (const l of bids) level(l, 'bid');
    this.el.replaceChildren(table);
  }
}

/** Book state per venue for the selected symbol: live/syncing/stale, best bid/ask, age, epoch (one per (re)sync). */
export function renderBookStates(table: HTMLTableElement, rows: { venue: string; book: BookSnap | null }[], now: number, precisions: Precisions): void {
  const trs = rows.map(({ venue, book }) => {
    const tr = document.createElement('tr');
    if (!book) {
      tr.className = 'warn';
      for (const t of [venue, 'none', '—', '—', '—', '—']) cell(tr, t);
      return tr;
    }
    const p = precisions.of(venue, book.symbol);
    const bid = book.bids[0]?.[0];
    const ask = book.asks[0]?.[0];
    p.observe(bid, ask);
    if (book.state !== 'live') tr.className = 'warn';
    cell(tr, venue);
    cell(tr, book.state, `state ${book.state}`);
    cell(tr, bid ? p.format(bid) : '—', 'num');
    cell(tr, ask ? p.format(ask) : '—', 'num');
    cell(tr, `${Math.max(0, (now - book.recvTs) / 1000).toFixed(1)} s`, 'num');
    cell(tr, String(book.epoch), 'num');
    return tr;
  });
  if (trs.length === 0) {
    const tr = document.createElement('tr');
    tr.className = 'empty';
    cell(tr, 'no venue lists this symbol');
    trs.push(tr);
  }
  table.tBodies[0]!.replaceChildren(...trs);
}
