/**
 * Recovery: a `tickwork worker` owning 100 symbols consumes a steady stream; it is SIGKILLed
 * mid-stream and a new worker process is started at once (as a supervisor or Kubernetes would).
 * Recovery ends at the first moment the independent reader (StateWatcher) holds, for every symbol,
 * a live state written by the new worker whose `lastSeq` is at or past that symbol's last stream
 * sequence as of `slackMs` earlier (trades younger than that are in flight in any live system).
 * Afterwards every trade must have been applied exactly once (Σ tradesApplied = trades sent).
 */
import { inScope, spawnWorker, type WorkerEnvOverrides, type WorkerProcess } from './env.js';
import { pacedRaw, TradeGen } from './load.js';
import { appliedTotals, StateWatcher } from './observe.js';
import { figure, preciseNow, sleep, waitUntil, type Figure } from './stats.js';

export interface RecoveryBenchOptions {
  symbols?: number;
  rate: number;
  /** Steady consumption before the kill. */
  beforeKillMs: number;
  runs: number;
  slackMs?: number;
}

export interface RecoveryBenchResult {
  symbols: number;
  rate: number;
  slackMs: number;
  /** SIGKILL → every symbol caught up, ms. */
  recoveryMs: Figure;
  /** SIGKILL → the new worker consuming (process start, connections, consumer), ms. */
  restartMs: Figure;
  /** After every run, Σ tradesApplied equalled the trades sent: nothing lost or applied twice across the kill. */
  exactlyOnce: boolean;
  workerEnv: WorkerEnvOverrides;
}

/** One worker owning every symbol (static shard 0/1): no lease to wait for; the group is measured in the scale-out section. */
export const RECOVERY_WORKER_ENV: WorkerEnvOverrides = { TICKWORK_SHARD: '0/1' };

/** `worker` field of a live state: `<host>-<pid>-s<i>of<N>` (static shard) or `<host>-<pid>-<hex>` (group). */
const WORKER_PID = /"worker":"[^"]*-(\d+)-[^"-]+"/;

export async function runRecoveryBench(opts: RecoveryBenchOptions): Promise<RecoveryBenchResult> {
  const symbols = opts.symbols ?? 100;
  const slackMs = opts.slackMs ?? 100;
  const recovery: number[] = [];
  const restart: number[] = [];
  await inScope('rec', async (scope) => {
    const { nats, ns, redis } = scope;
    const conns = { sub: scope.redisConn('sub'), tracker: scope.redisConn('tracker'), reader: scope.redisConn('reader') };
    // Each run kills the worker the previous run started: runs + 1 processes in all.
    let current: WorkerProcess = spawnWorker(scope.env, RECOVERY_WORKER_ENV);
    const workers = [current];
    try {
      await current.ready;
      for (let r = 0; r < opts.runs; r++) {
        const gen = new TradeGen(symbols, r * symbols);
        // Per symbol, in publish order: when each trade was stamped and (once acked) its stream seq.
        const stamps: number[][] = gen.symbols.map(() => []);
        const seqs: number[][] = gen.symbols.map(() => []);
        const symOfTag: number[] = [];
        const idxOfTag: number[] = [];
        // Highest lastSeq the reader saw written by the new worker, per symbol.
        const seen = gen.symbols.map(() => -1);
        const headIdx = gen.symbols.map(() => -1);
        let newPid = -1;
        let killedAt = Infinity;
        let recoveredAt = 0;
        const caughtUp = (now: number): boolean => {
          const cutoff = now - slackMs;
          for (let s = 0; s < symbols; s++) {
            const st = stamps[s]!;
            let i = headIdx[s]!;
            while (i + 1 < st.length && st[i + 1]! <= cutoff) i++;
            headIdx[s] = i;
            if (i < 0) continue;
            const seq = seqs[s]![i];
            if (seq === undefined || seen[s]! < seq) return false;
          }
          return true;
        };
        const check = (now: number) => {
          if (recoveredAt === 0 && now > killedAt && caughtUp(now)) recoveredAt = now;
        };
        const watcher = await StateWatcher.start(conns, ns, 'binance', gen.symbols, (x) => {
          if (newPid < 0 || x.at <= killedAt) return;
          // Only states the new worker wrote count (not a late write of the killed one).
          if (Number(WORKER_PID.exec(x.raw)?.[1]) !== newPid) return;
          if (x.lastSeq > seen[x.s]!) seen[x.s] = x.lastSeq;
          check(x.at);
        });
        let stop = false;
        const publishing = pacedRaw(nats.nc, ns, gen, opts.rate, 600_000, {
          onSent: (t, tag) => {
            symOfTag[tag] = t.s;
            idxOfTag[tag] = stamps[t.s]!.push(t.stampedAt) - 1;
          },
          onAck: (tag, seq) => {
            seqs[symOfTag[tag]!]![idxOfTag[tag]!] = seq;
          },
          stop: () => stop,
        });
        try {
          await sleep(opts.beforeKillMs);
          const victim = current;
          killedAt = preciseNow();
          victim.child.kill('SIGKILL');
          current = spawnWorker(scope.env, RECOVERY_WORKER_ENV);
          workers.push(current);
          newPid = current.pid;
          await victim.exited;
          restart.push((await current.ready) - killedAt);
          const ticker = setInterval(() => check(preciseNow()), 5);
          try {
            await waitUntil('every symbol caught up', () => (recoveredAt > 0 ? true : undefined), 120_000, 10);
          } finally {
            clearInterval(ticker);
          }
          recovery.push(recoveredAt - killedAt);
        } finally {
          stop = true;
          await publishing.catch(() => undefined);
          await watcher.stop();
        }
        const sent = await publishing;
        await waitUntil(
          'every trade applied',
          async () => {
            const t = await appliedTotals(redis, ns, 'binance', gen.symbols);
            if (t.applied > sent) throw new Error(`recovery bench: ${t.applied} trades applied, ${sent} sent (applied twice)`);
            return t.applied === sent ? true : undefined;
          },
          60_000,
          100,
        );
      }
      await current.stop();
    } finally {
      for (const w of workers) await w.kill();
    }
  });
  return {
    symbols,
    rate: opts.rate,
    slackMs,
    recoveryMs: figure(recovery),
    restartMs: figure(restart),
    exactlyOnce: true,
    workerEnv: RECOVERY_WORKER_ENV,
  };
}
