import type { FastifyInstance } from 'fastify';
import { loadCoreConfig, type CoreConfig } from './config.js';
import { ConfigError, ServiceUnavailableError } from './errors.js';
import { createHttpServer, listen, type ReadinessProbe } from './http.js';
import { Lifecycle } from './lifecycle.js';
import { createLogger, logFormat, type Logger } from './logger.js';
import { Namespace } from './namespace.js';
import { connectNats, natsReady, type NatsHandles } from './nats/index.js';
import type { Sql } from './pg.js';
import { connectRedis, redisReady, type Redis } from './redis.js';
import { loadTracingConfig, startTracing } from './tracing.js';

export type Dependency = 'nats' | 'redis' | 'pg';

/** Everything one tickwork process shares: config, logger, connections, HTTP server, lifecycle. */
export interface ProcessContext {
  role: string;
  config: CoreConfig;
  log: Logger;
  ns: Namespace;
  nats: NatsHandles | null;
  redis: Redis | null;
  sql: Sql | null;
  http: FastifyInstance;
  lifecycle: Lifecycle;
  /** Starts listening; call after every route is registered. Returns the bound port. */
  listen(): Promise<number>;
}

export interface StartProcessOptions {
  role: string;
  needs: Dependency[];
  env?: NodeJS.ProcessEnv;
  /** Override HTTP_PORT (tests pass 0). */
  httpPort?: number;
  installSignalHandlers?: boolean;
  log?: Logger;
}

/**
 * Bootstraps a process: validates env (throws ConfigError naming the variable), connects the
 * dependencies it needs, wires readiness probes and shutdown steps (connections close last).
 */
export async function startProcess(opts: StartProcessOptions): Promise<ProcessContext> {
  const config = loadCoreConfig(opts.env);
  const ns = new Namespace(config.TICKWORK_NAMESPACE);
  const log = opts.log ?? createLogger(config.LOG_LEVEL, { role: opts.role, ...(ns.id ? { ns: ns.id } : {}) }, {}, logFormat(config.LOG_FORMAT));
  const lifecycle = new Lifecycle(log, config.TICKWORK_SHUTDOWN_TIMEOUT_MS);
  const probes: ReadinessProbe[] = [];
  const name = `tickwork-${opts.role}`;
  // A bad OTEL_* value stops start-up here (ConfigError naming it); unset, nothing is loaded.
  const tracer = await startTracing(loadTracingConfig(opts.env), { service: name, log, ...(ns.id ? { resource: { 'tickwork.namespace': ns.id } } : {}) });
  // Last: spans of the actors' final work are exported before the process exits.
  if (tracer) lifecycle.onShutdown('connections', 'tracing', () => tracer.shutdown());

  let nats: NatsHandles | null = null;
  let redis: Redis | null = null;
  let sql: Sql | null = null;
  try {
    if (opts.needs.includes('nats')) {
      const n = await reachable('NATS_URL', config.NATS_URL, () => connectNats(config.NATS_URL, name, log));
      nats = n;
      probes.push({ name: 'nats', check: () => natsReady(n.nc) });
    }
    if (opts.needs.includes('redis')) {
      const r = connectRedis(config.REDIS_URL, name);
      let lastError: Error | undefined;
      r.on('error', (err: Error) => {
        lastError = err;
        log.debug({ err: err.message }, 'redis connection error');
      });
      redis = r;
      // One answer at start-up: a process without its Redis says so once and stops, naming REDIS_URL.
      await reachable('REDIS_URL', config.REDIS_URL, () => redisReady(r, STARTUP_TIMEOUT_MS), () => lastError);
      probes.push({ name: 'redis', check: () => redisReady(r) });
    }
    if (opts.needs.includes('pg')) {
      // Loaded by the roles that use PostgreSQL only: the others (the worker) do not carry the driver.
      const { connectPg, pgReady } = await import('./pg.js');
      const s = connectPg(config.DATABASE_URL, { schema: ns.pgSchema, name });
      sql = s;
      await reachable('DATABASE_URL', config.DATABASE_URL, () => pgReady(s, STARTUP_TIMEOUT_MS));
      probes.push({ name: 'postgres', check: () => pgReady(s) });
    }
  } catch (err) {
    await closeAll(nats, redis, sql);
    throw err;
  }

  const http = createHttpServer({ port: config.HTTP_PORT, log, probes, ready: () => !lifecycle.isStopping });
  lifecycle.onShutdown('intake', 'http', () => http.close());
  lifecycle.onShutdown('connections', 'nats', async () => {
    if (nats && !nats.nc.isClosed()) await nats.nc.drain();
  });
  lifecycle.onShutdown('connections', 'redis', async () => {
    if (redis) await redis.quit().catch(() => redis?.disconnect());
  });
  lifecycle.onShutdown('connections', 'postgres', async () => {
    if (sql) await sql.end({ timeout: 5 });
  });
  if (opts.installSignalHandlers ?? true) lifecycle.installSignalHandlers();

  return {
    role: opts.role,
    config,
    log,
    ns,
    nats,
    redis,
    sql,
    http,
    lifecycle,
    listen: async () => {
      const port = await listen(http, opts.httpPort ?? config.HTTP_PORT, config.HTTP_HOST);
      log.info({ port, host: config.HTTP_HOST }, 'http listening');
      return port;
    },
  };
}

/** How long a dependency may take to answer at start-up. */
const STARTUP_TIMEOUT_MS = 10_000;

/**
 * Runs a dependency's first contact; a failure becomes one line naming the variable and the
 * server (`REDIS_URL redis://127.0.0.1:6379: connection refused`), credentials left out.
 */
async function reachable<T>(variable: string, url: string, first: () => Promise<T>, cause?: () => Error | undefined): Promise<T> {
  try {
    return await first();
  } catch (err) {
    if (err instanceof ServiceUnavailableError || err instanceof ConfigError) throw err;
    const why = cause?.() ?? (err as Error);
    throw new ServiceUnavailableError(variable, withoutCredentials(url), why.message, { cause: err });
  }
}

/** `postgres://user:secret@db:5432/x` → `postgres://db:5432/x`. */
function withoutCredentials(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}

async function closeAll(nats: NatsHandles | null, redis: Redis | null, sql: Sql | null): Promise<void> {
  await Promise.allSettled([nats?.nc.close(), redis?.quit(), sql?.end({ timeout: 1 })]);
}
