import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SimStats } from '../../simulate/index.js';
import type { FeedSupervisor } from '../../actors/feed/supervisor.js';
import { VENUE_IDS } from '../../venues/index.js';
import { startFeed, streamCount, waitUntil } from '../actors/feed/helpers.js';
import { isolated, spawnCli } from '../harness.js';
import { connect, control, until } from './ws-client.js';

const iso = isolated();

/** `tickwork simulate` as a separate process: one JSON line with the URLs, then SIGTERM → exit 0. */

const bin = fileURLToPath(new URL('../../bin/tickwork.js', import.meta.url));

describe('tickwork simulate (CLI)', () => {
  it('prints the ready line first, serves the venue, is driven over /__sim, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [bin, 'simulate', '--venue', 'kraken', '--symbols', 'BTC-USD,ETH-USD', '--rate', '200', '--seed', '4'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'info' },
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const lines = createInterface({ input: child.stdout });
      const first = await new Promise<string>((resolve, reject) => {
        lines.once('line', resolve);
        child.once('exit', (code) => reject(new Error(`exited ${code} before the ready line`)));
      });
      const ready = JSON.parse(first) as { event: string; venue: string; mode: string; wsUrl: string; restUrl: string; controlUrl: string; port: number };
      expect(ready).toMatchObject({ event: 'simulate.ready', venue: 'kraken', mode: 'synthetic' });
      expect(ready.wsUrl).toBe(`ws://127.0.0.1:${ready.port}/v2`);
      expect(ready.controlUrl).toBe(`${ready.restUrl}/__sim`);

      const c = await connect(ready.wsUrl);
      c.send({ method: 'subscribe', params: { channel: 'trade', symbol: ['ETH/USD'] } });
      await until(() => c.json().some((f) => (f as { channel?: string }).channel === 'trade'), 5000, 'a trade frame');
      const st = (await control(ready.controlUrl, 'stats')).body as SimStats;
      expect(st.venue).toBe('kraken');
      expect(st.tradesSent['ETH-USD']).toBeGreaterThan(0);
      expect(Object.keys(st.generated).sort()).toEqual(['BTC-USD', 'ETH-USD']);
      c.close();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 30_000);

  it('refuses an unknown venue with a message naming the choices', async () => {
    const child = spawn(process.execPath, [bin, 'simulate', '--venue', 'mtgox'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(err).toMatch(new RegExp(`--venue <venue>.*'mtgox'.*${VENUE_IDS.join(', ')}`));
  }, 30_000);

  it('prints the URL a feed takes as <VENUE>_WS_URL as it is: a Binance feed pointed there stores trades', async () => {
    const sim = spawnCli(['simulate', '--venue', 'binance', '--rate', '100'], { ...iso.env, LOG_LEVEL: 'warn' });
    let feed: FeedSupervisor | null = null;
    try {
      const ready = JSON.parse(await sim.waitFor(/"event":"simulate.ready"/)) as { wsUrl: string; restUrl: string; port: number; env: Record<string, string> };
      expect(ready.wsUrl).toBe(`ws://127.0.0.1:${ready.port}/stream`);
      expect(ready.env).toEqual({ BINANCE_WS_URL: ready.wsUrl, BINANCE_REST_URL: ready.restUrl });
      feed = await startFeed(iso, 'binance', ['BTC-USDT'], { BINANCE_WS_URL: ready.wsUrl });
      const nats = await iso.nats();
      await waitUntil(async () => (await streamCount(nats, iso.ns.stream('MD_TRADES'))) > 0, 20_000, 'a trade in MD_TRADES');
      expect(feed.stats.dlq).toBe(0);
    } finally {
      await feed?.stop();
      sim.child.kill('SIGTERM');
      await iso.cleanup();
    }
    expect(await sim.exited).toBe(0);
  }, 60_000);
});
