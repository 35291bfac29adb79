// End-to-end: the dashboard in headless Chromium against the API on real NATS, Redis, PostgreSQL.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Candle } from '../../schemas/candle.js';
import type { Trade } from '../../schemas/trade.js';
import { feedHealthKey, stateKey, symbolsKey, type FeedHealth, type LiveState } from '../../schemas/state.js';
import { arbSubject, liveCandleSubject, tradeSubject } from '../../schemas/subjects.js';
import { CandleStore } from '../../store/candles.js';
import { ArbitrageStore } from '../../store/arbitrage.js';
import { DerivStore } from '../../store/derivs.js';
import { FundingStore } from '../../store/funding.js';
import { bookKey, type BookSnap } from '../../schemas/book.js';
import type { DerivTicker } from '../../schemas/deriv.js';
import type { ArbitrageRecord } from '../../schemas/arbitrage.js';
import { repoRoot } from '../harness.js';
import { startApi, type ApiUnderTest } from './harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const OUT_DIR = join(repoRoot, 'test-results', 'api');
const MIN = 60_000;
const VENUE = 'binance';
const SYMBOL = 'BTC-USDT';

let t: ApiUnderTest;
let nc: NatsConnection;
let browser: Browser | null = null;
let webDir: string;

/** Cents as a price with 2 fraction digits ("42010.10"). */
const centsText = (cents: bigint): string => `${cents / 100n}.${(cents % 100n).toString().padStart(2, '0')}`;
/** The text the window kernel writes: exact, trailing fraction zeros dropped ("42010.1"). */
const kernelText = (cents: bigint): string => centsText(cents).replace(/\.?0+$/, '');

/**
 * A 1m candle of two trades (0.3 at open, 0.4 at close), consistent as the API checks it; its
 * VWAP (3·open + 4·close) / 7 has 12 digits, as the kernel writes one, so the page must round it.
 */
function candle(openTime: number, open: bigint, close: bigint, closed: boolean): Candle {
  const high = (open > close ? open : close) + 1250n;
  const low = (open < close ? open : close) - 925n;
  const quoteMilli = 3n * open + 4n * close; // Σ price × qty in units of 0.001
  const vwap12 = (quoteMilli * 10n ** 10n * 2n + 7n) / 14n; // (quote / 0.7) at 12 digits, half-up
  return {
    venue: VENUE, symbol: SYMBOL, tf: '1m', openTime, closeTime: openTime + MIN - 1,
    open: kernelText(open), high: kernelText(high), low: kernelText(low), close: kernelText(close),
    volume: '0.7', quoteVolume: `${quoteMilli / 1000n}.${(quoteMilli % 1000n).toString().padStart(3, '0')}`,
    vwap: `${vwap12 / 10n ** 12n}.${(vwap12 % 10n ** 12n).toString().padStart(12, '0')}`,
    trades: 2, buyVolume: '0.3', firstTradeId: String(openTime / 1000), lastTradeId: String(openTime / 1000 + 1), closed,
  };
}

/**
 * The price axis around the last-price label: the label's rows (filled with a candle colour) and
 * how many rows within 6 px above and below it hold anything but the axis background (tick text).
 */
async function aroundPriceLabel(page: Page): Promise<{ labelRows: number; busyRowsNear: number }> {
  return page.evaluate(() => {
    const chart = document.getElementById('chart')!.getBoundingClientRect();
    const axis = Array.from(document.querySelectorAll<HTMLCanvasElement>('#chart canvas')).find((c) => {
      const r = c.getBoundingClientRect();
      return r.left > chart.left + chart.width / 2 && r.width < 150 && r.height > 100;
    });
    const ctx = axis?.getContext('2d');
    if (!axis || !ctx) return { labelRows: 0, busyRowsNear: -1 };
    const { width, height } = axis;
    const px = ctx.getImageData(0, 0, width, height).data;
    const at = (x: number, y: number) => px.slice((y * width + x) * 4, (y * width + x) * 4 + 3);
    const isLabel = (x: number, y: number) => {
      const [r, g, b] = at(x, y);
      return (r === 0x26 && g === 0xa6 && b === 0x9a) || (r === 0xef && g === 0x53 && b === 0x50);
    };
    const isBackground = (x: number, y: number) => {
      const [r, g, b] = at(x, y);
      return Math.abs(r! - 0x0f) + Math.abs(g! - 0x14) + Math.abs(b! - 0x19) < 24;
    };
    const rows: number[] = [];
    for (let y = 0; y < height; y++) {
      let n = 0;
      for (let x = 0; x < width; x++) if (isLabel(x, y)) n++;
      if (n > width / 2) rows.push(y);
    }
    if (rows.length === 0) return { labelRows: 0, busyRowsNear: -1 };
    const margin = Math.round(6 * devicePixelRatio);
    let busy = 0;
    const near = [...Array(margin).keys()].flatMap((i) => [rows[0]! - 1 - i, rows[rows.length - 1]! + 1 + i]);
    // the axis border is the leftmost pixels; tick text starts further right
    for (const y of near.filter((v) => v >= 0 && v < height)) if (Array.from({ length: width - 4 }, (_, i) => i + 4).some((x) => !isBackground(x, y))) busy++;
    return { labelRows: rows.length, busyRowsNear: busy };
  });
}

