/**
 * A private nats-server 2.10 for the benches that need it (per-worker filtered delivery), from
 * scripts/nats-server.sh, on a free port with its own JetStream store; removed on close. The
 * test suite has a fuller helper (test/support/nats-server.ts) that the built bench cannot import.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './env.js';
import { waitUntil } from './stats.js';

export interface BenchNatsServer {
  url: string;
  version: string;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Rejects with the script's own reason when no 2.10 binary can be had. */
export async function startNats210(): Promise<BenchNatsServer> {
  const bin = await new Promise<string>((resolve, reject) =>
    execFile('bash', [join(repoRoot, 'scripts/nats-server.sh'), '2.10'], { timeout: 300_000 }, (err, stdout, stderr) => {
      const path = stdout.trim().split('\n').pop() ?? '';
      if (!err && path) resolve(path);
      else reject(new Error(`nats-server 2.10 unavailable: ${stderr.trim().split('\n').pop() || (err?.message ?? 'no output')}`));
    }),
  );
  const dir = mkdtempSync(join(tmpdir(), 'tickwork-bench-nats-'));
  const port = await freePort();
  const child = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const collect = (b: Buffer) => (out = (out + b.toString()).slice(-20_000));
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil('nats-server 2.10 ready', () => {
      if (child.exitCode !== null) throw new Error(`nats-server 2.10 exited at start: ${out.slice(-1000)}`);
      return /Server is ready/.test(out) ? true : undefined;
    }, 30_000, 50);
  } catch (err) {
    await close();
    throw err;
  }
  const version = /Version:\s+(\S+)/.exec(out)?.[1] ?? '2.10';
  return { url: `nats://127.0.0.1:${port}`, version, close };
}
