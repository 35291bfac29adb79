import {
  LiveStream,
  getJson,
  type ArbitrageRecord,
  type ArbitrageResponse,
  type BookSnap,
  type Candle,
  type DerivTicker,
  type FundingResponse,
  type CandlesResponse,
  type OverviewResponse,
  type Selection,
  type StreamFrame,
  type SymbolsResponse,
  LADDER_DEPTH,
} from './api.js';
import { compare, parseDecimal } from '../../runtime/decimal.js';
import { CandleChart } from './chart.js';
import { Precisions, type PricePrecision } from './format.js';
import { renderFeeds, renderSymbols } from './tables.js';
import { SpreadPanel } from './spread.js';
import { DepthLadder, renderBookStates } from './books.js';
import { PERP_VENUES, perpOf, renderFunding } from './funding.js';

const TIMEFRAMES = ['1s', '1m', '5m', '15m', '1h', '4h', '1d'];
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const venueSel = $<HTMLSelectElement>('venue');
const symbolSel = $<HTMLSelectElement>('symbol');
const tfSel = $<HTMLSelectElement>('tf');
const lastPrice = $('last-price');
const lastVwap = $('last-vwap');
const conn = $('conn');

const chart = new CandleChart($('chart'));
const precisions = new Precisions();
const spread = new SpreadPanel($('spread'), precisions);
const ladder = new DepthLadder($('ladder'), precisions);
let known: SymbolsResponse['symbols'] = [];
let sel: Selection | null = null;
let lastShown = '';
let lastVwapValue: { tf: string; vwap: string } | null = null;

const stream = new LiveStream(onFrame, (s) => (conn.textContent = s), () => void loadSelection());

function setOptions(el: HTMLSelectElement, values: string[], keep: string | null): void {
  const cur = keep ?? el.value;
  el.replaceChildren(...values.map((v) => new Option(v, v)));
  if (values.includes(cur)) el.value = cur;
}

/** The selected symbol's precision, learnt from every price of it the page receives. */
function precision(): PricePrecision | null {
  return sel ? precisions.of(sel.venue, sel.symbol) : null;
}

/** Header and chart at the precision learnt so far (it only grows, so a re-render never loses digits). */
function applyPrecision(): void {
  const p = precision();
  if (!p || p.value === null) return;
  chart.setPrecision(p.value);
  if (lastShown) lastPrice.textContent = p.format(lastShown);
  if (lastVwapValue) lastVwap.textContent = `${lastVwapValue.tf} vwap ${p.format(lastVwapValue.vwap)}`;
}

function showPrice(price: string): void {
  precision()?.observe(price);
  applyPrecision();
  if (price === lastShown) return;
  // Up/down against the previous price, compared exactly.
  const dir = lastShown ? compare(parseDecimal(price), parseDecimal(lastShown)) : 0;
  if (dir !== 0) lastPrice.className = dir > 0 ? 'up' : 'down';
  lastShown = price;
  lastPrice.textContent = precision()?.format(price) ?? price;
}

function showVwap(c: Candle): void {
  if (c.trades === 0) return;
  lastVwapValue = { tf: c.tf, vwap: c.vwap };
  lastVwap.textContent = `${c.tf} vwap ${precision()?.format(c.vwap) ?? c.vwap}`;
}

function onFrame(f: StreamFrame): void {
  if (!sel) return;
  if (f.type === 'candle') {
    const c = f.data;
    if (c.venue !== sel.venue || c.symbol !== sel.symbol || c.tf !== sel.tf) return;
    precision()?.observe(c.open, c.high, c.low, c.close);
    chart.update(c);
    $('chart-empty').hidden = true;
    showPrice(c.close);
    showVwap(c);
  } else if (f.type === 'trade') {
    if (f.data.venue === sel.venue && f.data.symbol === sel.symbol) showPrice(f.data.price);
  } else if (f.type === 'arb') {
    if (f.data.symbol === sel.symbol) spread.add(f.data);
  } else if (f.type === 'book') {
    const b = f.data;
    if (b.venue === sel.venue && b.symbol === sel.symbol) learning(() => ladder.show(b));
  } else if (f.type === 'dropped') {
    // The server skipped frames while we were slow: the history fetch repairs the chart.
    void loadSelection();
  } else if (f.type === 'error') {
    console.warn('stream error', f);
  }
}

async function loadSelection(): Promise<void> {
  if (!sel) return;
  const s = sel;
  const q = new URLSearchParams({ venue: s.venue, symbol: s.symbol, tf: s.tf, limit: '500' });
  const [candles, arbs] = await Promise.all([
    getJson<CandlesResponse>(`/v1/candles?${q}`).catch(() => null),
    getJson<ArbitrageResponse>(`/v1/arbitrage?${new URLSearchParams({ symbol: s.symbol, limit: '20' })}`).catch(() => null),
  ]);
  if (sel !== s) return;
  const list: Candle[] = candles?.candles ?? [];
  const p = precisions.of(s.venue, s.symbol);
  const before = p.value;
  for (const c of list) p.observe(c.open, c.high, c.low, c.close);
  applyPrecision();
  if (p.value !== before) renderOverview();
  chart.setHistory(list);
  $('chart-empty').hidden = list.length > 0;
  const last = list[list.length - 1];
  if (last) {
    showPrice(last.close);
    showVwap(last);
  }
  spread.reset((arbs?.opportunities ?? []) as ArbitrageRecord[]);
  void refreshBooks();
  void refreshFunding();
}

