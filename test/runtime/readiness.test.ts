import { afterAll, describe, expect, it } from 'vitest';
import { startProcess, type ProcessContext } from '../../runtime/process.js';
import { TcpProxy } from '../tcp-proxy.js';
import { isolated } from '../harness.js';

// Real NATS, Redis and PostgreSQL behind TCP proxies the test can cut and restore.
describe('readiness against real NATS, Redis and PostgreSQL', () => {
  const iso = isolated();
  const urls = {
    NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  };
  const proxies = {
    nats: TcpProxy.forUrl(urls.NATS_URL, 4222),
    redis: TcpProxy.forUrl(urls.REDIS_URL, 6379),
    postgres: TcpProxy.forUrl(urls.DATABASE_URL, 5432),
  };
  let ctx: ProcessContext | null = null;
  let base = '';

  afterAll(async () => {
    await ctx?.lifecycle.shutdown();
    await Promise.all(Object.values(proxies).map((p) => p.cut()));
    await iso.cleanup();
  });

  const readyz = async () => {
    const res = await fetch(`${base}/readyz`);
    return { status: res.status, body: (await res.json()) as { failing: string[] } };
  };
  const until = async (pred: (r: Awaited<ReturnType<typeof readyz>>) => boolean, ms = 15_000) => {
    const deadline = Date.now() + ms;
    let last = await readyz();
    while (!pred(last) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      last = await readyz();
    }
    return last;
  };

  it('is green when all three answer, red naming the one that is cut, green again when it returns', async () => {
    for (const p of Object.values(proxies)) await p.start();
    ctx = await startProcess({
      role: 'readiness-test',
      needs: ['nats', 'redis', 'pg'],
      env: {
        ...iso.env,
        NATS_URL: proxies.nats.url(urls.NATS_URL),
        REDIS_URL: proxies.redis.url(urls.REDIS_URL),
        DATABASE_URL: proxies.postgres.url(urls.DATABASE_URL),
      },
      httpPort: 0,
      installSignalHandlers: false,
    });
    base = `http://127.0.0.1:${await ctx.listen()}`;

    const ok = await readyz();
    expect(ok.status).toBe(200);
    expect(ok.body.failing).toEqual([]);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    for (const name of ['redis', 'postgres', 'nats'] as const) {
      await proxies[name].cut();
      const red = await until((r) => r.status === 503);
      expect(red.status).toBe(503);
      expect(red.body.failing).toEqual([name]);
      await proxies[name].start();
      const green = await until((r) => r.status === 200, 30_000);
      expect(green.status, `${name} back: ${JSON.stringify(green.body)}`).toBe(200);
    }
  });

  it('serves Prometheus metrics with default process metrics', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^tickwork_process_resident_memory_bytes \d+/m);
  });
});
