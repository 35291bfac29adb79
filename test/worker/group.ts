import type { WorkerOwnership } from '../../schemas/state.js';
import { spawnCli, type CliProcess, type Isolated } from '../harness.js';
import { until } from '../support/nats-server.js';

export { monitorRedis, type MonitoredCommand } from '../support/redis-monitor.js';

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

/** Client addresses (ip:port) of Redis connections whose name is `name`. */
export async function redisClientAddrs(iso: Isolated, name: string): Promise<string[]> {
  const list = (await iso.redis().client('LIST')) as string;
  return list
    .split('\n')
    .filter((l) => l.includes(` name=${name} `))
    .map((l) => /addr=(\S+)/.exec(l)![1]!);
}
