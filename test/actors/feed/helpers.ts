import type { MsgHdrs } from '@nats-io/transport-node';
import { afterAll, afterEach, expect } from 'vitest';
import { loadFeedConfig } from '../../../actors/feed/config.js';
import { FeedSupervisor } from '../../../actors/feed/supervisor.js';
import { venueById } from '../../../venues/index.js';
import { ensureMarketStreams, loadStreamsConfig } from '../../../app/streams.js';
import { createLogger, type Logger } from '../../../runtime/logger.js';
import type { NatsHandles } from '../../../runtime/nats/index.js';
import type { Trade } from '../../../schemas/trade.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../../simulate/index.js';
import { isolated, spawnCli, type CliProcess, type Isolated } from '../../harness.js';


export const testLog = (): Logger => createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', { test: 'feeds' });

/** A FeedSupervisor in this process on its own NATS connection, streams ensured first. */
export async function startFeed(
  iso: Isolated,
  venue: string,
  symbols: string[],
  env: Record<string, string>,
  nats?: NatsHandles,
): Promise<FeedSupervisor> {
  const n = nats ?? (await iso.nats());
  const fullEnv = { ...iso.env, ...env, TICKWORK_VENUES: venue };
  await ensureMarketStreams(n.jsm, iso.ns, loadStreamsConfig(fullEnv));
  const feed = new FeedSupervisor({ venue: venueById(venue), cfg: loadFeedConfig(fullEnv), nats: n, ns: iso.ns, log: testLog() });
  await feed.subscribe(symbols);
  return feed;
}

export interface SimFeed {
  iso: Isolated;
  sim: Simulator;
  feed: FeedSupervisor;
}

/**
 * A simulator and an in-process feed pointed at it, stopped (feed, simulator, then the namespace)
 * after the describe block ('suite') or after each test ('test': a fresh namespace per `start`).
 * Call inside `describe`; after hooks run in reverse order, so a file's own hooks run first.
 */
export function simFeedRig(scope: 'suite' | 'test' = 'suite'): {
  /** The last started pair; throws before `start`. */
  readonly current: SimFeed;
  /** The simulator, then a feed for `symbols` with `simEnv` plus `env`. */
  start(opts: SimulatorOptions, symbols: string[], env?: Record<string, string>): Promise<SimFeed>;
} {
  let iso: Isolated | null = scope === 'suite' ? isolated() : null;
  let running: SimFeed | null = null;
  let sim: Simulator | null = null;
  let feed: FeedSupervisor | null = null;
  (scope === 'suite' ? afterAll : afterEach)(async () => {
    await feed?.stop();
    await sim?.close();
    await iso?.cleanup();
    feed = null;
    sim = null;
    running = null;
    if (scope === 'test') iso = null;
  });
  return {
    get current(): SimFeed {
      if (!running) throw new Error('simFeedRig: start() first');
      return running;
    },
    async start(opts, symbols, env = {}) {
      const i = (iso ??= isolated());
      const s = (sim = await startSimulator(opts));
      const f = (feed = await startFeed(i, opts.venue, symbols, { ...s.env, ...env }));
      return (running = { iso: i, sim: s, feed: f });
    },
  };
}

/**
 * Waits until MD_TRADES holds, for every symbol, the last aggregate trade id the simulated
 * Binance generated (pause the market first so that id stays put).
 */
export async function waitForLastAggTrades(iso: Isolated, nats: NatsHandles, sim: Simulator, symbols: readonly string[], show?: () => unknown): Promise<void> {
  const stream = iso.ns.stream('MD_TRADES');
  const lastStored = async (symbol: string): Promise<number> => {
    const m = await nats.jsm.streams.getMessage(stream, { last_by_subj: iso.ns.subject(`md.trade.binance.${symbol}`) });
    return m ? Number(m.json<Trade>().id) : -1;
  };
  await waitUntil(
    async () => {
      const gen = sim.stats().generated;
      for (const sym of symbols) if ((await lastStored(sym)) !== gen[sym]!.lastAggId) return false;
      return true;
    },
    10_000,
    'the last generated aggTrade of every symbol stored',
    show,
  );
}

