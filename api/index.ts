import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { ProcessContext } from '../runtime/process.js';
import { ArbitrageStore } from '../store/arbitrage.js';
import { CandleStore } from '../store/candles.js';
import { loadApiConfig, type ApiConfig } from './config.js';
import { DEFAULT_WEB_DIR, registerDashboard } from './dashboard.js';
import { restRoutes } from './http.js';
import { startQueryService } from './nats-service.js';
import { QueryService, type ArbitrageHistory, type CandleHistory } from './queries.js';
import { StreamHub } from './stream.js';

export { QueryService } from './queries.js';
export { StreamHub } from './stream.js';
export { ApiError } from './errors.js';
export { QUERY_SERVICE, QUERY_SUBJECTS } from './nats-service.js';

export interface ApiOptions {
  /** Overrides of the API_* environment (tests). */
  config?: Partial<ApiConfig>;
  /** Candle history; default the PostgreSQL CandleStore on ctx.sql. */
  history?: CandleHistory;
  /** Arbitrage history; default the PostgreSQL ArbitrageStore on ctx.sql. */
  arbitrage?: ArbitrageHistory;
}

export interface ApiHandle {
  queries: QueryService;
  hub: StreamHub;
  /** Whether web/dist held a built dashboard. */
  dashboard: boolean;
  /** Stops the NATS service and the WebSocket hub (the HTTP server closes with the process). */
  close(): Promise<void>;
}

/**
 * Adds the query service onto the process's Fastify instance (call before `ctx.listen()`):
 * `/v1/*` REST routes, `/v1/stream` WebSocket, `/openapi.json`, the dashboard at `/`, and the
 * NATS request/reply service. Needs ctx.nats, ctx.redis and ctx.sql.
 */
export async function registerApi(ctx: ProcessContext, opts: ApiOptions = {}): Promise<ApiHandle> {
  const { nats, redis, sql } = ctx;
  if (!nats || !redis || (!sql && !(opts.history && opts.arbitrage))) throw new Error('registerApi needs nats, redis and pg in startProcess({ needs })');
  const cfg: ApiConfig = { ...loadApiConfig(), ...opts.config };
  const log = ctx.log.child({ component: 'api' });
  const history = opts.history ?? new CandleStore(sql!, { schema: ctx.ns.pgSchema });
  const arbitrage = opts.arbitrage ?? new ArbitrageStore(sql!, { schema: ctx.ns.pgSchema });
  const queries = new QueryService(redis, ctx.ns, history, arbitrage, {
    candlesMaxLimit: cfg.API_CANDLES_MAX_LIMIT,
    candlesDefaultLimit: Math.min(cfg.API_CANDLES_DEFAULT_LIMIT, cfg.API_CANDLES_MAX_LIMIT),
    arbitrageDefaultLimit: Math.min(100, cfg.API_CANDLES_MAX_LIMIT),
  });
  const hub = new StreamHub(nats.nc, ctx.ns, {
    throttleMs: cfg.API_WS_THROTTLE_MS,
    maxBufferBytes: cfg.API_WS_MAX_BUFFER_BYTES,
    slowCloseMs: cfg.API_WS_SLOW_CLOSE_MS,
    maxSubscriptions: cfg.API_WS_MAX_SUBSCRIPTIONS,
    maxConnections: cfg.API_WS_MAX_CONNECTIONS,
  }, log);

  const app: FastifyInstance = ctx.http;
  await app.register(swagger, {
    openapi: {
      info: { title: 'tickwork query API', version: '1.0.0', description: 'Live state (Redis) and candle history (PostgreSQL)' },
    },
  });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  await app.register(
    async (v1) => {
      await v1.register(websocket, { options: { maxPayload: cfg.API_WS_MAX_PAYLOAD_BYTES } });
      await v1.register(restRoutes(queries, hub, cfg, log));
    },
    { prefix: '/v1' },
  );
  const { built } = await registerDashboard(app, cfg.API_WEB_DIR || DEFAULT_WEB_DIR);
  if (!built) log.warn('dashboard not built: run npm run build:web');
  const service = await startQueryService(nats.nc, ctx.ns, queries, log);
  // Before Fastify waits for open connections: a stalled WebSocket reader would hold it up.
  app.addHook('preClose', async () => {
    await hub.close();
  });

  return {
    queries,
    hub,
    dashboard: built,
    async close() {
      await hub.close();
      if (!service.isStopped) await service.stop();
    },
  };
}
