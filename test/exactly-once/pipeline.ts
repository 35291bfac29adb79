import { execFileSync } from 'node:child_process';
import { ensureMarketStreams, loadStreamsConfig } from '../../app/streams.js';
import { PipelinedPublisher } from '../../runtime/nats/index.js';
import { tradeSubject, STREAMS } from '../../schemas/subjects.js';
import { stateKey, type LiveState } from '../../schemas/state.js';
import { tradeMsgId, type Trade } from '../../schemas/trade.js';
import { repoRoot, spawnCli, type CliProcess, type Isolated } from '../harness.js';

/** Deterministic synthetic market: `n` trades over `symbols` symbols, numeric increasing ids per symbol. */
export function* syntheticTrades(n: number, symbols: number, seed = 7): Generator<Trade> {
  let s = seed >>> 0;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const prices = Array.from({ length: symbols }, (_, i) => 1_000_00 + i * 137_00); // cents
  const ids = Array.from({ length: symbols }, () => 1_000_000_000);
  const base = Date.UTC(2024, 0, 1);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(rnd() * symbols);
    prices[k] = Math.max(100, prices[k]! + Math.round((rnd() - 0.5) * 40));
    const cents = prices[k]!;
    const qty = (1 + Math.floor(rnd() * 2_000_000)) / 100_000;
    yield {
      venue: 'binance',
      symbol: `S${k}-USDT`,
      venueSymbol: `S${k}USDT`,
      id: String(++ids[k]!),
      price: `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}000000`,
      qty: qty.toFixed(5),
      side: rnd() < 0.5 ? 'buy' : 'sell',
      ts: base + i * 20,
      recvTs: base + i * 20 + 3,
    };
  }
}

/** Publishes trades as feeds do (subject, Nats-Msg-Id, pipelined, every one acknowledged). */
export async function publishTrades(iso: Isolated, trades: Iterable<Trade>): Promise<{ stored: number; duplicates: number }> {
  const nats = await iso.nats();
  await ensureMarketStreams(nats.jsm, iso.ns, loadStreamsConfig(iso.env));
  const pub = new PipelinedPublisher(nats, { maxInFlight: 4096 });
  let stored = 0;
  let duplicates = 0;
  let failed: unknown = null;
  for (const t of trades) {
    const r = await pub.publish(iso.ns.subject(tradeSubject(t.venue, t.symbol)), JSON.stringify(t), tradeMsgId(t));
    r.stored.then(
      (a) => (a.duplicate ? duplicates++ : stored++),
      (e: unknown) => (failed ??= e),
    );
  }
  await pub.flush();
  await new Promise((r) => setImmediate(r));
  if (failed) throw failed;
  return { stored, duplicates };
}

export const WORKER_ENV = {
  // Event time only: no wall-clock closes, so every run closes exactly the same candles.
  TICKWORK_GRACE_MS: String(1e12),
  TICKWORK_TIMEFRAMES: '1m,5m,1h',
  TICKWORK_SNAPSHOT_EVERY_TRADES: '2000',
  TICKWORK_SNAPSHOT_EVERY_MS: '300',
  // A SIGKILLed worker's symbols are taken over by its successor after the lease TTL.
  TICKWORK_LEASE_TTL_MS: '3000',
  LOG_LEVEL: 'info',
};

export function startWorker(iso: Isolated, extra: NodeJS.ProcessEnv = {}): CliProcess {
  return spawnCli(['worker'], { ...iso.env, ...WORKER_ENV, HTTP_PORT: '0', ...extra });
}

/** `tickwork migrate` (the schema owner's step the sink no longer does), then `tickwork sink`. */
export function startSink(iso: Isolated, extra: NodeJS.ProcessEnv = {}): CliProcess {
  const env = { ...iso.env, ...WORKER_ENV, HTTP_PORT: '0', ...extra };
  // migrate goes straight to the servers: execFileSync blocks this process, so a TcpProxy it runs
  // (the PostgreSQL-down test's) could not pass the connection on.
  execFileSync(process.execPath, ['bin/tickwork.js', 'migrate'], { cwd: repoRoot, env: { ...iso.env, ...WORKER_ENV }, stdio: 'pipe' });
  return spawnCli(['sink'], env);
}

/** Sum of tradesApplied over the given symbols' live states. */
/** Per symbol (in `symbols` order), the trades its live state says were applied (0 without a state). */
export async function appliedBySymbol(iso: Isolated, symbols: string[]): Promise<number[]> {
  const raws = await iso.redis().mget(...symbols.map((s) => iso.ns.key(stateKey('binance', s))));
  return raws.map((raw) => (raw ? (JSON.parse(raw) as LiveState).tradesApplied : 0));
}

