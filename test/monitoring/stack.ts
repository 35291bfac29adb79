import { spawnCli, type CliProcess, type Isolated } from '../harness.js';
import { freePort, waitForHttp } from '../deploy/helpers.js';

/**
 * tickwork as separate processes, as a deployment runs it: a Binance simulator, one feed, one
 * worker (group member: no --shard), the sink and the API, each on its own free HTTP port, in
 * the test's namespace on the machine's NATS/Redis/PostgreSQL.
 */
export type Role = 'feed' | 'worker' | 'sink' | 'api';

export interface Stack {
  /** HTTP port of each role (stable across restarts, so Prometheus' targets stay the same). */
  ports: Record<Role, number>;
  controlUrl: string;
  procs: Partial<Record<Role | 'simulate', CliProcess>>;
  start(role: Role): Promise<CliProcess>;
  stop(role: Role, signal?: NodeJS.Signals): Promise<void>;
  /** The simulator's /__sim misbehaviour endpoint. */
  misbehave(body: object): Promise<void>;
  close(): Promise<void>;
}

const ARGS: Record<Role, string[]> = {
  feed: ['feed', '--venue', 'binance', '--symbols', 'BTC-USDT,ETH-USDT'],
  worker: ['worker'],
  sink: ['sink'],
  api: ['api'],
};

export async function startStack(iso: Isolated, extraEnv: Record<string, string> = {}): Promise<Stack> {
  const env = { ...iso.env, LOG_LEVEL: 'info', LOG_FORMAT: 'json', ...extraEnv };
  const sim = spawnCli(['simulate', '--venue', 'binance', '--symbols', 'BTC-USDT,ETH-USDT', '--rate', '50', '--seed', '7'], env);
  const ready = JSON.parse(await sim.waitFor(/simulate\.ready/, 60_000)) as { wsUrl: string; restUrl: string; controlUrl: string };
  const migrate = spawnCli(['migrate'], env);
  const code = await migrate.exited;
  if (code !== 0) throw new Error(`migrate exited ${code}: ${migrate.output().slice(-2000)}`);

  const ports = { feed: await freePort(), worker: await freePort(), sink: await freePort(), api: await freePort() };
  const procs: Stack['procs'] = { simulate: sim };
  const roleEnv = (role: Role) => ({ ...env, HTTP_PORT: String(ports[role]), HTTP_HOST: '127.0.0.1', BINANCE_WS_URL: ready.wsUrl, BINANCE_REST_URL: ready.restUrl });

  const stack: Stack = {
    ports,
    controlUrl: ready.controlUrl,
    procs,
    async start(role) {
      const p = spawnCli(ARGS[role], roleEnv(role));
      procs[role] = p;
      await Promise.race([
        waitForHttp(`http://127.0.0.1:${ports[role]}/healthz`, (s) => s === 200, 120_000),
        p.exited.then((c) => {
          throw new Error(`${role} exited ${c} while starting:\n${p.output().slice(-2000)}`);
        }),
      ]);
      return p;
    },
    async stop(role, signal = 'SIGTERM') {
      const p = procs[role];
      if (!p) return;
      p.child.kill(signal);
      await p.exited;
      delete procs[role];
    },
    async misbehave(body) {
      const res = await fetch(`${ready.controlUrl}/misbehave`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`simulator misbehave ${JSON.stringify(body)}: ${res.status} ${await res.text()}`);
    },
    async close() {
      for (const p of Object.values(procs)) p.child.kill('SIGKILL');
      await Promise.all(Object.values(procs).map((p) => p.exited));
    },
  };
  for (const role of ['worker', 'sink', 'api', 'feed'] as const) await stack.start(role);
  return stack;
}
