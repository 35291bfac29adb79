import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { isolated, repoRoot, spawnCli, type CliProcess } from '../harness.js';
import { VENUE_IDS } from '../../venues/index.js';

/**
 * What a user meets first, through the built CLI (`bin/tickwork.js` as a child process): settings
 * that fail fast with one line naming the variable or flag (exit 2), servers that are not there
 * named with their variable (exit 1), readable logs on a terminal, a start banner, `--version`,
 * and an offline `up` that says once per venue it cannot reach it. Real NATS, Redis, PostgreSQL.
 */

const iso = isolated();
afterAll(() => iso.cleanup());

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ ...iso.env, LOG_LEVEL: 'info', LOG_FORMAT: 'json', HTTP_PORT: '0', ...extra });

/** Runs the CLI to its end; output is stdout and stderr together. */
async function run(args: string[], extra: NodeJS.ProcessEnv = {}): Promise<{ code: number | string; out: string; lines: string[] }> {
  const cli = spawnCli(args, env(extra));
  const code = await cli.exited;
  const out = cli.output();
  return { code, out, lines: out.split('\n').filter((l) => l.trim() !== '') };
}

/** A local TCP port with nothing listening (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

describe('tickwork start-up: configuration fails fast (built CLI)', () => {
  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')) as { version: string };
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    expect(r.lines).toEqual([version]);
  });

  it('a venue spelling in TICKWORK_SYMBOLS stops the feed with one line naming it (exit 2)', async () => {
    const r = await run(['feed', '--venue', 'binance'], { TICKWORK_SYMBOLS: 'btcusdt' });
    expect(r.code).toBe(2);
    expect(r.lines).toEqual([expect.stringMatching(/^tickwork: invalid environment variable TICKWORK_SYMBOLS: "btcusdt"; expected .*BASE-QUOTE/)]);
  });

  it('an unknown timeframe stops the worker and up --demo with one line (exit 2)', async () => {
    for (const args of [['worker'], ['up', '--demo']]) {
      const r = await run(args, { TICKWORK_TIMEFRAMES: '7x' });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.lines, args.join(' ')).toEqual([expect.stringMatching(/^tickwork: invalid environment variable TICKWORK_TIMEFRAMES: "7x"; expected .*1s 1m 5m/)]);
    }
  });

  it('an unknown venue in TICKWORK_VENUES stops up with one line naming the known ones (exit 2)', async () => {
    const r = await run(['up', '--demo'], { TICKWORK_VENUES: 'nasdaq' });
    expect(r.code).toBe(2);
    // Every registered venue is named (the registry is the only list).
    expect(r.lines).toEqual([expect.stringMatching(new RegExp(`^tickwork: invalid environment variable TICKWORK_VENUES: "nasdaq"; expected .*${VENUE_IDS.join(', ')}$`))]);
  });

  it('unknown options and bad flag values are named (exit 2)', async () => {
    const unknown = await run(['up', '--fiel', 'x']);
    expect(unknown.code).toBe(2);
    expect(unknown.out).toMatch(/unknown option '--fiel'/);
    const rate = await run(['up', '--demo', '--demo-rate', 'lots']);
    expect(rate.code).toBe(2);
    expect(rate.out).toMatch(/--demo-rate <n>.*'lots'.*expected a positive number/);
    const shard = await run(['worker', '--shard', '4/4']);
    expect(shard.code).toBe(2);
    expect(shard.out).toMatch(/--shard <i\/N>.*'4\/4'/);
  });

  it('a missing file is one friendly line (exit 2)', async () => {
    const r = await run(['replay', '--file', '/nonexistent/trades.csv', '--format', 'binance-trades-csv', '--venue', 'binance', '--symbol', 'BTC-USDT']);
    expect(r.code).toBe(2);
    expect(r.lines).toEqual(['tickwork: --file /nonexistent/trades.csv: no such file']);
  });

  it('a server that is not there is named with its variable (exit 1, no stack trace)', async () => {
    const nats = await closedPort();
    const r1 = await run(['worker'], { NATS_URL: `nats://127.0.0.1:${nats}` });
    expect(r1.code).toBe(1);
    expect(r1.lines.at(-1)).toBe(`tickwork: NATS_URL nats://127.0.0.1:${nats}: connection refused`);
    const redis = await closedPort();
    const r2 = await run(['worker'], { REDIS_URL: `redis://127.0.0.1:${redis}` });
    expect(r2.code).toBe(1);
    expect(r2.lines.at(-1)).toBe(`tickwork: REDIS_URL redis://127.0.0.1:${redis}: connection refused`);
    for (const r of [r1, r2]) expect(r.out).not.toMatch(/^\s+at /m);
  });
});

describe('tickwork on a terminal: pretty logs, banner (built CLI)', () => {
  it('logs JSON when LOG_FORMAT=json, readable lines when pretty, and pretty on a TTY by default', async () => {
    const sim = (extra: NodeJS.ProcessEnv): CliProcess => spawnCli(['simulate', '--venue', 'kraken'], env(extra));
    const json = sim({ LOG_FORMAT: 'json' });
    const jsonLine = await json.waitFor(/simulator running/);
    json.child.kill('SIGTERM');
    expect(JSON.parse(jsonLine)).toMatchObject({ level: 30, msg: 'simulator running', venue: 'kraken' });
    const pretty = sim({ LOG_FORMAT: 'pretty' });
    const prettyLine = await pretty.waitFor(/simulator running/);
    pretty.child.kill('SIGTERM');
    expect(prettyLine).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO.*simulator running/);
    await Promise.all([json.exited, pretty.exited]);

    // `script` gives the child a terminal: no LOG_FORMAT at all picks pretty there.
    const cmd = `timeout -s INT 3 ${process.execPath} bin/tickwork.js simulate --venue kraken`;
    const { LOG_FORMAT: _f, ...auto } = env();
    let tty = '';
    try {
      tty = execFileSync('script', ['-qec', cmd, '/dev/null'], { cwd: repoRoot, env: auto, encoding: 'utf8', timeout: 30_000 });
    } catch (err) {
      tty = String((err as { stdout?: string }).stdout ?? '');
    }
    expect(tty).toMatch(/INFO.*simulator running/);
    expect(tty).not.toMatch(/"msg":"simulator running"/);
  }, 60_000);

  it('up --demo prints a start banner with the dashboard URL, the API and the venues', async () => {
    const up = spawnCli(['up', '--demo', '--demo-rate', '5'], env({ LOG_FORMAT: 'pretty', LOG_LEVEL: 'warn' }));
    try {
      await up.waitFor(/Ctrl-C stops it/, 90_000);
      const out = up.output();
      expect(out).toMatch(/tickwork up --demo/);
      const dashboard = /dashboard\s+(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
      expect(dashboard).toBeDefined();
      expect(out).toContain(`${dashboard}v1/symbols`);
      for (const v of ['binance', 'bybit', 'coinbase', 'kraken', 'okx']) expect(out).toMatch(new RegExp(`^\\s+${v}\\s+\\S+-\\S+.*\\(simulated\\)`, 'm'));
      expect((await fetch(`${dashboard}healthz`)).status).toBe(200);
    } finally {
      up.child.kill('SIGTERM');
    }
    expect(await up.exited).toBe(0);
  }, 120_000);
});

describe('tickwork up without --demo, venues unreachable (built CLI)', () => {
  it('says once per venue that it cannot reach it and backs off quietly, without stack traces', async () => {
    const [binance, kraken] = [await closedPort(), await closedPort()];
    const up = spawnCli(
      ['up'],
      env({
        TICKWORK_VENUES: 'binance,kraken',
        BINANCE_WS_URL: `ws://127.0.0.1:${binance}/stream`,
        KRAKEN_WS_URL: `ws://127.0.0.1:${kraken}/v2`,
        TICKWORK_FEED_BACKOFF_INITIAL_MS: '50',
        TICKWORK_FEED_BACKOFF_MAX_MS: '200',
      }),
    );
    try {
      await up.waitFor(/"msg":"tickwork up"/, 90_000);
      // Several back-off rounds (≤ 200 ms each) pass.
      await new Promise((r) => setTimeout(r, 3000));
      const lines = up.output().split('\n');
      const unavailable = lines.filter((l) => l.includes('unavailable; retrying with back-off'));
      expect(unavailable.filter((l) => l.includes(`BINANCE_WS_URL ws://127.0.0.1:${binance}/stream: connection refused`))).toHaveLength(1);
      expect(unavailable.filter((l) => l.includes(`KRAKEN_WS_URL ws://127.0.0.1:${kraken}/v2: connection refused`))).toHaveLength(1);
      expect(unavailable).toHaveLength(2);
      expect(up.output()).not.toMatch(/"stack"|^\s+at /m);
      expect(lines.filter((l) => l.includes('"level":50'))).toEqual([]);
    } finally {
      up.child.kill('SIGTERM');
    }
    expect(await up.exited).toBe(0);
  }, 120_000);
});
