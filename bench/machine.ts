import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { loadCoreConfig } from '../runtime/config.js';
import { connectNats } from '../runtime/nats/index.js';
import { connectPg } from '../runtime/pg.js';
import { connectRedis } from '../runtime/redis.js';
import { repoRoot } from './env.js';

export interface MachineInfo {
  cpu: string;
  cores: number;
  ramGiB: number;
  os: string;
  /** 1-minute load average when the bench started and ended (other work on the machine). */
  loadStart: number;
  loadEnd?: number;
}

export interface Versions {
  node: string;
  natsServer: string;
  redis: string;
  postgres: string;
  tickwork: string;
  commit: string;
  packages: Record<string, string>;
}

export function machineInfo(): MachineInfo {
  let osName = `${os.type()} ${os.release()}`;
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (pretty) osName = `${pretty[1]}, kernel ${os.release()}`;
  } catch {
    // not Linux: the os module's answer stands
  }
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: osName,
    loadStart: os.loadavg()[0]!,
  };
}

const PACKAGES = ['@nats-io/transport-node', '@nats-io/jetstream', 'ioredis', 'postgres', '@sinclair/typebox', 'nodejs-polars', '@resvg/resvg-js', 'tsx'];

function packageVersion(name: string): string {
  try {
    // Read from node_modules directly: packages with an `exports` map hide their package.json from resolve.
    return (JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** Versions of everything the figures depend on; a server that cannot be asked says so. */
export async function versions(): Promise<Versions> {
  const core = loadCoreConfig();
  const ask = async (what: () => Promise<string>): Promise<string> => {
    try {
      return await what();
    } catch (err) {
      return `unavailable (${(err as Error).message})`;
    }
  };
  const natsServer = await ask(async () => {
    const n = await connectNats(core.NATS_URL, 'bench-versions');
    const v = n.nc.info?.version ?? 'unknown';
    await n.nc.close();
    return v;
  });
  const redis = await ask(async () => {
    const r = connectRedis(core.REDIS_URL, 'bench-versions');
    try {
      return /redis_version:(\S+)/.exec(await r.info('server'))?.[1] ?? 'unknown';
    } finally {
      r.disconnect();
    }
  });
  const postgres = await ask(async () => {
    const sql = connectPg(core.DATABASE_URL, { max: 1 });
    try {
      const [row] = await sql<{ server_version: string }[]>`show server_version`;
      return row!.server_version;
    } finally {
      await sql.end({ timeout: 2 });
    }
  });
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    if (dirty) commit += ' (working tree modified)';
  } catch {
    // not a git checkout
  }
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return {
    node: process.version,
    natsServer,
    redis,
    postgres,
    tickwork: pkg.version,
    commit,
    packages: Object.fromEntries(PACKAGES.map((p) => [p, packageVersion(p)])),
  };
}
