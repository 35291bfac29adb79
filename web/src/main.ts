import {
  LiveStream,
  getJson,
  type ArbitrageRecord,
  type ArbitrageResponse,
  type Candle,
  type CandlesResponse,
  type OverviewResponse,
  type Selection,
  type StreamFrame,
  type SymbolsResponse,
} from './api.js';
import { CandleChart } from './chart.js';
import { renderFeeds, renderSymbols } from './tables.js';
import { SpreadPanel } from './spread.js';

const TIMEFRAMES = ['1s', '1m', '5m', '15m', '1h', '4h', '1d'];
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const venueSel = $<HTMLSelectElement>('venue');
const symbolSel = $<HTMLSelectElement>('symbol');
const tfSel = $<HTMLSelectElement>('tf');
const lastPrice = $('last-price');
const lastVwap = $('last-vwap');
const conn = $('conn');

const chart = new CandleChart($('chart'));
const spread = new SpreadPanel($('spread'));
let known: SymbolsResponse['symbols'] = [];
let sel: Selection | null = null;
let lastShown = '';

const stream = new LiveStream(onFrame, (s) => (conn.textContent = s), () => void loadSelection());

function setOptions(el: HTMLSelectElement, values: string[], keep: string | null): void {
  const cur = keep ?? el.value;
  el.replaceChildren(...values.map((v) => new Option(v, v)));
  if (values.includes(cur)) el.value = cur;
}

function showPrice(price: string, cls: 'up' | 'down' | '' = ''): void {
  if (price === lastShown) return;
  const dir = lastShown && Number.parseFloat(price) !== Number.parseFloat(lastShown)
    ? (Number.parseFloat(price) > Number.parseFloat(lastShown) ? 'up' : 'down')
    : cls;
  lastShown = price;
  lastPrice.textContent = price;
  lastPrice.className = dir;
}

function onFrame(f: StreamFrame): void {
  if (!sel) return;
  if (f.type === 'candle') {
    const c = f.data;
    if (c.venue !== sel.venue || c.symbol !== sel.symbol || c.tf !== sel.tf) return;
    chart.update(c);
    $('chart-empty').hidden = true;
    showPrice(c.close);
    if (c.trades > 0) lastVwap.textContent = `${c.tf} vwap ${c.vwap}`;
  } else if (f.type === 'trade') {
    if (f.data.venue === sel.venue && f.data.symbol === sel.symbol) showPrice(f.data.price);
  } else if (f.type === 'arb') {
    if (f.data.symbol === sel.symbol) spread.add(f.data);
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
  chart.setHistory(list);
  $('chart-empty').hidden = list.length > 0;
  const last = list[list.length - 1];
  if (last) showPrice(last.close);
  spread.reset((arbs?.opportunities ?? []) as ArbitrageRecord[]);
}

function select(next: Selection): void {
  sel = next;
  lastShown = '';
  lastPrice.textContent = '—';
  lastVwap.textContent = '';
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

async function refreshOverview(): Promise<void> {
  const res = await getJson<OverviewResponse>('/v1/overview').catch(() => null);
  if (!res) return;
  renderFeeds($('feeds'), res);
  renderSymbols($('symbols'), res, sel, (venue, symbol) => {
    venueSel.value = venue;
    setOptions(symbolSel, known.filter((k) => k.venue === venue).map((k) => k.symbol), symbol);
    select({ venue, symbol, tf: tfSel.value });
  });
}

setOptions(tfSel, TIMEFRAMES, new URLSearchParams(location.search).get('tf') ?? '1m');
venueSel.addEventListener('change', fromSelectors);
symbolSel.addEventListener('change', fromSelectors);
tfSel.addEventListener('change', fromSelectors);

await refreshSymbols();
await refreshOverview();
setInterval(() => void refreshSymbols(), 10_000);
setInterval(() => void refreshOverview(), 2_000);