/** Pixels of the up and down candle colours on the chart's canvases. */
async function candlePixels(page: Page): Promise<{ up: number; down: number }> {
  return page.evaluate(() => {
    let up = 0;
    let down = 0;
    for (const canvas of Array.from(document.querySelectorAll<HTMLCanvasElement>('#chart canvas'))) {
      const ctx = canvas.getContext('2d');
      if (!ctx || canvas.width === 0 || canvas.height === 0) continue;
      const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 0; i < px.length; i += 4) {
        if (px[i] === 0x26 && px[i + 1] === 0xa6 && px[i + 2] === 0x9a) up++;
        if (px[i] === 0xef && px[i + 1] === 0x53 && px[i + 2] === 0x50) down++;
      }
    }
    return { up, down };
  });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  // A private build of the current sources, so the test never serves a stale or half-written web/dist.
  webDir = mkdtempSync(join(tmpdir(), 'tickwork-web-'));
  execFileSync(process.execPath, [join(repoRoot, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web/vite.config.ts', '--outDir', webDir], {
    cwd: repoRoot,
    stdio: 'pipe',
  });
  t = await startApi({ API_WEB_DIR: webDir, API_WS_THROTTLE_MS: 100 });
  expect(t.api.dashboard).toBe(true);
  nc = (await t.iso.nats()).nc;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await t?.stop();
  if (webDir) rmSync(webDir, { recursive: true, force: true });
});

