import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDerivsConfig } from '../../../actors/feed/derivs-config.js';
import { ConfigError } from '../../../runtime/errors.js';
import type { DerivTicker } from '../../../schemas/deriv.js';
import { startSimulator, type Simulator } from '../../../simulate/index.js';
import { readStream } from './helpers.js';
import { isolated, spawnCli, type CliProcess } from '../../harness.js';
import { until } from './books-rig.js';

/**
 * `tickwork feed` starts the derivatives feed beside the trade feed for the venue's PERP symbols
 * (TICKWORK_DERIVS on by default), not with TICKWORK_DERIVS=off, and refuses a bad value naming it.
 * The built CLI against a binance-futures simulator and the real NATS.
 */

const SYMBOLS = ['BTC-USDT-PERP', 'ETH-USDT-PERP'];

describe('TICKWORK_DERIVS and its companions are checked', () => {
  it('defaults, and a bad value is a ConfigError naming the variable', () => {
    expect(loadDerivsConfig({})).toMatchObject({ TICKWORK_DERIVS: 'on', TICKWORK_DERIVS_EMIT_MS: 1000, TICKWORK_DERIVS_OI_POLL_MS: 10_000 });
    expect(() => loadDerivsConfig({ TICKWORK_DERIVS: 'maybe' })).toThrow(ConfigError);
    expect(() => loadDerivsConfig({ TICKWORK_DERIVS: 'maybe' })).toThrow(/TICKWORK_DERIVS/);
    expect(() => loadDerivsConfig({ TICKWORK_DERIVS_EMIT_MS: '50' })).toThrow(/TICKWORK_DERIVS_EMIT_MS/);
    expect(() => loadDerivsConfig({ TICKWORK_DERIVS_OI_POLL_MS: 'often' })).toThrow(/TICKWORK_DERIVS_OI_POLL_MS/);
  });
});

describe('tickwork feed with perpetual symbols (binance-futures simulator, NATS)', () => {
  const iso = isolated();
  let sim: Simulator;
  const procs: CliProcess[] = [];
  beforeAll(async () => {
    sim = await startSimulator({ venue: 'binance-futures', synthetic: { symbols: SYMBOLS, tradesPerSec: 20, seed: 3 } });
  });
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await sim?.close();
    await iso.cleanup();
  }, 60_000);

  const feed = (env: Record<string, string>) => {
    const p = spawnCli(['feed', '--venue', 'binance-futures', '--symbols', SYMBOLS.join(',')], {
      ...iso.env,
      ...sim.env,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      HTTP_PORT: '0',
      TICKWORK_DERIVS_EMIT_MS: '200',
      ...env,
    });
    procs.push(p);
    return p;
  };

  it('publishes md.deriv tickers of both symbols; stops cleanly', async () => {
    const p = feed({});
    await p.waitFor(/"msg":"derivatives feeds started"/, 30_000);
    const nats = await iso.nats();
    await until(
      'tickers of both symbols in MD_DERIVS',
      async () => {
        const msgs = await readStream(nats, iso.ns.stream('MD_DERIVS')).catch(() => []);
        const symbols = new Set(msgs.map((m) => m.json<DerivTicker>().symbol));
        return SYMBOLS.every((s) => symbols.has(s));
      },
      60_000,
      () => p.output().slice(-1500),
    );
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  }, 120_000);

  it('TICKWORK_DERIVS=off: the trade feed runs, no derivatives connection', async () => {
    const before = sim.stats().connections;
    const p = feed({ TICKWORK_DERIVS: 'off' });
    await p.waitFor(/"msg":"feeds started"/, 30_000);
    await until('the trade connection', () => sim.stats().connections > before, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(sim.stats().connections - before).toBe(1);
    expect(p.output()).not.toMatch(/derivatives feed/);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  }, 120_000);

  it('TICKWORK_DERIVS=maybe: exits before connecting, naming the variable', async () => {
    const p = feed({ TICKWORK_DERIVS: 'maybe' });
    expect(await p.exited).not.toBe(0);
    expect(p.output()).toMatch(/TICKWORK_DERIVS/);
  }, 60_000);
});

describe('tickwork feed with spot and perpetual symbols on one venue (okx simulator, NATS)', () => {
  const iso = isolated();
  let sim: Simulator;
  let p: CliProcess | undefined;
  afterAll(async () => {
    if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    await sim?.close();
    await iso.cleanup();
  }, 60_000);

  it('spot trades and book on their connections, the perpetual on the derivatives one and its book on the swap book connection; no connection fails', async () => {
    sim = await startSimulator({ venue: 'okx', synthetic: { symbols: ['BTC-USDT', 'ETH-USDT-PERP'], tradesPerSec: 20, seed: 4 } });
    p = spawnCli(['feed', '--venue', 'okx', '--symbols', 'BTC-USDT,ETH-USDT-PERP'], { ...iso.env, ...sim.env, LOG_LEVEL: 'info', LOG_FORMAT: 'json', HTTP_PORT: '0', TICKWORK_BOOKS: '1' });
    await p.waitFor(/"msg":"derivatives feeds started"/, 30_000);
    const nats = await iso.nats();
    const subjects = async (stream: string) => new Set((await readStream(nats, iso.ns.stream(stream)).catch(() => [])).map((m) => iso.ns.unsubject(m.subject)));
    await until(
      'okx spot trades, perpetual tickers and both books',
      async () =>
        (await subjects('MD_TRADES')).has('md.trade.okx.BTC-USDT') &&
        (await subjects('MD_DERIVS')).has('md.deriv.okx.ETH-USDT-PERP') &&
        (await subjects('MD_BOOKS')).has('md.booksnap.okx.BTC-USDT') &&
        (await subjects('MD_BOOKS')).has('md.booksnap.okx.ETH-USDT-PERP'),
      60_000,
      () => p!.output().slice(-1500),
    );
    // swap trades are in contracts: the trade feed leaves them alone
    expect([...(await subjects('MD_TRADES'))].filter((s) => s.includes('PERP'))).toEqual([]);
    expect(p.output()).toMatch(/perpetual symbols without trades: derivatives and order books only/);
    expect(p.output()).not.toMatch(/child failed/);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  }, 120_000);
});
