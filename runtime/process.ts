import type { FastifyInstance } from 'fastify';
import { loadCoreConfig, type CoreConfig } from './config.js';
import { createHttpServer, listen, type ReadinessProbe } from './http.js';
import { Lifecycle } from './lifecycle.js';
import { createLogger, type Logger } from './logger.js';
import { Namespace } from './namespace.js';
import { connectNats, natsReady, type NatsHandles } from './nats.js';
import { connectPg, pgReady, type Sql } from './pg.js';
import { connectRedis, redisReady, type Redis } from './redis.js';

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
  const log = opts.log ?? createLogger(config.LOG_LEVEL, { role: opts.role, ...(ns.id ? { ns: ns.id } : {}) });
  const lifecycle = new Lifecycle(log, config.TICKWORK_SHUTDOWN_TIMEOUT_MS);
  const probes: ReadinessProbe[] = [];
  const name = `tickwork-${opts.role}`;

  let nats: NatsHandles | null = null;
  let redis: Redis | null = null;
  let sql: Sql | null = null;
  try {
    if (opts.needs.includes('nats')) {
      const n = await connectNats(config.NATS_URL, name, log);
      nats = n;
      probes.push({ name: 'nats', check: () => natsReady(n.nc) });
    }
    if (opts.needs.includes('redis')) {
      const r = connectRedis(config.REDIS_URL, name);
      r.on('error', (err: Error) => log.debug({ err: err.message }, 'redis connection error'));
      redis = r;
      probes.push({ name: 'redis', check: () => redisReady(r) });
    }
    if (opts.needs.includes('pg')) {
      const s = connectPg(config.DATABASE_URL, { schema: ns.pgSchema, name });
      sql = s;
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
      const port = await listen(http, opts.httpPort ?? config.HTTP_PORT);
      log.info({ port }, 'http listening');
      return port;
    },
  };
}

async function closeAll(nats: NatsHandles | null, redis: Redis | null, sql: Sql | null): Promise<void> {
  await Promise.allSettled([nats?.nc.close(), redis?.quit(), sql?.end({ timeout: 1 })]);
}
