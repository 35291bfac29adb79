import type { OverviewResponse, Selection } from './api.js';
import type { Precisions } from './format.js';

/** trades/s from the growth of each symbol's tradesApplied between two overview polls (kept when one poll is drawn again). */
const previous = new Map<string, { n: number; at: number; rate: number | null }>();

const age = (now: number, ts: number | null) => {
  if (ts === null) return '—';
  const s = Math.max(0, (now - ts) / 1000);
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min`;
};

/** A row of text cells; the columns in `numeric` are right-aligned so digits line up. */
function row(cells: (string | number)[], cls = '', numeric: readonly number[] = []): HTMLTableRowElement {
  const tr = document.createElement('tr');
  if (cls) tr.className = cls;
  for (const [i, c] of cells.entries()) {
    const td = document.createElement('td');
    td.textContent = String(c);
    if (numeric.includes(i)) td.className = 'num';
    tr.append(td);
  }
  return tr;
}

export function renderFeeds(table: HTMLTableElement, o: OverviewResponse): void {
  const rows = o.feeds.map((f) => {
    const stale = f.lastMessageTs === null || o.now - f.lastMessageTs > 10_000;
    return row(
      [f.venue, `${f.connected}/${f.connections}`, age(o.now, f.lastMessageTs), f.reconnects, f.tradesPublished, f.dlq],
      stale || f.connected < f.connections ? 'warn' : '',
      [3, 4, 5],
    );
  });
  table.tBodies[0]!.replaceChildren(...(rows.length ? rows : [row(['no feed health reported'], 'empty')]));
}

export function renderSymbols(
  table: HTMLTableElement,
  o: OverviewResponse,
  sel: Selection | null,
  precisions: Precisions,
  onPick: (venue: string, symbol: string) => void,
): void {
  const feeds = new Map(o.feeds.map((f) => [f.venue, f]));
  const rows = o.symbols.map((s) => {
    const key = `${s.venue}:${s.symbol}`;
    const prev = previous.get(key);
    const rate = prev && o.now === prev.at ? prev.rate : prev && o.now > prev.at ? ((s.tradesApplied - prev.n) * 1000) / (o.now - prev.at) : null;
    if (!prev || o.now > prev.at) previous.set(key, { n: s.tradesApplied, at: o.now, rate });
    const feed = feeds.get(s.venue);
    const p = precisions.of(s.venue, s.symbol);
    p.observe(s.lastPrice);
    const tr = row(
      [
        s.venue,
        s.symbol,
        s.lastPrice === null ? '—' : p.format(s.lastPrice),
        s.vwap1m === null ? '—' : p.format(s.vwap1m),
        rate === null ? '—' : rate.toFixed(1),
        feed ? age(o.now, feed.lastMessageTs) : '—',
        feed ? feed.reconnects : '—',
        s.worker ?? '—',
      ],
      sel && sel.venue === s.venue && sel.symbol === s.symbol ? 'selected' : '',
      [2, 3, 4, 6],
    );
    tr.addEventListener('click', () => onPick(s.venue, s.symbol));
    return tr;
  });
  table.tBodies[0]!.replaceChildren(...(rows.length ? rows : [row(['no symbols yet: start feeds and workers'], 'empty')]));
}
