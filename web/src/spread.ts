import type { ArbitrageRecord } from './api.js';
import { plain, toDigits, type Precisions } from './format.js';

const MAX_ROWS = 12;

/** An episode's key: its events (open, update, close) replace one row; old opportunities are their own. */
const keyOf = (a: ArbitrageRecord): string => a.episodeId ?? a.id;

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/**
 * Arbitrage episodes of the selected symbol, newest first: when it started and how long it lasted
 * (or `open`), buy venue @ ask and sell venue @ bid, size Q*, net bps after fees and net profit in
 * quote currency. An episode's events update its row in place; records without episodes (before
 * issue 13) show their gross bps.
 */
export class SpreadPanel {
  private items: ArbitrageRecord[] = [];

  constructor(
    private readonly el: HTMLElement,
    private readonly precisions: Precisions,
  ) {}

  reset(items: ArbitrageRecord[]): void {
    this.items = items.slice(0, MAX_ROWS);
    this.render();
  }

  add(a: ArbitrageRecord): void {
    const key = keyOf(a);
    const i = this.items.findIndex((x) => keyOf(x) === key);
    if (i >= 0) {
      // an older event of the same episode (redelivered, out of order) never replaces a newer one
      if (this.items[i]!.ts > a.ts || this.items[i]!.id === a.id) return;
      this.items[i] = a;
    } else {
      this.items = [a, ...this.items].slice(0, MAX_ROWS);
    }
    this.render();
  }

  private render(): void {
    if (this.items.length === 0) {
      this.el.innerHTML = '<p class="empty">no arbitrage episodes yet</p>';
      return;
    }
    const table = document.createElement('table');
    table.innerHTML =
      '<thead><tr><th>start</th><th>state</th><th>buy @ ask</th><th>sell @ bid</th><th class="num">size</th><th class="num">net bps</th><th class="num">net</th></tr></thead>';
    const body = table.createTBody();
    for (const a of this.items) {
      // Quotes as the venue sent them, at the venue's own learnt precision (Binance pads to 8 digits).
      const buy = this.precisions.of(a.buyVenue, a.symbol);
      const sell = this.precisions.of(a.sellVenue, a.symbol);
      buy.observe(a.ask);
      sell.observe(a.bid);
      const open = a.episodeId !== undefined && (a.endedAt === null || a.endedAt === undefined) && a.event !== 'close';
      const state = a.episodeId === undefined ? '—' : open ? 'open' : duration((a.endedAt ?? a.ts) - (a.startedAt ?? a.ts));
      const tr = body.insertRow();
      if (open) tr.className = 'open';
      if (a.kind === 'funding') tr.classList.add('funding');
      const cells = [
        new Date(a.startedAt ?? a.ts).toISOString().slice(11, 19),
        a.kind === 'funding' ? `${state} funding` : state,
        `${a.buyVenue} ${buy.format(a.ask)}`,
        `${a.sellVenue} ${sell.format(a.bid)}`,
        a.size !== undefined ? plain(a.size) : '—',
        plain(a.netBps ?? a.spreadBps),
        a.netQuote !== undefined ? `${plain(toDigits(a.netQuote, 4))}${a.quote ? ` ${a.quote}` : ''}` : '—',
      ];
      for (const [i, text] of cells.entries()) {
        const td = tr.insertCell();
        td.textContent = text;
        if (i >= 4) td.className = 'num';
        // venue and price: may wrap onto two lines in a narrow window
        if (i === 2 || i === 3) td.className = 'leg';
      }
    }
    const wrap = document.createElement('div');
    wrap.className = 'scroll';
    wrap.append(table);
    this.el.replaceChildren(wrap);
  }
}
