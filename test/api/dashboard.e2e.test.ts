// End-to-end: the dashboard in headless Chromium against the API on real NATS, Redis, PostgreSQL.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Candle } from '../../schemas/candle.js';
import type { Trade } from '../../schemas/trade.js';
import { feedHealthKey, stateKey, symbolsKey, type FeedHealth, type LiveState } from '../../schemas/state.js';
import { arbSubject, liveCandleSubject, tradeSubject } from '../../schemas/subjects.js';
import { CandleStore } from '../../store/candles.js';
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

/** A random-walk 1m candle with exact 2-decimal prices (strings, as the pipeline produces them). */
function candle(openTime: number, prevClose: number, closed: boolean): Candle {
  const o = prevClose;
  const c = Math.round((o + (Math.sin(openTime / MIN) * 40 + (openTime % 7) - 3)) * 100) / 100;
  const h = Math.max(o, c) + 12.5;
  const l = Math.min(o, c) - 9.25;
  return {
    venue: VENUE, symbol: SYMBOL, tf: '1m', openTime, closeTime: openTime + MIN - 1,
    open: o.toFixed(2), high: h.toFixed(2), low: l.toFixed(2), close: c.toFixed(2),
    volume: '3.5', quoteVolume: ((o + c) * 1.75).toFixed(3), vwap: ((o + c) / 2).toFixed(4),
    trades: 40, buyVolume: '2', firstTradeId: String(openTime / 1000), lastTradeId: String(openTime / 1000 + 39), closed,
  };
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
  it('renders the chart from history and shows the last price changing with live data', async () => {
    const now = Date.now();
    const current = Math.floor(now / MIN) * MIN;
    const history: Candle[] = [];
    let close = 42_000;
    for (let i = 40; i >= 1; i--) {
      const k = candle(current - i * MIN, close, true);
      history.push(k);
      close = Number(k.close);
    }
    await new CandleStore(t.iso.sql(), { schema: t.iso.ns.pgSchema }).upsert(history);
    const open = candle(current, close, false);
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

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 15_000 });
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${t.base}/?venue=${VENUE}&symbol=${SYMBOL}&tf=1m`, { timeout: 10_000 });

    // The open candle's close is the first "last price" (history loaded, open candle merged in).
    await page.waitForFunction((want) => document.getElementById('last-price')?.textContent === want, open.close, { timeout: 10_000 });
    await page.waitForFunction(() => document.getElementById('conn')?.textContent === 'live', undefined, { timeout: 10_000 });

    // Live data: trades and open-candle updates with new prices, as the symbol actor publishes them.
    let price = Number(open.close);
    let n = 0;
    const publishing = setInterval(() => {
      price = Math.round((price + 7.35) * 100) / 100;
      n++;
      const trade: Trade = {
        venue: VENUE, symbol: SYMBOL, venueSymbol: 'BTCUSDT', id: `live-${n}`, price: price.toFixed(2),
        qty: '0.01', side: n % 2 ? 'buy' : 'sell', ts: Date.now(), recvTs: Date.now(),
      };
      nc.publish(t.iso.ns.subject(tradeSubject(VENUE, SYMBOL)), JSON.stringify(trade));
      const live = { ...open, close: price.toFixed(2), high: Math.max(Number(open.high), price).toFixed(2), trades: open.trades + n };
      nc.publish(t.iso.ns.subject(liveCandleSubject('1m', VENUE, SYMBOL)), JSON.stringify(live));
    }, 150);
    try {
      await page.waitForFunction((first) => {
        const text = document.getElementById('last-price')?.textContent ?? '';
        return text !== first && /^\d+\.\d{2}$/.test(text);
      }, open.close, { timeout: 10_000 });
      const shown = await page.textContent('#last-price');
      expect(shown).not.toBe(open.close);
      expect(Number(shown)).toBeGreaterThan(Number(open.close));

      nc.publish(
        t.iso.ns.subject(arbSubject(SYMBOL)),
        JSON.stringify({ id: 'arb-1', symbol: SYMBOL, ts: Date.now(), buyVenue: 'kraken', sellVenue: VENUE, ask: '41990.10', bid: '42011.70', spreadBps: '5.14' }),
      );
      await page.waitForFunction(() => document.getElementById('spread')?.textContent?.includes('kraken'), undefined, { timeout: 5000 });
      await page.waitForFunction(() => document.querySelectorAll('#symbols tbody tr').length === 3, undefined, { timeout: 5000 });
    } finally {
      clearInterval(publishing);
    }

    // The chart drew candles: the main pane canvas holds pixels in the up and down candle colours.
    const colours = await page.evaluate(() => {
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
    expect(colours.up).toBeGreaterThan(50);
    expect(colours.down).toBeGreaterThan(50);
    expect(await page.textContent('#symbols')).toContain('worker-0');
    expect(await page.textContent('#feeds')).toContain(VENUE);

    mkdirSync(OUT_DIR, { recursive: true });
    await page.screenshot({ path: join(OUT_DIR, 'dashboard.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 30_000);
});