/** Per symbol: every aggregate trade id stored once, none missing from the first stored to the last generated. */
export function expectAggIdsOnceAndContiguous(trades: readonly Trade[], sim: Simulator, symbols: readonly string[]): void {
  const gen = sim.stats().generated;
  for (const sym of symbols) {
    const ids = trades.filter((t) => t.symbol === sym).map((t) => Number(t.id));
    expect(new Set(ids).size, `${sym}: stored once`).toBe(ids.length);
    expect(ids.length, `${sym}: contiguous`).toBe(gen[sym]!.lastAggId! - Math.min(...ids) + 1);
  }
}

export interface StoredMsg {
  seq: number;
  subject: string;
  data: Uint8Array;
  headers: MsgHdrs | undefined;
  json<T>(): T;
}

/** Every message of a stream, in sequence order (direct gets: no consumer state to clean up). */
export async function readStream(nats: NatsHandles, stream: string): Promise<StoredMsg[]> {
  const info = await nats.jsm.streams.info(stream);
  const out: StoredMsg[] = [];
  if (info.state.messages === 0) return out;
  const c = await nats.js.consumers.get(stream);
  const it = await c.consume({ max_messages: 1000 });
  for await (const m of it) {
    out.push({ seq: m.seq, subject: m.subject, data: m.data, headers: m.headers, json: <T>() => m.json<T>() });
    if (m.seq >= info.state.last_seq) break;
  }
  await it.close();
  return out;
}

export async function streamCount(nats: NatsHandles, stream: string): Promise<number> {
  return (await nats.jsm.streams.info(stream)).state.messages;
}

/** Polls `cond` until it holds; fails naming `what` (and the last value shown by `show`). */
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, show?: () => unknown): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${show ? `; last: ${JSON.stringify(show())}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Prometheus text → `name{labels}` → value (labels as printed, in the order printed). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** Sum of every series of `name` whose labels include all of `match` (e.g. { venue: 'binance' }). */
export function metricSum(metrics: Map<string, number>, name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const [key, v] of metrics) {
    const brace = key.indexOf('{');
    if ((brace < 0 ? key : key.slice(0, brace)) !== name) continue;
    const labels = brace < 0 ? '' : key.slice(brace);
    if (Object.entries(match).every(([k, val]) => labels.includes(`${k}="${val}"`))) sum += v;
  }
  return sum;
}

export async function fetchMetrics(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
  return parseMetrics(await res.text());
}

export interface FeedProcess {
  cli: CliProcess;
  port: number;
  metrics(): Promise<Map<string, number>>;
  /** SIGTERM, then the exit code (0 = graceful shutdown). */
  stop(): Promise<number | string>;
}

/**
 * `tickwork feed --venue V --symbols …` as a child process on an ephemeral HTTP port (read from
 * its `http listening` log line: a port picked beforehand may be taken by another test meanwhile);
 * resolves once its /metrics shows the venue's connections open.
 */
export async function startFeedProcess(iso: Isolated, venue: string, symbols: string[], env: Record<string, string>, connections = 1): Promise<FeedProcess> {
  const cli = spawnCli(['feed', '--venue', venue, '--symbols', symbols.join(',')], {
    ...iso.env,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
    LOG_FORMAT: 'json',
    ...env,
    HTTP_PORT: '0',
  });
  let port = 0;
  const metrics = () => fetchMetrics(port);
  try {
    const listening = await cli.waitFor(/"msg":"http listening"/, 30_000);
    port = (JSON.parse(listening) as { port: number }).port;
    await waitUntil(
      async () => {
        if (cli.child.exitCode !== null) throw new Error(`tickwork feed exited ${cli.child.exitCode}:\n${cli.output().slice(-2000)}`);
        const m = await metrics().catch(() => null);
        return m !== null && metricSum(m, 'tickwork_feed_connections_open', { venue }) === connections;
      },
      30_000,
      `tickwork feed (${venue}) connected`,
      () => cli.output().slice(-1000),
    );
  } catch (err) {
    cli.child.kill('SIGKILL');
    throw err;
  }
  return {
    cli,
    port,
    metrics,
    stop: async () => {
      if (cli.child.exitCode === null) cli.child.kill('SIGTERM');
      return cli.exited;
    },
  };
}
