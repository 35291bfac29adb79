import { afterAll, describe, expect, it } from 'vitest';
import { startProcess } from '../../runtime/process.js';
import { isolated, spawnCli } from '../harness.js';

const handleKinds = () =>
  process
    .getActiveResourcesInfo()
    .filter((k) => k !== 'Timeout' && k !== 'TTYWrap')
    .sort();

describe('graceful shutdown against real NATS, Redis and PostgreSQL', () => {
  const iso = isolated();
  afterAll(() => iso.cleanup());

  it('closes every connection and server it opened (no open handles left)', async () => {
    const before = handleKinds();
    const ctx = await startProcess({ role: 'shutdown-test', needs: ['nats', 'redis', 'pg'], env: iso.env, httpPort: 0, installSignalHandlers: false });
    await ctx.listen();
    await ctx.nats!.nc.flush();
    await ctx.redis!.ping();
    await ctx.sql!`select 1`;
    expect(handleKinds().length).toBeGreaterThan(before.length);
    await ctx.lifecycle.shutdown();
    // Sockets close on the next ticks after end/quit resolve.
    const deadline = Date.now() + 3000;
    while (handleKinds().length > before.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(handleKinds()).toEqual(before);
  });

  it('`tickwork up` exits 0 on SIGTERM within the shutdown bound', async () => {
    const cli = spawnCli(['up'], { ...iso.env, HTTP_PORT: '0', LOG_LEVEL: 'info', TICKWORK_SHUTDOWN_TIMEOUT_MS: '5000' });
    await cli.waitFor(/"msg":"tickwork up"/);
    const started = Date.now();
    cli.child.kill('SIGTERM');
    const code = await cli.exited;
    expect(code, cli.output()).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(cli.output()).toMatch(/"msg":"shutting down"/);
  });
});
