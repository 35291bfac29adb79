import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Namespace } from '../runtime/namespace.js';
import { connectNats, type NatsHandles } from '../runtime/nats/index.js';
import { connectPg, type Sql } from '../runtime/pg.js';
import { connectRedis, type Redis } from '../runtime/redis.js';
import { track } from './support/children.js';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * Isolated real resources for one test file: a unique namespace (so stream names, subjects,
 * Redis keys and the PostgreSQL schema are private), connections to the real servers, and a
 * cleanup that deletes the namespace's streams, keys and schema.
 */
export interface Isolated {
  id: string;
  ns: Namespace;
  /** process.env plus TICKWORK_NAMESPACE, for child processes and startProcess(). */
  env: NodeJS.ProcessEnv;
  nats(): Promise<NatsHandles>;
  redis(): Redis;
  sql(): Sql;
  cleanup(): Promise<void>;
}

export function isolated(): Isolated {
  const id = `t${randomBytes(5).toString('hex')}`;
  const ns = new Namespace(id);
  const env = { ...process.env, TICKWORK_NAMESPACE: id, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' };
  let nats: Promise<NatsHandles> | null = null;
  let redis: Redis | null = null;
  let sql: Sql | null = null;
  const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  return {
    id,
    ns,
    env,
    nats: () => (nats ??= connectNats(natsUrl, `test-${id}`)),
    redis: () => (redis ??= connectRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', `test-${id}`)),
    sql: () => (sql ??= connectPg(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', { schema: ns.pgSchema, max: 4 })),
    async cleanup() {
      const n = nats ? await nats : await connectNats(natsUrl, `cleanup-${id}`);
      const prefix = ns.stream('');
      // The worker group's KV bucket too (KV_<ns>_tickwork_group).
      const kv = `KV_${ns.name('')}`;
      for await (const name of n.jsm.streams.names()) {
        if (name.startsWith(prefix) || name.startsWith(kv)) await n.jsm.streams.delete(name).catch(() => undefined);
      }
      await n.nc.close();
      const r = redis ?? connectRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', `cleanup-${id}`);
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${ns.key('')}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await r.del(...keys);
      } while (cursor !== '0');
      await r.quit();
      const s = sql ?? connectPg(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', { max: 1 });
      await s.unsafe(`drop schema if exists "${ns.pgSchema}" cascade`);
      await s.end({ timeout: 5 });
    },
  };
}

export interface CliProcess {
  child: ChildProcess;
  /** stdout + stderr collected so far. */
  output(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  /** Resolves when a line matching `re` appears in the output. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
}

/** Runs `tickwork <args>` as a child process, the way a user or a container does (`cwd`: another copy of the tree). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv, opts: { cwd?: string } = {}): CliProcess {
  const child = spawn(process.execPath, ['bin/tickwork.js', ...args], { cwd: opts.cwd ?? repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const onData = (buf: Buffer) => {
    out += buf.toString();
    for (const w of [...waiters]) {
      const line = out.split('\n').find((l) => w.re.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  // A failing test must not leave its worker or sink running after it (test/support/children.ts).
  track(child);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig ?? -1)));
  return {
    child,
    output: () => out,
    exited,
    waitFor(re, timeoutMs = 20_000) {
      const line = out.split('\n').find((l) => re.test(l));
      if (line !== undefined) return Promise.resolve(line);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${re} in output:\n${out.slice(-2000)}`)), timeoutMs);
        waiters.push({ re, resolve: (l) => (clearTimeout(t), resolve(l)) });
        exited.then(() => setTimeout(() => reject(new Error(`process exited before ${re}; output:\n${out.slice(-2000)}`)), 50));
      });
    },
  };
}