describe('dashboard in headless Chromium', () => {
  // Prices of this symbol have 2 fraction digits; the data carries them with fewer (kernel text) and more (VWAP, Binance padding).
  const PRICE = /^\d+\.\d{2}$/;

  it('renders history and live data at the symbol precision, at 1400 px and at 420 px', async () => {
    const now = Date.now();
    const current = Math.floor(now / MIN) * MIN;
    const history: Candle[] = [];
    let close = 4_200_000n;
    for (let i = 40; i >= 1; i--) {
      // a zig-zag walk in cents with some round prices (…0 and …00 cents) among them
      const next = close + BigInt(((i * 7919) % 4001) - 2000) + (i % 5 === 0 ? 0n : 3n);
      const k = candle(current - i * MIN, close, i % 4 === 0 ? (next / 100n) * 100n : next, true);
      history.push(k);
      close = next;
    }
    await new CandleStore(t.iso.sql(), { schema: t.iso.ns.pgSchema }).upsert(history);
    const open = candle(current, close, (close / 100n) * 100n + 1010n, false); // its close ends in a zero: "….1"
    expect(open.close).toMatch(/\.\d$/);
    const redis = t.iso.redis();
    const state: LiveState = {
      venue: VENUE, symbol: SYMBOL, lastTrade: null, candles: { '1m': open }, vwap: { '1m': open.vwap },
      lastSeq: 1, tradesApplied: 1600, updatedAt: now, worker: 'worker-0',
    };
    await redis.set(t.iso.ns.key(stateKey(VENUE, SYMBOL)), JSON.stringify(state));
    for (const [v, s] of [[VENUE, SYMBOL], [VENUE, 'ETH-USDT'], ['kraken', SYMBOL]] as const) {
      await redis.hset(t.iso.ns.key(symbolsKey), `${v}:${s}`, JSON.stringify({ worker: 'worker-0', updatedAt: now }));
    }
    const feed: FeedHealth = {
      venue: VENUE, connections: 1, connected: 1, symbols: [SYMBOL, 'ETH-USDT'], lastMessageTs: now,
      reconnects: 1, tradesPublished: 1600, dlq: 0, updatedAt: now,
    };
    await redis.set(t.iso.ns.key(feedHealthKey(VENUE)), JSON.stringify(feed));

    // Books (binance live with 10 levels a side, Binance-padded; kraken resyncing), perpetual
    // tickers on okx and bybit, settled funding, and a closed arbitrage episode in PostgreSQL.
    const level = (i: number, side: 1 | -1): [string, string] => [`${centsText(4_201_000n + BigInt(side * (5 + 10 * i)))}000000`, `${i + 1}.50000000`];
    const liveBook = (seq: number, shift = 0n): BookSnap => ({
      venue: VENUE, symbol: SYMBOL, epoch: 2, seq, state: 'live', depth: 10,
      bids: Array.from({ length: 10 }, (_, i) => level(i, -1)).map(([p, q]) => [`${centsText(BigInt(p.replace('.', '').slice(0, -6)) + shift)}000000`, q]),
      asks: Array.from({ length: 10 }, (_, i) => level(i, 1)).map(([p, q]) => [`${centsText(BigInt(p.replace('.', '').slice(0, -6)) + shift)}000000`, q]),
      ts: now, recvTs: now,
    });
    await redis.set(t.iso.ns.key(bookKey(VENUE, SYMBOL)), JSON.stringify(liveBook(5)));
    const syncing: BookSnap = { ...liveBook(9), venue: 'kraken', epoch: 4, state: 'syncing', bids: [], asks: [] };
    await redis.set(t.iso.ns.key(bookKey('kraken', SYMBOL)), JSON.stringify(syncing));
    const perp = (venue: string, fundingRate: string): DerivTicker => ({
      venue, symbol: 'BTC-USDT-PERP', venueSymbol: 'BTC-USDT-SWAP', markPrice: '42010.5', indexPrice: '42008.1', lastPrice: '42011', fundingRate,
      nextFundingTime: now + 3 * 3_600_000, fundingIntervalMs: 28_800_000, predictedFundingRate: null, openInterest: '100', openInterestValue: null,
      venueOpenInterest: null, ts: now, recvTs: now,
    });
    const derivs = new DerivStore(redis, t.iso.ns);
    await derivs.put(perp('okx', '0.000100000000000000'));
    await derivs.put(perp('bybit', '-0.00002500'));
    await new FundingStore(t.iso.sql(), { schema: t.iso.ns.pgSchema }).insert([
      { venue: 'okx', symbol: 'BTC-USDT-PERP', fundingTime: now - 5 * 3_600_000, fundingRate: '0.00031', fundingIntervalMs: 28_800_000 },
    ]);
    const episode = (startedAt: number, endedAt: number | null, event: 'update' | 'close'): ArbitrageRecord => ({
      id: `${SYMBOL}:binance:kraken:${startedAt}:${event}`, episodeId: `${SYMBOL}:binance:kraken:${startedAt}`, symbol: SYMBOL, ts: endedAt ?? now,
      buyVenue: VENUE, sellVenue: 'kraken', ask: '42010.10000000', bid: '42031.7', spreadBps: '5.1417', kind: 'book', event, startedAt, endedAt,
      netBps: '1.1417', peakBps: '1.5', avgBps: '1.2', size: '0.75000000', netQuote: '3.5989612345', notional: '31507.575', quote: 'USDT',
    });
    await new ArbitrageStore(t.iso.sql(), { schema: t.iso.ns.pgSchema, retentionMs: null }).upsertEpisodes([episode(now - 120_000, now - 90_000, 'close')]);

    // The favicon the page links is served.
    const icon = await fetch(`${t.base}/favicon.svg`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(await icon.text()).toContain('<svg');

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const frames: string[] = [];
    page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(String(f.payload).slice(0, 300))));
    await page.goto(`${t.base}/?venue=${VENUE}&symbol=${SYMBOL}&tf=1m`, { timeout: 30_000 });
    expect(await page.evaluate(() => document.querySelector<HTMLLinkElement>('link[rel="icon"]')?.href)).toBe(`${t.base}/favicon.svg`);

    // The open candle's close is the first "last price": "….1" from the kernel shown as "….10".
    const openShown = `${open.close}0`;
    await page.waitForFunction((want) => document.getElementById('last-price')?.textContent === want, openShown, { timeout: 30_000 });
    await page.waitForFunction(() => document.getElementById('conn')?.textContent === 'live', undefined, { timeout: 30_000 });
    // Its 12-digit VWAP at the symbol's 2 digits, rounded half-up on the decimal.
    const [int, frac] = open.vwap.split('.');
    const vwapCents = (BigInt(int! + frac!) + 5n * 10n ** 9n) / 10n ** 10n;
    expect(await page.textContent('#last-vwap')).toBe(`1m vwap ${centsText(vwapCents)}`);

    // Live data: trades with Binance's 8-digit padding and open-candle updates, as the pipeline publishes them.
    let cents = (close / 100n) * 100n + 1010n;
    let n = 0;
    const publishing = setInterval(() => {
      cents += 735n;
      n++;
      const price = `${centsText(cents)}000000`;
      const trade: Trade = {
        venue: VENUE, symbol: SYMBOL, venueSymbol: 'BTCUSDT', id: `${1000 + n}`, price,
        qty: '0.01000000', side: n % 2 ? 'buy' : 'sell', ts: Date.now(), recvTs: Date.now(),
      };
      nc.publish(t.iso.ns.subject(tradeSubject(VENUE, SYMBOL)), JSON.stringify(trade));
      nc.publish(t.iso.ns.subject(liveCandleSubject('1m', VENUE, SYMBOL)), JSON.stringify(candle(current, close, cents, false)));
    }, 150);
    try {
      const shown = await page
        .waitForFunction(
          (first) => {
            const text = document.getElementById('last-price')?.textContent ?? '';
            return text !== first && text;
          },
          openShown,
          { timeout: 30_000 },
        )
        .then((h) => h.jsonValue())
        .catch((err: unknown) => {
          throw new Error(`last price did not change; frames received: ${JSON.stringify(frames.slice(-10))}`, { cause: err });
        });
      expect(shown).toMatch(PRICE);
      expect(Number(shown)).toBeGreaterThan(Number(openShown));
      expect(await page.textContent('#last-vwap')).toMatch(/^1m vwap \d+\.\d{2}$/);

      nc.publish(
        t.iso.ns.subject(arbSubject(SYMBOL)),
        JSON.stringify({ id: 'arb-1', symbol: SYMBOL, ts: Date.now(), buyVenue: 'kraken', sellVenue: VENUE, ask: '41990.1', bid: '42011.70000000', spreadBps: '5.1442' }),
      );
      await page.waitForFunction(() => document.getElementById('spread')?.textContent?.includes('kraken'), undefined, { timeout: 20_000 });
      await page.waitForFunction(() => document.querySelectorAll('#symbols tbody tr').length === 3, undefined, { timeout: 20_000 });
    } finally {
      clearInterval(publishing);
    }
    // The spread panel: Binance's padded bid at the 2 digits learnt for binance; kraken's ask as sent.
    expect(await page.textContent('#spread')).toContain(`${VENUE} 42011.70`);
    expect(await page.textContent('#spread')).not.toContain('42011.70000000');

    // The symbols table: the selected row's 1m VWAP (the live state's, 12 digits) at 2 digits.
    const row = await page.evaluate(() => {
      const tr = document.querySelector('#symbols tbody tr.selected');
      return tr ? Array.from(tr.querySelectorAll('td')).map((td) => td.textContent ?? '') : [];
    });
    expect(row.slice(0, 2)).toEqual([VENUE, SYMBOL]);
    expect(row[3]).toMatch(PRICE);

    // The chart drew candles: the main pane canvas holds pixels in the up and down candle colours.
    const wide = await candlePixels(page);
    expect(wide.up).toBeGreaterThan(50);
    expect(wide.down).toBeGreaterThan(50);
    expect(await page.textContent('#symbols')).toContain('worker-0');
    expect(await page.textContent('#feeds')).toContain(VENUE);

    // Depth ladder of binance BTC-USDT: 10 asks above, 10 bids below, prices at 2 digits, sizes and totals exact.
    const ladderRows = () =>
      page.evaluate(() => Array.from(document.querySelectorAll('#ladder tbody tr')).map((tr) => [tr.className, ...Array.from(tr.querySelectorAll('td')).map((td) => td.textContent ?? '')]));
    await page.waitForFunction(() => document.querySelectorAll('#ladder tbody tr.bid').length === 10, undefined, { timeout: 30_000 });
    const rows = await ladderRows();
    expect(rows.filter((r) => r[0] === 'ask')).toHaveLength(10);
    expect(rows[9]).toEqual(['ask', '42010.05', '1.5', '1.5']); // best ask just above the middle
    expect(rows[10]).toEqual(['mid', `${VENUE} spread 0.10`]);
    expect(rows[11]).toEqual(['bid', '42009.95', '1.5', '1.5']);
    expect(rows[20]).toEqual(['bid', '42009.05', '10.5', '60']);
    // A book change reaches the ladder over the book channel (the page polls /v1/book every 3 s only for the per-venue table).
    await redis.set(t.iso.ns.key(bookKey(VENUE, SYMBOL)), JSON.stringify(liveBook(6, 100n)));
    await page.waitForFunction(() => document.querySelector('#ladder tr.bid td')?.textContent === '42010.95', undefined, { timeout: 15_000 });
    expect(frames.some((f) => f.startsWith('{"type":"book"'))).toBe(true);
    // Book state per venue: binance live with its best bid/ask, kraken syncing with none.
    const states = await page.evaluate(() => Array.from(document.querySelectorAll('#book-states tbody tr')).map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent ?? '').slice(0, 4)));
    expect(states).toEqual(expect.arrayContaining([[VENUE, 'live', expect.stringMatching(PRICE), expect.stringMatching(PRICE)], ['kraken', 'syncing', '—', '—']]));
    // Funding of BTC-USDT-PERP per perpetual venue: current rates as exact percentages, okx's last settled one.
    await page.waitForFunction(() => document.getElementById('funding')?.textContent?.includes('okx'), undefined, { timeout: 30_000 });
    const funding = await page.textContent('#funding');
    expect(funding).toContain('BTC-USDT-PERP');
    expect(funding).toContain('0.0100% / 8 h');
    expect(funding).toContain('-0.0025% / 8 h');
    expect(funding).toContain('0.0310% @');
    expect(funding).not.toContain('binance-futures');
    // Arbitrage episodes: the closed one from /v1/arbitrage with Q* and net; an open one arriving on md.arb.
    const ep = await page.textContent('#spread');
    expect(ep).toContain('30 s');
    expect(ep).toContain('0.75');
    expect(ep).toContain('1.1417');
    expect(ep).toContain('3.599 USDT');
    nc.publish(t.iso.ns.subject(arbSubject(SYMBOL)), JSON.stringify({ ...episode(now - 5_000, null, 'update'), netBps: '2.25', size: '1.2' }));
    await page.waitForFunction(() => document.querySelector('#spread tr.open')?.textContent?.includes('2.25'), undefined, { timeout: 20_000 });
    expect(await page.locator('#spread tr.open').textContent()).toContain('1.2');
    // The last-price label on the axis stands clear of the tick labels (none drawn half-covered beside it).
    const label = await aroundPriceLabel(page);
    expect(label.labelRows).toBeGreaterThan(10);
    expect(label.busyRowsNear).toBe(0);
    const wideBox = await page.locator('#chart').boundingBox();
    expect(wideBox!.width).toBeGreaterThan(800);
    expect(wideBox!.height).toBeGreaterThan(350);
    mkdirSync(OUT_DIR, { recursive: true });
    await page.screenshot({ path: join(OUT_DIR, 'dashboard-1400.png'), fullPage: true });

    // A phone-sized window: one column, the chart still a chart (it was a 10 px strip beside the aside).
    await page.setViewportSize({ width: 420, height: 860 });
    await page.waitForFunction(() => (document.getElementById('chart')?.getBoundingClientRect().width ?? 0) < 420, undefined, { timeout: 20_000 });
    const narrow = await page.locator('#chart').boundingBox();
    expect(narrow!.width).toBeGreaterThan(360);
    expect(narrow!.height).toBeGreaterThan(200);
    // Nothing but the tables' own scroll boxes is wider than the window.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(420);
    await page.waitForFunction(() => {
      const c = document.querySelector<HTMLCanvasElement>('#chart canvas');
      return !!c && c.getBoundingClientRect().width < 420;
    }, undefined, { timeout: 20_000 });
    const small = await candlePixels(page);
    expect(small.up + small.down).toBeGreaterThan(50);
    expect(await page.textContent('#last-price')).toMatch(PRICE);
    await page.screenshot({ path: join(OUT_DIR, 'dashboard-420.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 300_000);
});
