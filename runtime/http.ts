import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from './logger.js';
import { registry } from './metrics.js';
import { withTimeout } from './redis.js';

/** A named readiness probe: resolves when the dependency answers, rejects with the reason otherwise. */
export interface ReadinessProbe {
  name: string;
  check: () => Promise<void>;
}

export interface HttpServerOptions {
  port: number;
  host?: string;
  log: Logger;
  probes: ReadinessProbe[];
  /** Extra readiness beyond dependencies, e.g. "feeds subscribed"; false → 503. */
  ready?: () => boolean;
}

/**
 * The one HTTP server of every tickwork process: `/metrics`, `/healthz`, `/readyz`. The API
 * registers its routes on the same instance, so `tickwork up` listens on one port.
 */
export function createHttpServer(opts: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: opts.log.child({ component: 'http' }),
    logController: new LogController({ disableRequestLogging: true }),
  });
  let shuttingDown = false;
  app.addHook('onClose', async () => {
    shuttingDown = true;
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const results = await Promise.all(
      opts.probes.map(async (p) => {
        try {
          await withTimeout(p.check(), 2000, `${p.name} did not answer within 2000 ms`);
          return { name: p.name, ok: true as const };
        } catch (err) {
          return { name: p.name, ok: false as const, error: (err as Error).message };
        }
      }),
    );
    const checks = Object.fromEntries(results.map((r) => [r.name, r.ok ? 'ok' : r.error]));
    const failing = results.filter((r) => !r.ok).map((r) => r.name);
    if (shuttingDown) failing.push('shutdown');
    if (opts.ready && !opts.ready()) failing.push('process');
    const ok = failing.length === 0;
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready', failing, checks });
  });

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', registry.contentType);
    return registry.metrics();
  });

  return app as unknown as FastifyInstance;
}

export async function listen(app: FastifyInstance, port: number, host = '0.0.0.0'): Promise<number> {
  await app.listen({ port, host });
  const addr = app.server.address();
  return typeof addr === 'object' && addr ? addr.port : port;
}
