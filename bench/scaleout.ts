/**
 * Scale-out (issue 11): 1, 2 and 4 `tickwork worker` processes in the worker group (no --shard:
 * leases on NATS KV, per-worker filtered consumers on NATS ≥ 2.10) on a private nats-server 2.10
 * (the system server is 2.9, where every worker reads all of MD_TRADES and skips the rest; the
 * section falls back to it, saying so, when no 2.10 binary can be had).
 *
 * Per group size: one trade per symbol makes the universe, the group settles (every symbol owned
 * and ready, every member seen by all, ownership unchanged over two polls), then `trades` are
 * published as fast as the raw publisher goes; throughput = trades ÷ (first publish → Σ
 * tradesApplied = trades), and each worker's delivered messages come from its
 * `tickwork_worker_delivered_total`. Takeover, in a 2-worker group at a steady rate: SIGKILL one
 * worker → every symbol it owned owned and ready (caught up) at the survivor, polled every 25 ms
 * on /v1/ownership; a replacement joins and the group settles before the next kill.
 */
import type { WorkerOwnership } from '../schemas/state.js';
import { groupBucket } from '../app/nats-auth.js';
import { inScope, spawnWorker, type BenchScope, type WorkerEnvOverrides, type WorkerProcess } from './env.js';
import { rawPublish } from './raw-publish.js';
import { startNats210 } from './nats-server.js';
import { pacedRaw, TradeGen } from './load.js';
import { appliedTotals } from './observe.js';
import { figure, preciseNow, waitUntil, type Figure } from './stats.js';

export interface ScaleOutOptions {
  workerCounts: number[];
  symbols: number;
  /** Trades published per group size and run. */
  trades: number;
  runs: number;
  takeoverRuns: number;
  /** Trades/s over the symbols during the takeover runs. */
  takeoverRate: number;
}

export interface ScaleOutRow {
  workers: number;
  throughput: Figure;
  /** Delivered messages per worker in the last run, ascending. */
  deliveredPerWorker: number[];
  /** Σ delivered ÷ trades published in the last run (1 = each message to one worker; N on 2.9). */
  deliveryFactor: number;
}

export interface ScaleOutResult {
  natsServer: string;
  /** true: per-worker filtered delivery (≥ 2.10); false: the 2.9 fallback. */
  filtered: boolean;
  /** Why the 2.10 server could not be had (absent when it could). */
  fallbackReason?: string;
  symbols: number;
  trades: number;
  rows: ScaleOutRow[];
  takeoverMs: Figure;
  /** Symbols the killed worker owned, per takeover run. */
  takenOver: number[];
  workerEnv: WorkerEnvOverrides;
}

/** Short leases so a takeover is measured in seconds (the default TTL is 10 s). */
export const SCALEOUT_WORKER_ENV: WorkerEnvOverrides = { TICKWORK_LEASE_TTL_MS: '3000', TICKWORK_GRACE_MS: '60000' };

async function getJson<T>(port: number | null, path: string): Promise<T | null> {
  if (!port) return null;
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? ((await res.json()) as T) : null;
  } catch {
    return null;
  }
}

async function delivered(w: WorkerProcess): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${w.httpPort()}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  let n = 0;
  for (const m of text.matchAll(/^tickwork_worker_delivered_total(?:\{[^}]*\})? (\d+(?:\.\d+)?(?:e\+\d+)?)$/gm)) n += Number(m[1]);
  return n;
}

const ownership = (w: WorkerProcess) => getJson<WorkerOwnership>(w.httpPort(), '/v1/ownership');

/** Group workers: the scope's env without any static shard. */
function groupEnv(scope: BenchScope): NodeJS.ProcessEnv {
  const env = { ...scope.env };
  delete env.TICKWORK_SHARD;
  return env;
}

/** Every symbol owned and ready, every member seen by all, ownership unchanged between two polls. */
async function settled(workers: WorkerProcess[], keys: string[], timeoutMs = 180_000): Promise<Map<string, string>> {
  let previous = '';
  return waitUntil(
    `a group of ${workers.length} settled over ${keys.length} symbols`,
    async () => {
      const views = await Promise.all(workers.map(ownership));
      const owner = new Map<string, string>();
      for (const v of views) for (const o of v?.owned ?? []) if (o.ready) owner.set(`${o.venue}.${o.symbol}`, v!.worker);
      const now = JSON.stringify([...owner].sort());
      const ok = keys.every((k) => owner.has(k)) && views.every((v) => v?.members.length === workers.length) && now === previous;
      previous = now;
      return ok ? owner : undefined;
    },
    timeoutMs,
    1_000,
  );
}