const book = (venue: string, symbol: string, depth: number) =>
  getJson<BookSnap>(`/v1/book/${encodeURIComponent(venue)}/${encodeURIComponent(symbol)}?depth=${depth}`).catch(() => null);

/** The ladder's book at once (the `book` channel then pushes changes) and the book state of every venue listing the symbol. */
async function refreshBooks(): Promise<void> {
  if (!sel) return;
  const s = sel;
  const venues = [...new Set(known.filter((k) => k.symbol === s.symbol).map((k) => k.venue))];
  const [mine, ...books] = await Promise.all([book(s.venue, s.symbol, LADDER_DEPTH), ...venues.map((v) => book(v, s.symbol, 1))]);
  if (sel !== s) return;
  learning(() => {
    if (mine) ladder.show(mine);
    renderBookStates($<HTMLTableElement>('book-states'), venues.map((venue, i) => ({ venue, book: books[i] ?? null })), Date.now(), precisions);
  });
}

/** Runs `f`, which may learn the selected symbol's precision from book prices; then redraws what shows prices. */
function learning(f: () => void): void {
  const p = precision();
  const before = p?.value;
  f();
  if (p && p.value !== before) {
    applyPrecision();
    renderOverview();
  }
}

/** Latest funding per perpetual venue of the selected symbol's perpetual. */
async function refreshFunding(): Promise<void> {
  if (!sel) return;
  const s = sel;
  const perp = perpOf(s.symbol);
  const [settled, ...tickers] = await Promise.all([
    getJson<FundingResponse>(`/v1/funding?${new URLSearchParams({ symbol: perp, limit: '30' })}`).catch(() => null),
    ...PERP_VENUES.map((v) => getJson<DerivTicker>(`/v1/derivs/${v}/${encodeURIComponent(perp)}`).catch(() => null)),
  ]);
  if (sel !== s) return;
  renderFunding($('funding'), perp, tickers, settled, Date.now());
}

function select(next: Selection): void {
  const prevVenue = sel?.venue;
  const prevSymbol = sel?.symbol;
  sel = next;
  lastShown = '';
  lastVwapValue = null;
  lastPrice.textContent = '—';
  lastPrice.className = '';
  lastVwap.textContent = '';
  if (next.venue !== prevVenue || next.symbol !== prevSymbol) ladder.reset();
  chart.setTimeframe(next.tf);
  const url = new URL(location.href);
  for (const [k, v] of Object.entries(next)) url.searchParams.set(k, v);
  history.replaceState(null, '', url);
  stream.select(next);
  void loadSelection();
}

function fromSelectors(): void {
  const symbols = known.filter((k) => k.venue === venueSel.value).map((k) => k.symbol);
  setOptions(symbolSel, symbols, null);
  if (venueSel.value && symbolSel.value) select({ venue: venueSel.value, symbol: symbolSel.value, tf: tfSel.value });
}

async function refreshSymbols(): Promise<void> {
  const res = await getJson<SymbolsResponse>('/v1/symbols').catch(() => null);
  if (!res) return;
  known = res.symbols;
  const params = new URLSearchParams(location.search);
  setOptions(venueSel, [...new Set(known.map((k) => k.venue))], sel?.venue ?? params.get('venue'));
  setOptions(symbolSel, known.filter((k) => k.venue === venueSel.value).map((k) => k.symbol), sel?.symbol ?? params.get('symbol'));
  if (!sel && venueSel.value && symbolSel.value) select({ venue: venueSel.value, symbol: symbolSel.value, tf: tfSel.value });
}

let overview: OverviewResponse | null = null;

function renderOverview(): void {
  if (!overview) return;
  renderFeeds($('feeds'), overview);
  renderSymbols($('symbols'), overview, sel, precisions, (venue, symbol) => {
    venueSel.value = venue;
    setOptions(symbolSel, known.filter((k) => k.venue === venue).map((k) => k.symbol), symbol);
    select({ venue, symbol, tf: tfSel.value });
  });
}

async function refreshOverview(): Promise<void> {
  const res = await getJson<OverviewResponse>('/v1/overview').catch(() => null);
  if (!res) return;
  overview = res;
  renderOverview();
}

setOptions(tfSel, TIMEFRAMES, new URLSearchParams(location.search).get('tf') ?? '1m');
venueSel.addEventListener('change', fromSelectors);
symbolSel.addEventListener('change', fromSelectors);
tfSel.addEventListener('change', fromSelectors);

await refreshSymbols();
await refreshOverview();
setInterval(() => void refreshSymbols(), 10_000);
setInterval(() => void refreshOverview(), 2_000);
setInterval(() => void refreshBooks(), 3_000);
setInterval(() => void refreshFunding(), 5_000);
