import type { ArbitrageRecord } from './api.js';

const MAX_ROWS = 12;

/** Latest cross-venue opportunities for the selected symbol, newest first. */
export class SpreadPanel {
  private items: ArbitrageRecord[] = [];

  constructor(private readonly el: HTMLElement) {}

  reset(items: ArbitrageRecord[]): void {
    this.items = items.slice(0, MAX_ROWS);
    this.render();
  }

  add(a: ArbitrageRecord): void {
    if (this.items.some((x) => x.id === a.id)) return;
    this.items = [a, ...this.items].slice(0, MAX_ROWS);
    this.render();
  }

  private render(): void {
    if (this.items.length === 0) {
      this.el.innerHTML = '<p class="empty">no arbitrage signals yet</p>';
      return;
    }
    const table = document.createElement('table');
    table.innerHTML = '<thead><tr><th>time</th><th>buy @ ask</th><th>sell @ bid</th><th>bps</th></tr></thead>';
    const body = table.createTBody();
    for (const a of this.items) {
      const tr = body.insertRow();
      for (const text of [
        new Date(a.ts).toISOString().slice(11, 19),
        `${a.buyVenue} ${a.ask}`,
        `${a.sellVenue} ${a.bid}`,
        a.spreadBps,
      ]) {
        tr.insertCell().textContent = text;
      }
    }
    this.el.replaceChildren(table);
  }
}
