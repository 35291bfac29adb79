// `tickwork up --demo` (built CLI) on real NATS, Redis and PostgreSQL: the first start opens with a
// synthetic day of candles, a restart leaves it alone, and the dashboard shows it (headless Chromium).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import type { Candle } from '../../schemas/candle.js';
import { isolated, repoRoot, spawnCli, type CliProcess, type Isolated } from '../harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUT_DIR = join(repoRoot, 'test-results', 'api');
const MIN = 60_000;
const HOUR = 3_600_000;

let iso: Isolated;
let webDir: string;
let up: CliProcess | null = null;
let browser: Browser | null = null;

/** Starts `up --demo` in the test's namespace; resolves with its HTTP base once it logged `tickwork up`. */
async function startDemo(): Promise<{ cli: CliProcess; base: string }> {
  const cli = spawnCli(['up', '--demo', '--demo-rate', '10'], {
    ...iso.env,
    HTTP_PORT: '0',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    API_WEB_DIR: webDir,
  });
  const line = await cli.waitFor(/"msg":"tickwork up"/, 150_000);
  const port = (JSON.parse(line) as { port: number }).port;
  return { cli, base: `http://127.0.0.1:${port}` };
}

async function stop(cli: CliProcess): Promise<void> {
  cli.child.kill('SIGTERM');
  await cli.exited;
}

async function candles(base: string, venue: string, symbol: string, tf: string, limit = 2000): Promise<Candle[]> {
  const url = `${base}/v1/candles?${new URLSearchParams({ venue, symbol, tf, limit: String(limit) })}`;
  const res = await fetch(url).catch((err: Error) => {
    // A network error says little by itself (seen once under load: "fetch failed"): its cause and the process's last lines.
    throw new Error(`GET ${url}: ${err.message} (${String((err.cause as Error | undefined)?.message ?? err.cause)}); up ${up?.child.exitCode ?? up?.child.signalCode ?? 'running'}, its last output:\n${up?.output().slice(-3000)}`);
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { candles: Candle[] }).candles;
}

beforeAll(() => {
  iso = isolated();
  webDir = mkdtempSync(join(tmpdir(), 'tickwork-web-'));
  execFileSync(process.execPath, [join(repoRoot, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'web/vite.config.ts', '--outDir', webDir], { cwd: repoRoot, stdio: 'pipe' });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (up) await stop(up);
  await iso?.cleanup();
  if (webDir) rmSync(webDir, { recursive: true, force: true });
});

describe('up --demo opens with history', () => {
  it('writes a synthetic day of 1m candles on the first start, continuous up to the live ones; a restart adds none', async () => {
    const started = Date.now();
    const first = await startDemo();
    up = first.cli;
    // 15 symbols' past day through the backfill path: seconds when idle, minutes on a loaded 2-core machine.
    const history = JSON.parse(await up.waitFor(/"msg":"demo history/, 240_000)) as { symbols: number; trades: number; ms: number };
    // binance, bybit, coinbase, kraken, okx with 3 symbols each
    expect(history.symbols).toBe(15);
    expect(history.trades).toBeGreaterThan(24 * 3600 * 0.5 * 5 * 0.7);
    console.log(`demo first start: history ${history.trades} trades, ${history.symbols} symbols in ${history.ms} ms; 'tickwork up' after ${Date.now() - started} ms`);

    // A day of 1m candles without a hole, then the live ones. Not asked in the first seconds of a
    // minute: a bar that just ended is still open in the worker for TICKWORK_GRACE_MS and was seen
    // missing from the answer once (asked at hh:mm:0x) — a known seam, noted for the API's owners.
    while ((Date.now() % MIN) < 5_000) await new Promise((r) => setTimeout(r, 250));
    const list = await candles(first.base, 'binance', 'BTC-USDT', '1m');
    expect(list.length).toBeGreaterThan(1400);
    const gaps = list.slice(1).filter((c, i) => c.openTime - list[i]!.openTime !== MIN);
    expect(gaps.map((c) => new Date(c.openTime).toISOString())).toEqual([]);
    const last = list[list.length - 1]!;
    expect(Date.now() - last.openTime).toBeLessThan(5 * MIN);
    expect(last.openTime - list[0]!.openTime).toBeGreaterThan(23 * HOUR);
    // Real candles, moving: most minutes traded, and the day's range is more than noise.
    expect(list.filter((c) => c.trades > 0).length / list.length).toBeGreaterThan(0.9);
    const closes = list.map((c) => Number(c.close));
    expect(Math.max(...closes) / Math.min(...closes)).toBeGreaterThan(1.002);
    // Every step between minutes stays small: the day ends where live begins (no jump at the seam).
    const steps = closes.slice(1).map((c, i) => Math.abs(c / closes[i]! - 1));
    expect(Math.max(...steps)).toBeLessThan(0.01);
    // Longer timeframes have the day too (derived from 1m or stored).
    expect((await candles(first.base, 'okx', 'ETH-USDT', '1h')).length).toBeGreaterThanOrEqual(23);

    await stop(up);
    up = null;
    const second = await startDemo();
    up = second.cli;
    const again = await candles(second.base, 'binance', 'BTC-USDT', '1m');
    expect(again.slice(0, 100)).toEqual(list.slice(0, 100));
    expect(up.output()).not.toMatch(/"msg":"demo history/);
  }, 400_000);

  it('the dashboard shows the day at 1400 and at 420 px', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium or set CHROMIUM_PATH`);
    const line = up!.output().split('\n').find((l) => l.includes('"msg":"tickwork up"'))!;
    const base = `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'], timeout: 60_000 });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    // Bounds for a loaded 2-core CI machine (the demo's 15 feeds, workers and the browser share it).
    await page.goto(`${base}/?venue=binance&symbol=BTC-USDT&tf=5m`, { timeout: 60_000 });
    await page.waitForFunction(() => /^\d+\.\d{2}$/.test(document.getElementById('last-price')?.textContent ?? ''), undefined, { timeout: 60_000 });
    // Many candles drawn: far more candle-coloured pixels than one bar gives. Counted until the
    // history's bars are drawn (on a loaded machine the fetch and the drawing take a while).
    const countPixels = () => {
      let n = 0;
      for (const canvas of Array.from(document.querySelectorAll<HTMLCanvasElement>('#chart canvas'))) {
        const ctx = canvas.getContext('2d');
        if (!ctx || canvas.width === 0) continue;
        const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 0; i < px.length; i += 4) {
          if ((px[i] === 0x26 && px[i + 1] === 0xa6 && px[i + 2] === 0x9a) || (px[i] === 0xef && px[i + 1] === 0x53 && px[i + 2] === 0x50)) n++;
        }
      }
      return n;
    };
    await page.waitForFunction(`(${countPixels.toString()})() > 3000`, undefined, { timeout: 60_000, polling: 500 }).catch(() => undefined);
    const pixels = await page.evaluate(countPixels);
    expect(pixels).toBeGreaterThan(3000);
    mkdirSync(OUT_DIR, { recursive: true });
    await page.screenshot({ path: join(OUT_DIR, 'demo-1400.png'), fullPage: true });
    await page.setViewportSize({ width: 420, height: 860 });
    await page.waitForTimeout(500);
    expect((await page.locator('#chart').boundingBox())!.height).toBeGreaterThan(200);
    await page.screenshot({ path: join(OUT_DIR, 'demo-420.png'), fullPage: true });
  }, 240_000);
});
