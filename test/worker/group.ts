import { connect } from 'node:net';
import type { WorkerOwnership } from '../../schemas/state.js';
import { spawnCli, type CliProcess, type Isolated } from '../harness.js';
import { until } from '../support/nats-server.js';

/** A `tickwork worker` child process in the worker group and its HTTP port. */
export interface GroupWorker {
  cli: CliProcess;
  port: number;
}

/** Starts `tickwork worker` (no --shard: the group) and waits for its HTTP port. */
export async function startGroupWorker(iso: Isolated, env: NodeJS.ProcessEnv): Promise<GroupWorker> {
  const cli = spawnCli(['worker'], { ...iso.env, HTTP_PORT: '0', LOG_LEVEL: 'info', ...env });
  const line = await cli.waitFor(/http listening/, 60_000);
  const port = Number(/"port":(\d+)/.exec(line)?.[1]);
  if (!port) throw new Error(`no port in ${line}`);
  return { cli, port };
}

/** `GET /v1/ownership` of a worker; null when it does not answer (stopped, killed). */
export async function ownership(w: GroupWorker, timeoutMs = 1_000): Promise<WorkerOwnership | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${w.port}/v1/ownership`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok ? ((await res.json()) as WorkerOwnership) : null;
  } catch {
    return null;
  }
}

/** Waits until the workers between them own (and have caught up) every one of `keys` (`venue.SYMBOL`). */
export async function allOwned(workers: GroupWorker[], keys: string[], timeoutMs = 60_000): Promise<Map<string, { worker: string; token: number | null }>> {
  return until(
    `all ${keys.length} symbols owned and ready`,
    async () => {
      const map = new Map<string, { worker: string; token: number | null }>();
      for (const w of workers) {
        const v = await ownership(w);
        for (const o of v?.owned ?? []) if (o.ready) map.set(`${o.venue}.${o.symbol}`, { worker: v!.worker, token: o.token });
      }
      return keys.every((k) => map.has(k)) ? map : undefined;
    },
    timeoutMs,
    200,
  );
}

/** Commands Redis executed, as MONITOR reports them: client address and arguments. */
export interface MonitoredCommand {
  addr: string;
  args: string[];
}

/**
 * MONITOR on the test's Redis: every command from now on, with its client address. A raw socket,
 * not ioredis' monitor(): that one sets its monitoring status a tick after MONITOR's +OK, so on a
 * busy server the first monitored lines in the same packet fail with "Command queue state error".
 * Only lines containing `contains` (the test's key prefix) are kept: the server is shared.
 */
export async function monitorRedis(contains: string): Promise<{ commands: MonitoredCommand[]; stop(): Promise<void> }> {
  const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const socket = connect(Number(url.port || 6379), url.hostname);
  const commands: MonitoredCommand[] = [];
  let buf = '';
  let ok: () => void = () => undefined;
  const started = new Promise<void>((resolve, reject) => {
    ok = resolve;
    socket.once('error', reject);
  });
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buf += chunk;
    let at = 0;
    let nl: number;
    while ((nl = buf.indexOf('\r\n', at)) >= 0) {
      const line = buf.slice(at, nl);
      at = nl + 2;
      if (line === '+OK') ok();
      else if (line.startsWith('+') && line.includes(contains)) {
        const m = /^\+\d+\.\d+ \[\S+ ([^\]]+)\] (.*)$/.exec(line);
        if (m) commands.push({ addr: m[1]!, args: monitorArgs(m[2]!) });
      }
    }
    buf = buf.slice(at);
  });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write('MONITOR\r\n');
  await started;
  return {
    commands,
    async stop() {
      socket.destroy();
    },
  };
}

/** The quoted arguments of a MONITOR line (`"set" "k" "a\"b"`), escapes undone. */
export function monitorArgs(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '"') {
      i++;
      continue;
    }
    let s = '';
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') {
        const c = text[i + 1]!;
        if (c === 'x') {
          s += String.fromCharCode(parseInt(text.slice(i + 2, i + 4), 16));
          i += 4;
          continue;
        }
        s += ({ n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' } as Record<string, string>)[c] ?? c;
        i += 2;
        continue;
      }
      s += text[i++];
    }
    i++;
    out.push(s);
  }
  return out;
}

/** Client addresses (ip:port) of Redis connections whose name is `name`. */
export async function redisClientAddrs(iso: Isolated, name: string): Promise<string[]> {
  const list = (await iso.redis().client('LIST')) as string;
  return list
    .split('\n')
    .filter((l) => l.includes(` name=${name} `))
    .map((l) => /addr=(\S+)/.exec(l)![1]!);
}
