import { afterAll, describe, it } from 'vitest';
import { STREAMS } from '../../schemas/subjects.js';
import type { Trade } from '../../schemas/trade.js';
import { startSimulator, type Simulator } from '../../simulate/index.js';
import { startFeedProcess, waitUntil, type FeedProcess } from '../actors/feed/helpers.js';
import { startNatsServer, until, type NatsServerProcess } from '../support/nats-cluster.js';
import { readyAfter, settle, SHORT, sleep, startStack, storedTrades, type Stack } from './rig.js';

/**
 * Issue 9's live rows: the simulated Binance market (`tickwork feed` child processes, trades
 * only) into a standalone nats-server of the row's own, with a worker and a sink consuming. Faults:
 * the server killed -9 for 5 s; one of two feed replicas SIGKILLed (active-active: both publish
 * every trade under the same Nats-Msg-Id, JetStream keeps one), restarted later; a reconnect storm
 * (the simulator drops every connection each second for 20 s: the feed refills the gaps from REST);
 * a 10x burst (1,000 trades/s for 30 s, ten times the other rows' rate). Afterwards the market
 * pauses, every symbol's last generated aggregate trade must reach MD_TRADES, and the row settles
 * (rig.ts). Trades in = per symbol, the simulator's aggregate ids from the first stored to its last.
 */
const SYMBOLS = ['BTC-USDT', 'ETH-USDT', 'SOL-USDT'];
const RATE = 100;
const PHASE_MS = SHORT ? 5_000 : 10_000;

interface Ctx {
  server: NatsServerProcess;
  sim: Simulator;
  stack: Stack;
  feeds: FeedProcess[];
  startFeed(): Promise<FeedProcess>;
}

interface Row {
  fault: string;
  short: boolean;
  rate?: number;
  replicas?: number;
  /** The fault, started after PHASE_MS of normal trading; resolves when it is over. */
  run(ctx: Ctx): Promise<void>;
}

const ROWS: Row[] = [
  {
    fault: 'NATS kill -9 5 s with a live feed from the simulator',
    short: false,
    async run({ server }) {
      await server.kill('SIGKILL');
      await sleep(5000);
      await server.start();
    },
  },
  {
    fault: 'feed SIGKILL with a second feed replica (active-active), restarted after 10 s',
    short: true,
    replicas: 2,
    async run(ctx) {
      const victim = ctx.feeds.shift()!;
      victim.cli.child.kill('SIGKILL');
      await victim.cli.exited;
      await sleep(10_000);
      ctx.feeds.push(await ctx.startFeed());
    },
  },
  {
    fault: 'reconnect storm: every connection dropped each 1 s for 20 s',
    short: false,
    async run({ sim }) {
      sim.misbehave({ kind: 'drop-every', everyMs: 1000, durationMs: 20_000 });
      await sleep(20_500);
    },
  },
  {
    fault: '10x burst: 1,000 trades/s for 30 s',
    short: false,
    rate: RATE * 10,
    async run() {
      await sleep(30_000);
    },
  },
];

/** Per symbol, the last stored trade's id (-1 when none). */
async function lastStoredId(stack: Stack, symbol: string): Promise<number> {
  const nats = await stack.iso.nats();
  const m = await nats.jsm.streams.getMessage(stack.iso.ns.stream(STREAMS.trades), { last_by_subj: stack.iso.ns.subject(`md.trade.binance.${symbol}`) }).catch(() => null);
  return m ? Number(m.json<Trade>().id) : -1;
}

describe.each(ROWS.filter((r) => !SHORT || r.short))('chaos: $fault', (row) => {
  let server: NatsServerProcess | undefined;
  let sim: Simulator | undefined;
  let stack: Stack | undefined;
  const feeds: FeedProcess[] = [];
  const started: FeedProcess[] = [];
  afterAll(async () => {
    for (const f of started) if (f.cli.child.exitCode === null) f.cli.child.kill('SIGKILL');
    for (const p of [stack?.worker, stack?.sink]) if (p && p.child.exitCode === null) p.child.kill('SIGKILL');
    await sim?.close();
    await stack?.iso.cleanup();
    await server?.close();
  });

  it('candles equal the fault-free reference over every generated trade, nothing lost or counted twice, ready by itself', async () => {
    server = await startNatsServer();
    stack = await startStack(server.url);
    const s = stack;
    const market = (sim = await startSimulator({ venue: 'binance', synthetic: { symbols: SYMBOLS, tradesPerSec: row.rate ?? RATE, seed: 90 + row.fault.length } }));
    const startFeed = async () => {
      const f = await startFeedProcess(s.iso, 'binance', SYMBOLS, { ...market.env, TICKWORK_FEED_CHANNELS: 'trades' });
      started.push(f);
      return f;
    };
    for (let i = 0; i < (row.replicas ?? 1); i++) feeds.push(await startFeed());
    const firstTradeAt = Date.now();
    await sleep(PHASE_MS);
    await row.run({ server, sim: market, stack: s, feeds, startFeed });
    const faultOver = performance.now();
    await until('every feed ready', async () => {
      for (const f of feeds) {
        const res = await fetch(`http://127.0.0.1:${f.port}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
        if (res?.status !== 200) return false;
      }
      return true;
    }, 180_000, 100);
    const timeToReadyMs = Math.max(performance.now() - faultOver, await readyAfter(s, faultOver));
    // Trade past a minute boundary after the first trades, so that closed candles exist to compare (bars close on trade time).
    const boundary = Math.floor(firstTradeAt / 60_000) * 60_000 + 60_000 + 2_000;
    await sleep(Math.max(PHASE_MS, boundary - Date.now()));
    market.pause();
    const generated = () => Object.fromEntries(SYMBOLS.map((sym) => [sym, market.stats().generated[sym]!.lastAggId]));
    await waitUntil(
      async () => {
        for (const sym of SYMBOLS) if ((await lastStoredId(s, sym)) !== market.stats().generated[sym]!.lastAggId) return false;
        return true;
      },
      180_000,
      'the last generated aggTrade of every symbol stored',
      generated,
    );
    for (const f of feeds) if (f.cli.child.exitCode !== null) throw new Error(`a feed exited:\n${f.cli.output().slice(-2000)}`);
    const stored = await storedTrades(s);
    let tradesIn = 0;
    for (const sym of SYMBOLS) {
      const first = Math.min(...stored.filter((t) => t.symbol === sym).map((t) => Number(t.id)));
      tradesIn += market.stats().generated[sym]!.lastAggId! - first + 1;
    }
    await settle(s, { fault: row.fault, symbols: SYMBOLS, tradesIn, timeToReadyMs });
  });
});
