import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectNats, type NatsHandles } from '../../runtime/nats/connection.js';
import { spawnCli } from '../harness.js';
import { startNatsServer, until, type NatsServerProcess } from '../support/nats-server.js';

/**
 * `tickwork nats-config --out F` end to end: the file it writes is a config nats-server accepts
 * (included from the main config), and each role's written credentials connect through
 * connectNats with that role's rights.
 */
const dir = mkdtempSync(join(tmpdir(), 'tickwork-nats-config-'));
const servers: NatsServerProcess[] = [];
const clients: NatsHandles[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.nc.close().catch(() => undefined)));
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

/** The KEY=value lines of a written `<role>.env`. */
const envFile = (path: string): Record<string, string> =>
  Object.fromEntries(
    readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

async function generate(auth: 'nkey' | 'password', namespace: string): Promise<string> {
  const out = join(dir, auth, 'auth.conf');
  const cli = spawnCli(['nats-config', '--namespace', namespace, '--auth', auth, '--url', 'nats://nats.example:4222', '--out', out], process.env);
  expect(await cli.exited, cli.output()).toBe(0);
  expect(cli.output()).toMatch(/wrote .*auth\.conf .* 8 role credentials/);
  return out;
}

/** The role's connection to `server`, from its credentials file (host swapped for the test server). */
async function connectAs(out: string, role: string, server: NatsServerProcess): Promise<NatsHandles> {
  const env = envFile(`${out}.credentials/${role}.env`);
  const url = new URL(env.NATS_URL!);
  url.host = `127.0.0.1:${server.port}`;
  const h = await connectNats(url.toString(), `cli-${role}`, undefined, { env });
  clients.push(h);
  return h;
}

async function denied(h: NatsHandles, subject: string): Promise<void> {
  const errors: string[] = [];
  (async () => {
    for await (const s of h.nc.status()) if (s.type === 'error') errors.push(String((s as { error?: Error }).error?.message));
  })().catch(() => undefined);
  h.nc.publish(subject, 'forged');
  await until(`a permissions violation for ${subject}`, () => errors.some((e) => e.includes('Permissions Violation') && e.includes(subject)), 5_000);
}

describe('tickwork nats-config (CLI → real nats-server)', () => {
  it.each(['nkey', 'password'] as const)('--auth %s: files only the owner reads; each role connects with its rights', async (auth) => {
    const namespace = `c${randomBytes(3).toString('hex')}`;
    const out = await generate(auth, namespace);
    expect(statSync(out).mode & 0o077).toBe(0);
    expect(statSync(`${out}.credentials/worker.env`).mode & 0o077).toBe(0);
    // nats-server resolves `include` relative to the including config's folder.
    const serverDir = join(dir, auth, 'server');
    const server = await startNatsServer({ dir: serverDir, config: `include ${JSON.stringify(relative(join(serverDir, 'n1'), out))}` });
    servers.push(server);

    const admin = await connectAs(out, 'admin', server);
    const trades = `${namespace.toUpperCase()}_MD_TRADES`;
    await admin.jsm.streams.add({ name: trades, subjects: [`${namespace}.md.trade.>`] });
    const feed = await connectAs(out, 'feed', server);
    expect((await feed.js.publish(`${namespace}.md.trade.binance.BTC-USDT`, '{}')).stream).toBe(trades);
    await denied(feed, `${namespace}.md.candle.1m.binance.BTC-USDT`);
    const worker = await connectAs(out, 'worker', server);
    await denied(worker, `${namespace}.md.trade.binance.BTC-USDT`);
    expect((await admin.jsm.streams.info(trades)).state.messages).toBe(1);
  });

  it('refuses a bad namespace with one line naming the flag', async () => {
    const cli = spawnCli(['nats-config', '--namespace', 'Bad-NS'], process.env);
    expect(await cli.exited).toBe(2);
    expect(cli.output().trim()).toMatch(/^tickwork: --namespace "Bad-NS": expected/);
  });
});
