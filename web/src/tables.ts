import type { OverviewResponse, Selection } from './api.js';

/** trades/s from the growth of each symbol's tradesApplied between two overview polls. */
const previous = new Map<string, { n: number; at: number }>();

const age = (now: number, ts: number | null) => {
  if (ts === null) return '—';
  const s = Math.max(0, (now - ts) / 1000);
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min`;
};

function row(cells: (string | number)[], cls = ''): HTMLTableRowElement {
  const tr = document.createElement('tr');
  if (cls) tr.className = cls;
  for (const c of cells) {
    const td = document.createElement('td');
    td.textContent = String(c);
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
    );
  });
  table.tBodies[0]!.replaceChildren(...(rows.length ? rows : [row(['no feed health reported'], 'empty')]));
}

export function renderSymbols(
  table: HTMLTableElement,
  o: OverviewResponse,
  sel: Selection | null,
  onPick: (venue: string, symbol: string) => void,
): void {
  const feeds = new Map(o.feeds.map((f) => [f.venue, f]));
  const rows = o.symbols.map((s) => {
    const key = `${s.venue}:${s.symbol}`;
    const prev = previous.get(key);
    const rate = prev && o.now > prev.at ? ((s.tradesApplied - prev.n) * 1000) / (o.now - prev.at) : null;
    previous.set(key, { n: s.tradesApplied, at: o.now });
    const feed = feeds.get(s.venue);
    const tr = row(
      [
        s.venue,
        s.symbol,
        s.lastPrice ?? '—',
        s.vwap1m ?? '—',
        rate === null ? '—' : rate.toFixed(1),
        feed ? age(o.now, feed.lastMessageTs) : '—',
        feed ? feed.reconnects : '—',
        s.worker ?? '—',
      ],
      sel && sel.venue === s.venue && sel.symbol === s.symbol ? 'selected' : '',
    );
    tr.addEventListener('click', () => onPick(s.venue, s.symbol));
    return tr;
  });
  table.tBodies[0]!.replaceChildren(...(rows.length ? rows : [row(['no symbols yet: start feeds and workers'], 'empty')]));
}
