import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isolated, repoRoot } from '../harness.js';
import { makeContext, parseDockerfile, replay, type StageResult } from './dockerfile.js';
import { freePort, waitForHttp } from './helpers.js';

/**
 * The Dockerfile's steps replayed on a clean copy of the repository (no Docker engine here):
 * `npm ci`, the build of dist/ and the dashboard, the production-only install, then the image's
 * entrypoint started as an unprivileged user until /readyz answers 200 against the real servers.
 */
const stages = parseDockerfile(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
const runtime = stages.at(-1)!;
const iso = isolated();
const work = mkdtempSync(join(tmpdir(), 'tickwork-image-'));
const children: { kill(sig: NodeJS.Signals): boolean }[] = [];

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  // Async: deleting two node_modules trees synchronously would stall the test worker's RPC.
  await rm(work, { recursive: true, force: true });
  await iso.cleanup();
});

// npm from the machine's cache where it can; the image's own ENV (NODE_ENV…) is the Dockerfile's.
const hostEnv: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  npm_config_prefer_offline: 'true',
  npm_config_update_notifier: 'false',
};

describe('Dockerfile (static)', () => {
  it('has a build stage and a runtime stage that runs compiled JavaScript as a non-root user', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages[0]!;
    const runs = (s: typeof build) => s.steps.filter((x) => x.op === 'RUN').map((x) => x.args);
    expect(runs(build).some((r) => /npm ci\b/.test(r) && !/--omit=dev/.test(r))).toBe(true);
    expect(runs(build).some((r) => /scripts\/build\.sh/.test(r) && /build:web/.test(r))).toBe(true);
    expect(runs(runtime).some((r) => /npm ci\b.*--omit=dev/.test(r))).toBe(true);
    const user = runtime.steps.filter((x) => x.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    const env = runtime.steps.filter((x) => x.op === 'ENV').map((x) => x.args).join(' ');
    expect(env).toMatch(/\bHTTP_HOST=0\.0\.0\.0\b/);
    expect(env).toMatch(/\bNODE_ENV=production\b/);
    const entry = runtime.steps.filter((x) => x.op === 'ENTRYPOINT').at(-1)?.args ?? '';
    expect(JSON.parse(entry)).toEqual(['node', 'dist/cli/main.js']);
    expect(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8')).not.toMatch(/\btsx\b/);
  });
});

describe('Dockerfile replay', () => {
  it('a failing step fails the replay, naming its line', async () => {
    const ctx = join(work, 'broken-context');
    const dir = join(work, 'broken');
    makeContextFrom(ctx, { 'package.json': '{}' });
    const bad = parseDockerfile('FROM node:20 AS a\nWORKDIR /app\nCOPY package.json ./\nRUN node -e "process.exit(3)"\n');
    await expect(replay(bad, { context: ctx, work: dir, hostEnv })).rejects.toThrow(/line 4 .*exit code 3/);
    const missing = parseDockerfile('FROM node:20 AS a\nWORKDIR /app\nCOPY nothing-here ./\n');
    await expect(replay(missing, { context: ctx, work: dir, hostEnv })).rejects.toThrow(/line 3 .*does not exist/);
  });

  it('installs, builds, and starts the image entrypoint until /readyz answers 200', { timeout: 900_000 }, async () => {
    const context = join(work, 'context');
    await makeContext(repoRoot, context);
    expect(existsSync(join(context, 'node_modules'))).toBe(false);
    const log: string[] = [];
    const done = await replay(stages, { context, work: join(work, 'stages'), hostEnv, log: (l) => log.push(l) });
    const image = done.get(runtime.name)!;
    const app = join(image.root, image.workdir);

    // Production dependencies only: no compiler, no bundler, no test runner in the image.
    for (const dev of ['tsx', 'typescript', 'vite', 'vitest', 'esbuild']) expect(existsSync(join(app, 'node_modules', dev)), dev).toBe(false);
    expect(existsSync(join(app, 'dist/cli/main.js'))).toBe(true);
    expect(existsSync(join(app, 'web/dist/index.html'))).toBe(true);

    // Every command loads with production dependencies (--help imports them all).
    const help = await start(image, ['--help'], {});
    expect(await help.exited, help.out()).toBe(0);
    for (const role of ['feed', 'worker', 'sink', 'spread', 'api', 'migrate']) expect(help.out()).toMatch(new RegExp(`^  ${role}\\b`, 'm'));

    const base = { NATS_URL: url('NATS_URL'), REDIS_URL: url('REDIS_URL'), DATABASE_URL: url('DATABASE_URL'), TICKWORK_NAMESPACE: iso.id, LOG_LEVEL: 'info' };
    const migrate = await start(image, ['migrate'], base);
    expect(await migrate.exited, migrate.out()).toBe(0);

    const port = await freePort();
    // Loopback in the test; the image's HTTP_HOST=0.0.0.0 is asserted above.
    const api = await start(image, ['api'], { ...base, HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1' });
    await waitForHttp(`http://127.0.0.1:${port}/readyz`, (status) => status === 200, 120_000).catch((err: Error) => {
      throw new Error(`${err.message}\napi output:\n${api.out().slice(-3000)}`);
    });
    api.kill('SIGTERM');
    expect(await api.exited).toBe(0);
  });
});

function url(name: 'NATS_URL' | 'REDIS_URL' | 'DATABASE_URL'): string {
  const defaults = { NATS_URL: 'nats://127.0.0.1:4222', REDIS_URL: 'redis://127.0.0.1:6379', DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres' };
  return process.env[name] ?? defaults[name];
}

function makeContextFrom(dir: string, files: Record<string, string>): void {
  rmSync(dir, { recursive: true, force: true });
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
}

interface Started {
  exited: Promise<number | string>;
  out(): string;
  kill(sig: NodeJS.Signals): boolean;
}

/** The image's ENTRYPOINT with `args` as CMD, its ENV plus `env`, as an unprivileged user when the test runs as root. */
async function start(image: StageResult, args: string[], env: Record<string, string>): Promise<Started> {
  const [cmd, ...entry] = image.entrypoint;
  const cwd = join(image.root, image.workdir);
  const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  if (asUser.uid !== undefined) chmodSync(work, 0o755);
  const child = spawn(cmd === 'node' ? process.execPath : cmd!, [...entry, ...args], {
    cwd,
    env: { PATH: process.env.PATH, ...image.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...asUser,
  });
  children.push(child);
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-20_000)));
  child.stderr.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-20_000)));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig ?? -1)));
  return { exited, out: () => out, kill: (sig) => child.kill(sig) };
}