export async function runScaleOutBench(opts: ScaleOutOptions): Promise<ScaleOutResult> {
  let server: Awaited<ReturnType<typeof startNats210>> | null = null;
  let fallbackReason: string | undefined;
  try {
    server = await startNats210();
  } catch (err) {
    fallbackReason = (err as Error).message;
  }
  const rows: ScaleOutRow[] = [];
  const takeover: number[] = [];
  const takenOver: number[] = [];
  let natsServer = '';
  let filtered = false;
  try {
    await inScope(
      'sco',
      async (scope) => {
        const { nats, ns, redis } = scope;
        natsServer = nats.nc.info?.version ?? '?';
        filtered = server !== null;
        const env = groupEnv(scope);
        let first = 0;
        for (const count of opts.workerCounts) {
          const tput: number[] = [];
          let perWorker: number[] = [];
          let factor = 0;
          for (let r = 0; r < opts.runs; r++) {
            const gen = new TradeGen(opts.symbols, first);
            first += opts.symbols;
            const keys = gen.symbols.map((s) => `binance.${s}`);
            // Fresh symbols per run: the universe each group meets is new, as after a deploy.
            await rawPublish(nats.nc, gen.messages(ns, opts.symbols));
            const load = gen.messages(ns, opts.trades);
            const workers = Array.from({ length: count }, () => spawnWorker(env, SCALEOUT_WORKER_ENV));
            try {
              await Promise.all(workers.map((w) => w.ready));
              await settled(workers, keys);
              const before = await Promise.all(workers.map(delivered));
              const t0 = preciseNow();
              await rawPublish(nats.nc, load);
              const sent = load.length;
              await waitUntil(
                'every trade applied by the group',
                async () => {
                  const t = await appliedTotals(redis, ns, 'binance', gen.symbols);
                  if (t.applied > sent + opts.symbols) throw new Error(`scale-out bench: ${t.applied} applied of ${sent + opts.symbols} (applied twice)`);
                  return t.applied === sent + opts.symbols ? true : undefined;
                },
                300_000,
                20,
              );
              tput.push(sent / ((preciseNow() - t0) / 1000));
              const after = await Promise.all(workers.map(delivered));
              perWorker = after.map((a, i) => a - before[i]!).sort((a, b) => a - b);
              factor = perWorker.reduce((s, x) => s + x, 0) / sent;
            } finally {
              await Promise.all(workers.map((w) => w.stop()));
            }
          }
          rows.push({ workers: count, throughput: figure(tput), deliveredPerWorker: perWorker, deliveryFactor: factor });
        }

        // Takeover: 2 workers; each run kills the owner of some symbols and times their takeover.
        const gen = new TradeGen(opts.symbols, first);
        const keys = gen.symbols.map((s) => `binance.${s}`);
        await rawPublish(nats.nc, gen.messages(ns, opts.symbols));
        const workers = [spawnWorker(env, SCALEOUT_WORKER_ENV), spawnWorker(env, SCALEOUT_WORKER_ENV)];
        const all = [...workers];
        let stop = false;
        const publishing = pacedRaw(nats.nc, ns, gen, opts.takeoverRate, 3_600_000, { stop: () => stop });
        try {
          await Promise.all(workers.map((w) => w.ready));
          for (let r = 0; r < opts.takeoverRuns; r++) {
            const owner = await settled(workers, keys);
            const victim = workers[r % 2]!;
            const victimId = (await ownership(victim))!.worker;
            const theirs = keys.filter((k) => owner.get(k) === victimId);
            const survivor = workers[(r + 1) % 2]!;
            const killedAt = preciseNow();
            victim.child.kill('SIGKILL');
            let done = 0;
            await waitUntil(
              'the killed worker\'s symbols taken over',
              async () => {
                const v = await ownership(survivor);
                const ready = new Set((v?.owned ?? []).filter((o) => o.ready).map((o) => `${o.venue}.${o.symbol}`));
                if (theirs.every((k) => ready.has(k))) done = preciseNow();
                return done ? true : undefined;
              },
              120_000,
              25,
            );
            takeover.push(done - killedAt);
            takenOver.push(theirs.length);
            await victim.exited;
            const fresh = spawnWorker(env, SCALEOUT_WORKER_ENV);
            all.push(fresh);
            workers[r % 2] = fresh;
            await fresh.ready;
          }
        } finally {
          stop = true;
          await publishing.catch(() => undefined);
          await Promise.all(all.map((w) => w.stop()));
        }
        // The group's KV bucket is a stream outside the namespace's MD_* names.
        await nats.jsm.streams.delete(`KV_${groupBucket(ns)}`).catch(() => undefined);
      },
      server ? { natsUrl: server.url } : {},
    );
  } finally {
    await server?.close();
  }
  return {
    natsServer,
    filtered,
    ...(fallbackReason ? { fallbackReason } : {}),
    symbols: opts.symbols,
    trades: opts.trades,
    rows,
    takeoverMs: figure(takeover),
    takenOver,
    workerEnv: SCALEOUT_WORKER_ENV,
  };
}
