import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { track } from './children.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** `2.9`: the system's nats-server (Debian bookworm); `2.10`: fetched by scripts/nats-server.sh. */
export type NatsVersion = '2.9' | '2.10';

const binaries = new Map<NatsVersion, Promise<string>>();

/**
 * Path of a nats-server binary of that version. Rejects with the script's own one-line reason
 * when it cannot provide one, so a test that needs 2.10 fails saying why instead of skipping.
 */
export function natsBinary(version: NatsVersion): Promise<string> {
  let p = binaries.get(version);
  if (!p) {
    p = new Promise<string>((resolve, reject) => {
      const arg = version === '2.9' ? 'system' : '2.10';
      execFile('bash', [join(repoRoot, 'scripts/nats-server.sh'), arg], { timeout: 300_000 }, (err, stdout, stderr) => {
        const path = stdout.trim().split('\n').pop() ?? '';
        if (!err && path) return resolve(path);
        const reason = stderr.trim().split('\n').pop() || (err?.message ?? 'no output');
        reject(new Error(`nats-server ${version} unavailable: ${reason}`));
      });
    });
    binaries.set(version, p);
  }
  return p;
}

/**
 * A TCP port free right now on loopback, picked below the kernel's ephemeral range (Linux:
 * 32768–60999). A port the kernel hands out for `listen(0)` is also one it hands out as the
 * source port of outgoing connections, and nats-server nodes dialling each other's routes took
 * such a port between our release and the child's bind ("Error listening on router port …
 * address already in use"). Below the range only another listener can take it.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canListen(port)) return port;
  }
  throw new Error('no free TCP port in 20000–31999 on 127.0.0.1 after 50 tries');
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * Polls `check` until it returns a value other than undefined/false, or throws with `what` and
 * the last error `check` threw. An error `fatal` accepts is thrown at once.
 */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  everyMs = 100,
  fatal: (err: unknown) => boolean = () => false,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = undefined; // a stale error must not be reported as the reason for a later wait
    } catch (err) {
      if (fatal(err)) throw err;
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface NatsServerOptions {
  version?: NatsVersion;
  /** server_name; also the store sub-folder. */
  name?: string;
  /** Parent folder for the config, store and log (a fresh temp folder when absent). */
  dir?: string;
  /** Extra nats-server config text appended to the generated one (accounts, authorization, tls). */
  config?: string;
  /** Cluster block: the cluster name, this node's route port and every node's route port. */
  cluster?: { name: string; port: number; routes: number[] };
  jetstream?: boolean;
}

/**
 * One real nats-server process with its own ports, config and JetStream store. kill() and
 * restart() keep the ports and the store, as an operator restarting the same node would.
 */
export class NatsServerProcess {
  readonly name: string;
  readonly dir: string;
  readonly storeDir: string;
  readonly confFile: string;
  port = 0;
  monitorPort = 0;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private out = '';
  private isPaused = false;
  private readonly ownsDir: boolean;

  constructor(private readonly opts: NatsServerOptions = {}) {
    this.name = opts.name ?? 'n1';
    this.ownsDir = !opts.dir;
    this.dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tickwork-nats-'));
    this.storeDir = join(this.dir, this.name, 'store');
    this.confFile = join(this.dir, this.name, 'server.conf');
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** SIGSTOPped and not yet continued. */
  get paused(): boolean {
    return this.isPaused;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Server log so far (last 64 KiB). */
  log(): string {
    return this.out;
  }

  /** Starts the process (fresh ports on first start) and waits until it accepts clients. */
  async start(): Promise<void> {
    if (this.child) throw new Error(`nats-server ${this.name} is already running`);
    const bin = await natsBinary(this.opts.version ?? '2.9');
    if (!this.port) {
      this.port = await freePort();
      this.monitorPort = await freePort();
    }
    mkdirSync(this.storeDir, { recursive: true });
    writeFileSync(this.confFile, this.config());
    this.out = '';
    const child = spawn(bin, ['-c', this.confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    track(child);
    const onData = (b: Buffer) => {
      this.out = (this.out + b.toString()).slice(-65_536);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    // 'close', not 'exit': the last log lines (why it stopped) are read by then.
    this.exited = new Promise((resolve) =>
      child.once('close', () => {
        if (this.child === child) this.child = null;
        resolve();
      }),
    );
    let gone = false;
    void this.exited.then(() => (gone = true));
    try {
      await until(`nats-server ${this.name} on :${this.port} to be ready`, () => gone || /Server is ready/.test(this.out), 30_000, 50);
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    if (gone) throw new Error(`nats-server ${this.name} exited at start; log:\n${this.out.slice(-3000)}`);
  }

  /** Sends `signal` (default SIGKILL, as kill -9) and waits for the process to be gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    // A stopped process only acts on SIGTERM once continued; SIGKILL needs no help.
    if (this.isPaused && signal !== 'SIGKILL') child.kill('SIGCONT');
    this.isPaused = false;
    child.kill(signal);
    await this.exited;
  }

  /** kill -9 then start again with the same ports and store. */
  async restart(): Promise<void> {
    await this.kill('SIGKILL');
    await this.start();
  }

  /** SIGSTOP: the process stays, its sockets stay open, nothing answers (a frozen VM or GC pause). */
  pause(): void {
    if (!this.child) throw new Error(`nats-server ${this.name} is not running`);
    this.child.kill('SIGSTOP');
    this.isPaused = true;
  }

  resume(): void {
    this.child?.kill('SIGCONT');
    this.isPaused = false;
  }

  /** GET on the monitoring port, JSON-decoded; throws on a non-2xx answer with its body. */
  async monitor<T = Record<string, unknown>>(path: string): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.monitorPort}${path}`, { signal: AbortSignal.timeout(2000) });
    const body = await res.text();
    if (!res.ok) throw new Error(`${this.name} ${path}: ${res.status} ${body.trim()}`);
    return JSON.parse(body) as T;
  }

  /** Kills the process and, when the folder is its own, deletes config and store. */
  async close(): Promise<void> {
    await this.kill('SIGKILL');
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }

  private config(): string {
    const q = JSON.stringify;
    const lines = [
      `server_name: ${q(this.name)}`,
      `listen: ${q(`127.0.0.1:${this.port}`)}`,
      `http: ${q(`127.0.0.1:${this.monitorPort}`)}`,
    ];
    if (this.opts.jetstream ?? true) {
      // Explicit limits: the default reserves 75% of RAM and disk per server, and tests start many.
      lines.push(`jetstream: { store_dir: ${q(this.storeDir)}, max_memory_store: 268435456, max_file_store: 2147483648 }`);
    }
    const c = this.opts.cluster;
    if (c) {
      const routes = c.routes.filter((p) => p !== c.port).map((p) => q(`nats-route://127.0.0.1:${p}`));
      lines.push(`cluster: { name: ${q(c.name)}, listen: ${q(`127.0.0.1:${c.port}`)}, routes: [${routes.join(', ')}] }`);
    }
    if (this.opts.config) lines.push(this.opts.config);
    return `${lines.join('\n')}\n`;
  }
}

/** One standalone JetStream server, started. */
export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServerProcess> {
  const s = new NatsServerProcess(opts);
  try {
    await s.start();
  } catch (err) {
    await s.close();
    throw err;
  }
  return s;
}
