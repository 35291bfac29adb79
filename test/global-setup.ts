import { execFileSync } from 'node:child_process';
import { createConnection } from 'node:net';

/**
 * Before any test file: make sure NATS/Redis/PostgreSQL answer (scripts/services.sh starts or
 * installs them); when only a Docker engine can provide them, start Testcontainers and point
 * the env vars at them. Workers inherit process.env from here.
 */
export default async function setup(): Promise<(() => Promise<void>) | void> {
  // Tests spawn `bin/tickwork.js`, which runs dist/: rebuild it when a source is newer.
  execFileSync('sh', ['scripts/build.sh', '--if-stale'], { stdio: 'inherit' });
  const urls = {
    NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  };
  const down = await unreachable(urls);
  if (down.length === 0) return;
  try {
    execFileSync('bash', ['scripts/services.sh', 'ensure', '--for', 'test'], { stdio: 'inherit' });
    return;
  } catch (err) {
    if ((err as { status?: number }).status !== 3) throw new Error(`test services unavailable: ${down.join(', ')}`);
  }
  return startContainers();
}

async function unreachable(urls: Record<string, string>): Promise<string[]> {
  const checks = await Promise.all(
    Object.entries(urls).map(async ([k, v]) => ((await reachable(new URL(v))) ? null : k)),
  );
  return checks.filter((x): x is string => x !== null);
}

function reachable(u: URL): Promise<boolean> {
  const port = Number(u.port) || ({ 'nats:': 4222, 'redis:': 6379 } as Record<string, number>)[u.protocol] || 5432;
  return new Promise((resolve) => {
    const s = createConnection({ host: u.hostname, port, timeout: 1000 });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
  });
}

/** Laptop fallback with a Docker engine and no local servers. */
async function startContainers(): Promise<() => Promise<void>> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const [nats, redis, pg] = await Promise.all([
    new GenericContainer('nats:2.10').withCommand(['-js']).withExposedPorts(4222).start(),
    new GenericContainer('redis:7').withExposedPorts(6379).start(),
    new GenericContainer('postgres:15')
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/ready to accept connections/, 2))
      .start(),
  ]);
  process.env.NATS_URL = `nats://${nats.getHost()}:${nats.getMappedPort(4222)}`;
  process.env.REDIS_URL = `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`;
  process.env.DATABASE_URL = `postgres://postgres@${pg.getHost()}:${pg.getMappedPort(5432)}/postgres`;
  return async () => {
    await Promise.all([nats.stop(), redis.stop(), pg.stop()]);
  };
}
