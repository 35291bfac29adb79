import { formatDecimal, mul, parseDecimal, decimal } from '../../runtime/decimal.js';
import type { DerivTicker, FundingResponse } from './api.js';

/** Venues with perpetuals (DESIGN.md: Binance USD-M is `binance-futures`; Bybit and OKX keep their ids). */
export const PERP_VENUES = ['binance-futures', 'bybit', 'okx'] as const;

/** The perpetual of a symbol: BTC-USDT → BTC-USDT-PERP (a -PERP symbol is its own). */
export const perpOf = (symbol: string): string => (symbol.endsWith('-PERP') ? symbol : `${symbol}-PERP`);

/** A funding rate as a percentage per interval, exact: "0.0001" → "0.0100%". */
export function ratePercent(rate: string | null | undefined): string {
  if (rate == null) return '—';
  try {
    return `${formatDecimal(mul(parseDecimal(rate), decimal(100n, 0)), 4)}%`;
  } catch {
    return rate;
  }
}

const hours = (ms: number | null): string => (ms === null ? '' : ` / ${Math.round(ms / 3_600_000)} h`);

function until(now: number, ts: number | null): string {
  if (ts === null) return '—';
  const s = Math.round((ts - now) / 1000);
  if (s <= 0) return 'due';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : `${m} min ${s % 60} s`;
}

/**
 * Latest funding per perpetual venue of the selected symbol's perpetual: the current rate and next
 * settlement from each venue's derivative ticker (`/v1/derivs`), the last settled rate from
 * `/v1/funding`; rates exact, as percentages per their own interval.
 */
export function renderFunding(el: HTMLElement, perp: string, tickers: (DerivTicker | null)[], settled: FundingResponse | null, now: number): void {
  const lastSettled = new Map<string, FundingResponse['rates'][number]>();
  for (const r of settled?.rates ?? []) if (!lastSettled.has(r.venue)) lastSettled.set(r.venue, r);
  const venues = PERP_VENUES.filter((v, i) => tickers[i] || lastSettled.has(v));
  if (venues.length === 0) {
    el.innerHTML = `<p class="empty">no funding for ${perp} (no derivatives feed)</p>`;
    return;
  }
  const table = document.createElement('table');
  table.innerHTML = '<thead><tr><th>venue</th><th class="num">rate</th><th class="num">next in</th><th class="num">last settled</th></tr></thead>';
  const body = table.createTBody();
  for (const v of venues) {
    const t = tickers[PERP_VENUES.indexOf(v)] ?? null;
    const s = lastSettled.get(v);
    const tr = body.insertRow();
    const cells = [
      v,
      t ? `${ratePercent(t.fundingRate)}${hours(t.fundingIntervalMs)}` : '—',
      t ? until(now, t.nextFundingTime) : '—',
      s ? `${ratePercent(s.fundingRate)} @ ${new Date(s.fundingTime).toISOString().slice(11, 16)}` : '—',
    ];
    for (const [i, text] of cells.entries()) {
      const td = tr.insertCell();
      td.textContent = text;
      if (i > 0) td.className = 'num';
      if (i === 1 && t?.fundingRate) td.classList.add(t.fundingRate.startsWith('-') ? 'down' : 'up');
    }
  }
  const caption = table.createCaption();
  caption.textContent = perp;
  el.replaceChildren(table);
}
