import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ensureMarketStreams, StreamsEnv } from '../app/streams.js';
import { loadCoreConfig, loadEnv } from '../runtime/config.js';
import { Namespace } from '../runtime/namespace.js';
import { connectNats, type NatsHandles } from '../runtime/nats/index.js';
import { connectRedis, type Redis } from '../runtime/redis.js';
import { TIMEFRAMES } from '../schemas/common.js';

/** The checkout, whether the bench runs from sources or from the build (dist/bench/). */
export const repoRoot = fileURLToPath(new URL('..', import.meta.url)).replace(/\/dist\/?$/, '/');

/** Worker settings a bench may override; the report prints them next to its figures. */
export type WorkerEnvOverrides = Record<string, string>;

/**
 * One bench's private slice of the shared servers: a fresh namespace (streams, subjects and Redis
 * keys prefixed), its connections, and a cleanup that deletes every stream and key it made.
 */
export interface BenchScope {
  ns: Namespace;
  /** process.env + TICKWORK_NAMESPACE, for child processes. */
  env: NodeJS.ProcessEnv;
  nats: NatsHandles;
  redis: Redis;
  /** A second Redis connection for readers that must not queue behind the bench's own commands. */
  redisConn(name: string): Redis;
  cleanup(): Promise<void>;
}

export async function openScope(tag: string, opts: { streams?: boolean; natsUrl?: string } = {}): Promise<BenchScope> {
  const core = loadCoreConfig();
  const id = `b${tag.replace(/[^a-z0-9]/g, '').slice(0, 12)}${randomBytes(4).toString('hex')}`;
  const ns = new Namespace(id);
  const natsUrl = opts.natsUrl ?? core.NATS_URL;
  const nats = await connectNats(natsUrl, `bench-${id}`);
  const redis = connectRedis(core.REDIS_URL, `bench-${id}`);
  const extra: Redis[] = [];
  // File-backed streams whatever the caller's environment says: the ceiling is about the disk path feeds use.
  const streams = { ...loadEnv(StreamsEnv), TICKWORK_STREAM_STORAGE: 'file' as const };
  if (opts.streams ?? true) await ensureMarketStreams(nats.jsm, ns, streams);
  // Workers keep every timeframe and the default VWAP windows whatever the caller's environment says.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TICKWORK_NAMESPACE: id,
    NATS_URL: natsUrl,
    TICKWORK_STREAM_STORAGE: 'file',
    TICKWORK_TIMEFRAMES: TIMEFRAMES.join(','),
    TICKWORK_VWAP_WINDOWS: '1m,5m,15m',
    HTTP_PORT: '0',
    LOG_LEVEL: 'info',
  };
  return {
    ns,
    env,
    nats,
    redis,
    redisConn(name) {
      const r = connectRedis(core.REDIS_URL, `bench-${id}-${name}`);
      extra.push(r);
      return r;
    },
    async cleanup() {
      for (const r of extra) r.disconnect();
      const prefix = ns.stream('');
      for await (const name of nats.jsm.streams.names()) {
        if (name.startsWith(prefix)) await nats.jsm.streams.delete(name).catch(() => undefined);
      }
      await nats.nc.close();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${ns.key('')}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
      await redis.quit();
    },
  };
}

/** Runs `fn` in a fresh scope and always cleans up. */
export async function inScope<T>(tag: string, fn: (s: BenchScope) => Promise<T>, opts?: { streams?: boolean; natsUrl?: string }): Promise<T> {
  const scope = await openScope(tag, opts);
  try {
    return await fn(scope);
  } finally {
    await scope.cleanup();
  }
}

/** A `tickwork worker` child process, as a deployment runs it (its own CPU, heap and event loop). */
export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Resolves once the worker consumes MD_TRADES, with the time (ms) the worker logged it. */
  ready: Promise<number>;
  exited: Promise<number | string>;
  output(): string;
  /** The port its HTTP server (/metrics) listens on, from its log. */
  httpPort(): number | null;
  /** Resident set size from /proc, bytes. */
  rss(): number;
  /** CPU time (user + system, all threads) used so far, seconds, from /proc. */
  cpuSeconds(): number;
  /** SIGTERM and wait (graceful drain; writes a CPU profile when profiling). */
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/** USER_HZ: the unit of /proc CPU times (100 on Linux everywhere in practice). */
const CLOCK_TICKS = 100;

/** `script`: what node runs (default the worker; the latency floor's relay logs the same ready line). */
export function spawnWorker(env: NodeJS.ProcessEnv, overrides: WorkerEnvOverrides = {}, profileDir?: string, script: string[] = ['bin/tickwork.js', 'worker']): WorkerProcess {
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...nodeArgs, ...script], {
    cwd: repoRoot,
    env: { ...env, ...overrides },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let partial = '';
  let port: number | null = null;
  let onReady: ((time: number) => void) | null = null;
  const timeOf = (rec: { time?: string | number }) => (typeof rec.time === 'string' ? Date.parse(rec.time) : (rec.time ?? Date.now()));
  const collect = (buf: Buffer) => {
    const text = buf.toString();
    // Keep the tail only: a long run must not grow the bench's own memory.
    out = (out + text).slice(-20_000);
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      if (line.includes('"http listening"')) port = (JSON.parse(line) as { port?: number }).port ?? null;
      // Logged once the worker reads MD_TRADES (static shard or group member alike).
      if (line.includes('"symbol worker started"')) onReady?.(timeOf(JSON.parse(line) as { time?: string }));
    }
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig ?? -1)));
  const ready = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker not ready after 60 s:\n${out.slice(-2000)}`)), 60_000);
    onReady = (time) => {
      clearTimeout(timer);
      onReady = null;
      resolve(time);
    };
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${code}) before it was ready:\n${out.slice(-2000)}`));
    });
  });
  ready.catch(() => undefined);
  return {
    child,
    pid: child.pid!,
    ready,
    exited,
    output: () => out,
    httpPort: () => port,
    rss: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = /VmRSS:\s+(\d+) kB/.exec(status);
      if (!kb) throw new Error('no VmRSS in /proc status');
      return Number(kb[1]) * 1024;
    },
    cpuSeconds: () => {
      // /proc/<pid>/stat: fields after the parenthesized command; utime and stime are the 14th and 15th.
      const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(t);
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
