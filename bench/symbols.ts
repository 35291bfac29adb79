/**
 * Cost per symbol as symbols grow (issue 12 item 5): for 10, 100, 1,000 and 10,000 symbols, a
 * fresh `tickwork worker` (static shard 0/1, all timeframes, 1m/5m/15m VWAPs) is handed a stored
 * burst of `tradesPerSymbol` trades per symbol (more when under `minTrades` in all) (event times spread over the last 30 s); measured:
 * trades/s from the first publish until Σ tradesApplied holds them all, and the RSS and V8 heap
 * growth over the same worker before any symbol, per symbol, once every symbol has a snapshot.
 * One run per size (sizes differ by 10×: the trend is the figure, not a median).
 */
import { tradeSubject } from '../schemas/subjects.js';
import { tradeMsgId } from '../schemas/trade.js';
import { inScope, spawnWorker, type WorkerEnvOverrides } from './env.js';
import { TradeGen } from './load.js';
import { appliedTotals } from './observe.js';
import { rawPublish, type RawMessage } from './raw-publish.js';
import { preciseNow, sleep, waitUntil } from './stats.js';

export interface SymbolCostOptions {
  symbolCounts: number[];
  /** At least this many trades per symbol… */
  tradesPerSymbol: number;
  /** …and at least this many in all (a few symbols still make a measurable burst). */
  minTrades: number;
}

export interface SymbolCostRow {
  symbols: number;
  trades: number;
  tradesPerSec: number;
  /** Share of one core the worker used while working off the burst (%). */
  workerCpuPct: number;
  rssMB: number;
  baselineRssMB: number;
  /** (RSS − RSS before any symbol) ÷ symbols, kB. */
  rssKBPerSymbol: number;
  /** V8 heap used ÷ symbols after the burst minus before, kB. */
  heapKBPerSymbol: number;
  /** Symbols with a snapshot when memory was read. */
  snapshots: number;
}

export interface SymbolCostResult {
  tradesPerSymbol: number;
  minTrades: number;
  rows: SymbolCostRow[];
  workerEnv: WorkerEnvOverrides;
}

export const SYMBOLS_WORKER_ENV: WorkerEnvOverrides = { TICKWORK_GRACE_MS: '600000', TICKWORK_SHARD: '0/1' };

async function heapUsed(port: number | null): Promise<number> {
  if (port === null) return Number.NaN;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = /^tickwork_nodejs_heap_size_used_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

export async function runSymbolCostBench(opts: SymbolCostOptions): Promise<SymbolCostResult> {
  const rows: SymbolCostRow[] = [];
  for (const n of opts.symbolCounts) {
    await inScope('sym', async ({ nats, ns, redis, env }) => {
      const worker = spawnWorker(env, SYMBOLS_WORKER_ENV);
      try {
        await worker.ready;
        await sleep(500);
        const baseRss = worker.rss();
        const baseHeap = await heapUsed(worker.httpPort());
        const gen = new TradeGen(n);
        const perSymbol = Math.max(opts.tradesPerSymbol, Math.ceil(opts.minTrades / n));
        const spanMs = 30_000;
        const start = Date.now() - spanMs;
        const enc = new TextEncoder();
        const msgs: RawMessage[] = [];
        for (let k = 0; k < perSymbol; k++) {
          const ts = start + Math.floor((k * spanMs) / perSymbol);
          for (let s = 0; s < n; s++) {
            const { trade } = gen.trade(s, ts);
            msgs.push({ subject: ns.subject(tradeSubject(trade.venue, trade.symbol)), data: enc.encode(JSON.stringify(trade)), msgId: tradeMsgId(trade) });
          }
        }
        const cpu0 = worker.cpuSeconds();
        const t0 = preciseNow();
        await rawPublish(nats.nc, msgs);
        await waitUntil(
          'every trade applied',
          async () => ((await appliedTotals(redis, ns, 'binance', gen.symbols)).applied === msgs.length ? true : undefined),
          600_000,
          // The poll GETs and decodes every state in Redis: spaced with the symbol count so it does not crowd the worker's writes.
          Math.max(50, n / 10),
        );
        const secs = (preciseNow() - t0) / 1000;
        const cpu = worker.cpuSeconds() - cpu0;
        // Snapshots are spread over time: memory is read once they are all in, or after 2 minutes with what is there (counted).
        let snapshots = 0;
        await waitUntil(
          'a snapshot per symbol',
          async () => ((snapshots = (await redis.keys(ns.key('snap:*'))).length) === n ? true : undefined),
          120_000,
          1_000,
        ).catch(() => undefined);
        await sleep(1_000);
        const rss = worker.rss();
        const heap = await heapUsed(worker.httpPort());
        rows.push({
          symbols: n,
          trades: msgs.length,
          tradesPerSec: msgs.length / secs,
          workerCpuPct: (100 * cpu) / secs,
          rssMB: rss / 1e6,
          baselineRssMB: baseRss / 1e6,
          rssKBPerSymbol: (rss - baseRss) / n / 1e3,
          heapKBPerSymbol: (heap - baseHeap) / n / 1e3,
          snapshots,
        });
      } finally {
        await worker.kill();
      }
    });
  }
  return { tradesPerSymbol: opts.tradesPerSymbol, minTrades: opts.minTrades, rows, workerEnv: SYMBOLS_WORKER_ENV };
}
