import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SimStats } from '../../simulate/index.js';
import { connect, control, until } from './ws-client.js';

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
    expect(code).not.toBe(0);
    expect(err).toMatch(/venue must be one of binance, binance-us, bybit, coinbase, kraken, okx/);
  }, 30_000);
});
