import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appliedSoFar, waitFor } from '../exactly-once/pipeline.js';
import { writeAggTrades } from '../replay/files.js';
import { freePort, until } from '../support/nats-server.js';
import { readyAfter, replay, replayToEnd, settle, SHORT, sleep, startStack, type Stack } from './rig.js';
import { track } from '../support/children.js';

/**
 * Issue 9's Redis row with a real restart: a redis-server of the row's own holds the worker's
 * state; a dump is saved while a fifth of the replay is applied, the worker moves on to three
 * fifths, then Redis is killed -9 and comes back 5 s later from that dump: every snapshot older
 * than what the running worker applied. The worker must notice and rebuild the gap from MD_TRADES.
 * (test/exactly-once/faults.test.ts restores stale keys under a worker SIGKILLed instead.)
 */
const TRADES = SHORT ? 8_000 : 25_000;
const SYMBOL = 'ETH-USDT';

class RedisServer {
  private child: ChildProcess | null = null;
  readonly dir = mkdtempSync(join(tmpdir(), 'tickwork-chaos-redis-'));
  port = 0;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.port ||= await freePort();
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    track(child);
    await until(`redis-server on :${this.port}`, () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited: ${out.slice(-2000)}`);
      return /Ready to accept connections/.test(out);
    }, 30_000, 50);
  }

  async kill(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  }

  async close(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('chaos: Redis restarted keeping its (stale) data', () => {
  const redis = new RedisServer();
  let stack: Stack | undefined;
  afterAll(async () => {
    for (const p of [stack?.worker, stack?.sink]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    await stack?.iso.cleanup();
    await redis.close();
  });

  it(`${TRADES} trades: the rolled-back snapshots are rebuilt from MD_TRADES, candles equal the reference`, async () => {
    await redis.start();
    stack = await startStack(process.env.NATS_URL ?? 'nats://127.0.0.1:4222', {}, redis.url);
    const s = stack;
    const file = writeAggTrades('chaos-redis.csv', TRADES, { start: Date.UTC(2024, 5, 1), stepMs: 100, firstId: 30_000_000, seed: 9 });
    const run = replay(s, file.path, SYMBOL);
    const applied = () => appliedSoFar(s.iso, [SYMBOL]);
    await waitFor('a fifth applied', async () => (await applied()) > TRADES / 5, 120_000);
    expect(await s.iso.redis().save()).toBe('OK');
    const saved = await applied();
    // Measured from the dump, not from a fixed count: a worker that starts behind the replay applies
    // thousands at once when it catches up (once 157 past a fixed "three fifths" mark, so no stale gap).
    await waitFor('a fifth more applied after the dump', async () => (await applied()) > saved + TRADES / 5, 120_000);
    const atKill = await applied();
    await redis.kill();
    await sleep(5000);
    await redis.start();
    const back = performance.now();
    // The dump that came back is older than what the worker applied by more than a fifth of the trades.
    expect(atKill - saved).toBeGreaterThan(TRADES / 5);
    const timeToReadyMs = await readyAfter(s, back);
    await replayToEnd(run, () => replay(s, file.path, SYMBOL));
    await settle(s, { fault: 'Redis kill -9, back after 5 s from a stale dump', symbols: [SYMBOL], tradesIn: TRADES, timeToReadyMs });
  });
});