export async function appliedSoFar(iso: Isolated, symbols: string[]): Promise<number> {
  return (await appliedBySymbol(iso, symbols)).reduce((n, k) => n + k, 0);
}

export async function waitFor(what: string, pred: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Waits until `measure()` reaches `target`, failing when it has not grown for `stallMs` (a liveness
 * bound that holds on a loaded machine, where the total time varies several-fold) or after
 * `maxMs` in all. The error names how far it got.
 */
export async function waitForCount(what: string, measure: () => Promise<number>, target: number, opts: { stallMs: number; maxMs: number }): Promise<void> {
  const start = Date.now();
  let best = -1;
  let grewAt = start;
  for (;;) {
    const n = await measure();
    if (n >= target) return;
    const now = Date.now();
    if (n > best) {
      best = n;
      grewAt = now;
    }
    if (now - grewAt > opts.stallMs) throw new Error(`timed out waiting for ${what}: ${n} of ${target}, no progress in ${opts.stallMs} ms`);
    if (now - start > opts.maxMs) throw new Error(`timed out waiting for ${what}: ${n} of ${target} after ${opts.maxMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Waits until the sink's durable consumer has written and acknowledged everything in MD_CANDLES. */
export async function sinkDrained(iso: Isolated): Promise<boolean> {
  const nats = await iso.nats();
  try {
    const info = await nats.jsm.consumers.info(iso.ns.stream(STREAMS.candles), iso.ns.name('pg_sink'));
    return info.num_pending === 0 && info.num_ack_pending === 0;
  } catch {
    return false;
  }
}

/** Final result of a run: every candle row in PostgreSQL and every live state (minus per-run fields). */
export async function finalResult(iso: Isolated, symbols: string[], opts: { ignoreSeq?: boolean } = {}): Promise<{ candles: string[]; states: unknown[] }> {
  const rows = await iso.sql().unsafe(
    `select venue, symbol, tf, (extract(epoch from open_time) * 1000)::bigint as open_ms, (extract(epoch from close_time) * 1000)::bigint as close_ms,
            open::text, high::text, low::text, close::text, volume::text, quote_volume::text, vwap::text, buy_volume::text,
            trades, first_trade_id, last_trade_id, closed
       from "${iso.ns.pgSchema}".candles order by venue, symbol, tf, open_time`,
  );
  const candles = rows.map((r) => Object.values(r).join('|'));
  const raws = await iso.redis().mget(...symbols.map((s) => iso.ns.key(stateKey('binance', s))));
  const states = raws.map((raw) => {
    if (!raw) return null;
    const { updatedAt: _u, worker: _w, lastSeq, ...rest } = JSON.parse(raw) as LiveState;
    return opts.ignoreSeq ? rest : { ...rest, lastSeq };
  });
  return { candles, states };
}

/** SIGKILLs the worker `kills` times at random moments, restarting it each time; returns the last incarnation. */
export async function killRepeatedly(iso: Isolated, kills: number, opts: { minMs: number; maxMs: number; rnd: () => number; extraEnv?: NodeJS.ProcessEnv; between?: (k: number) => Promise<void> }): Promise<CliProcess> {
  let worker = startWorker(iso, opts.extraEnv);
  for (let k = 0; k < kills; k++) {
    await new Promise((r) => setTimeout(r, opts.minMs + opts.rnd() * (opts.maxMs - opts.minMs)));
    worker.child.kill('SIGKILL');
    await worker.exited;
    await opts.between?.(k);
    worker = startWorker(iso, opts.extraEnv);
  }
  return worker;
}

/** Every symbol's snapshot holds its subject's last trade (a restart would read nothing again). */
export async function workerCaughtUp(iso: Isolated, symbols: string[]): Promise<boolean> {
  const nats = await iso.nats();
  const stream = iso.ns.stream(STREAMS.trades);
  const snaps = await iso.redis().mget(...symbols.map((s) => iso.ns.key(`snap:binance:${s}`)));
  for (let i = 0; i < symbols.length; i++) {
    const last = await nats.jsm.streams.getMessage(stream, { last_by_subj: iso.ns.subject(tradeSubject('binance', symbols[i]!)) });
    const snap = snaps[i] ? (JSON.parse(snaps[i]!) as { seq: number }) : null;
    if (last !== null && (snap === null || snap.seq < last.seq)) return false;
  }
  return true;
}
