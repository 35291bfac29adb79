import type { WindowTrade } from '../actors/windows/index.js';
import { timeframes, type WorkerConfig } from '../actors/symbol/config.js';
import type { ProcessContext } from '../runtime/process.js';
import { pastTrades, type PastTrade } from '../simulate/history.js';
import type { SyntheticOptions } from '../simulate/index.js';
import { CandleStore, type StoreSettings } from '../store/candles.js';
import { backfillSymbol } from './backfill.js';

/** One demo venue's simulator market, as started. */
export interface DemoMarket {
  venue: string;
  synthetic: SyntheticOptions;
}

const MIN = 60_000;
const HOUR = 60 * MIN;
/**
 * A day before the live start. 0.5 trades/s per venue gives the busiest symbol ~15 trades a
 * minute (full 1m candles) and the whole demo ~200,000 trades: seconds of work, not minutes.
 */
export const DEMO_HISTORY = { spanMs: 24 * HOUR, tradesPerSec: 0.5 };
const PAGE = 5_000;

/**
 * The first `up --demo` opens with history: each venue's past day from the same market model as
 * its simulator (the fair price is a function of time, so the day ends where live begins), through
 * `tickwork backfill`'s path: the live path's window kernel, bars before the live path's first bar,
 * bulk-written to PostgreSQL. From 1m up: a day of 1s bars would be 86,400 rows per symbol for a
 * chart that shows the last minutes, which live fills. Pairs that already have candles (a demo
 * started before) are left as they are.
 *
 * Runs beside live (start-up does not wait; the dashboard refetches a young chart) and shutdown
 * waits for it; a failure is logged, the demo goes on with live candles only.
 */
export function startDemoHistory(
  ctx: ProcessContext,
  markets: readonly DemoMarket[],
  liveFrom: number,
  cfg: { worker: WorkerConfig; store: StoreSettings },
): Promise<DemoHistoryResult | null> {
  const log = ctx.log.child({ component: 'demo-history' });
  const done = writeHistory(ctx, markets, liveFrom, cfg).then(
    (r) => {
      if (r.symbols > 0) log.info(r, 'demo history: a synthetic day of candles written');
      return r;
    },
    (err: unknown) => {
      if (!ctx.lifecycle.isStopping) log.warn({ err }, 'demo history failed; the charts start with live data');
      return null;
    },
  );
  ctx.lifecycle.onShutdown('intake', 'demo history', () => done.then(() => undefined));
  return done;
}

export interface DemoHistoryResult {
  symbols: number;
  trades: number;
  ms: number;
}

async function writeHistory(
  ctx: ProcessContext,
  markets: readonly DemoMarket[],
  liveFrom: number,
  cfg: { worker: WorkerConfig; store: StoreSettings },
): Promise<DemoHistoryResult> {
  const started = Date.now();
  const store = new CandleStore(ctx.sql!, { schema: ctx.ns.pgSchema, storedTfs: cfg.store.storedTfs });
  // A 1m candle before live began means an earlier demo ran: its candles stay as they are.
  const before = { tf: '1m' as const, from: liveFrom - DEMO_HISTORY.spanMs, to: liveFrom - 2 * MIN, limit: 1 };
  const ranBefore = async (venue: string, symbol: string) => (await store.query({ venue, symbol, ...before })).length > 0;
  const tfs = timeframes(cfg.worker).filter((tf) => tf !== '1s');
  const workerCfg: WorkerConfig = { ...cfg.worker, TICKWORK_TIMEFRAMES: tfs.join(',') };
  const range = { fromMs: liveFrom - DEMO_HISTORY.spanMs, toMs: liveFrom, tradesPerSec: DEMO_HISTORY.tradesPerSec };
  let symbols = 0;
  let trades = 0;
  for (const m of markets) {
    const wanted: string[] = [];
    for (const s of m.synthetic.symbols) if (!(await ranBefore(m.venue, s))) wanted.push(s);
    if (wanted.length === 0 || tfs.length === 0 || ctx.lifecycle.isStopping) continue;
    for (const { spec, trades: past } of pastTrades({ ...m.synthetic, symbols: wanted }, range)) {
      if (ctx.lifecycle.isStopping) break;
      await backfillSymbol(ctx, {
        venue: m.venue,
        symbol: spec.symbol,
        from: range.fromMs,
        to: range.toMs,
        source: 'demo',
        store: cfg.store,
        workerCfg,
        pages: pages(past),
      });
      symbols++;
      trades += past.length;
    }
  }
  return { symbols, trades, ms: Date.now() - started };
}

async function* pages(trades: readonly PastTrade[]): AsyncGenerator<readonly WindowTrade[]> {
  for (let i = 0; i < trades.length; i += PAGE) yield trades.slice(i, i + PAGE);
}
