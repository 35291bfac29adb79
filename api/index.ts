import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { ProcessContext } from '../runtime/process.js';
import { TickworkError } from '../runtime/errors.js';
import { LiveStateStore } from '../store/live-state.js';
import { HealthResponse, ReadyResponse } from '../schemas/api.js';
import { wsBufferBytes, type ApiConfig } from './config.js';
import { DEFAULT_WEB_DIR, registerDashboard } from './dashboard.js';
import { restRoutes, STREAM_DOC } from './http.js';
import { startQueryService } from './nats-service.js';
import { QueryService, type ArbitrageHistory, type CandleHistory } from './queries.js';
import { RecentCandles } from './recent-candles.js';
import { BookChannel } from './books.js';
import { DerivChannel, DerivReader, type FundingHistory } from './derivs.js';
import { StreamHub } from './stream.js';
import { BookStore } from '../store/books.js';

export { QueryService } from './queries.js';
export { StreamHub } from './stream.js';
export { ApiError } from './errors.js';
export { QUERY_SERVICE, QUERY_SUBJECTS } from './nats-service.js';

export interface ApiOptions {
  /** The API_* settings (app/api.ts loads them from the environment). */
  config: ApiConfig;
  /** Venue ids whose feed health the overview lists (the registry's). */
  venues: readonly string[];
  /** Candle history (the PostgreSQL CandleStore). */
  history: CandleHistory;
  /** Arbitrage history (the PostgreSQL ArbitrageStore). */
  arbitrage: ArbitrageHistory;
  /** Settled funding rates (the PostgreSQL FundingStore); with it the process serves /v1/derivs, /v1/funding and the deriv channel. */
  funding?: FundingHistory;
  /** True for a venue/symbol that trades in sessions (TICKWORK_SESSIONS): its candles have session lengths. */
  session?: (venue: string, symbol: string) => boolean;
}

export interface ApiHandle {
  queries: QueryService;
  hub: StreamHub;
  /** Closed candles from MD_CANDLES that PostgreSQL may not have yet. */
  recent: RecentCandles;
  /** Whether web/dist held a built dashboard. */
  dashboard: boolean;
  /** Stops the NATS service and the WebSocket hub (the HTTP server closes with the process). */
  close(): Promise<void>;
}

/**
 * Adds the query service onto the process's Fastify instance (call before `ctx.listen()`):
 * `/v1/*` REST routes, `/v1/stream` WebSocket, `/openapi.json` and its page at `/docs`, the
 * dashboard at `/`, and the NATS request/reply service. Needs ctx.nats and ctx.redis; the
 * histories come from the composition root.
 */
export async function registerApi(ctx: ProcessContext, opts: ApiOptions): Promise<ApiHandle> {
  const { nats, redis } = ctx;
  if (!nats || !redis) throw new TickworkError('SERVICE_UNAVAILABLE', 'registerApi needs nats and redis in startProcess({ needs })');
  const cfg = opts.config;
  const log = ctx.log.child({ component: 'api' });
  const limits = {
    candlesMaxLimit: cfg.API_CANDLES_MAX_LIMIT,
    candlesDefaultLimit: Math.min(cfg.API_CANDLES_DEFAULT_LIMIT, cfg.API_CANDLES_MAX_LIMIT),
    arbitrageDefaultLimit: Math.min(100, cfg.API_CANDLES_MAX_LIMIT),
  };
  const derivReader = new DerivReader(redis, ctx.ns);
  const recent = new RecentCandles(cfg.API_RECENT_CANDLES, opts.session);
  recent.start(nats, ctx.ns);
  const queries = new QueryService(new LiveStateStore(redis, ctx.ns), opts.history, opts.arbitrage, limits, opts.venues, recent);
  const hub = new StreamHub(
    nats.nc,
    ctx.ns,
    {
      throttleMs: cfg.API_WS_THROTTLE_MS,
      maxBufferBytes: wsBufferBytes(cfg),
      slowCloseMs: cfg.API_WS_SLOW_CLOSE_MS,
      maxSubscriptions: cfg.API_WS_MAX_SUBSCRIPTIONS,
      maxConnections: cfg.API_WS_MAX_CONNECTIONS,
      maxConnectionsPerIp: cfg.API_WS_MAX_CONNECTIONS_PER_IP,
      maxSubscriptionsPerIp: cfg.API_WS_MAX_SUBSCRIPTIONS_PER_IP,
      framesPerSec: cfg.API_WS_FRAMES_PER_SEC,
      pingMs: cfg.API_WS_PING_MS,
      idleMs: cfg.API_WS_IDLE_MS,
    },
    {
      requireKnown: (venue, symbol) => queries.requireKnown(venue, symbol),
      ...(opts.session ? { session: opts.session } : {}),
      books: new BookChannel({ reader: new BookStore(redis, ctx.ns), throttleMs: cfg.API_WS_THROTTLE_MS, requireKnown: (v, s) => queries.requireKnown(v, s), log }),
      ...(opts.funding ? { derivs: new DerivChannel({ reader: derivReader, throttleMs: cfg.API_WS_THROTTLE_MS, log }) } : {}),
    },
    log,
  );
  log.info(
    { connections: cfg.API_WS_MAX_CONNECTIONS, bufferBytes: hub.limits.maxBufferBytes, budgetBytes: cfg.API_WS_MEMORY_BUDGET_BYTES },
    'websocket memory bound: connections x buffer per client',
  );

  const app: FastifyInstance = ctx.http;
  // A connection that sends nothing (no request head, never upgrades) or idles is closed; an
  // upgraded WebSocket leaves this timeout behind (ws clears it) and lives by its pings.
  app.server.timeout = cfg.API_CONNECTION_TIMEOUT_MS;
  app.server.headersTimeout = cfg.API_CONNECTION_TIMEOUT_MS;
  app.server.requestTimeout = 4 * cfg.API_CONNECTION_TIMEOUT_MS;
  app.server.keepAliveTimeout = Math.min(app.server.keepAliveTimeout, cfg.API_CONNECTION_TIMEOUT_MS);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'tickwork query API',
        version: '1.0.0',
        description:
          'Live state (Redis), candle history (PostgreSQL, plus the newest closed candles from MD_CANDLES) and live data over WebSocket. ' +
          'The same queries answer over NATS request/reply on md.query.state and md.query.candles (queue group tickwork-query).',
      },
    },
    transformObject: (doc) => withProcessRoutes((doc as { openapiObject: OpenApiDoc }).openapiObject),
  });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } });
  await app.register(
    async (v1) => {
      await v1.register(websocket, { options: { maxPayload: cfg.API_WS_MAX_PAYLOAD_BYTES } });
      const derivs = opts.funding
        ? { reader: derivReader, funding: opts.funding, defaultLimit: limits.arbitrageDefaultLimit, maxLimit: cfg.API_CANDLES_MAX_LIMIT, log }
        : undefined;
      await v1.register(restRoutes(queries, hub, cfg, log, derivs));
    },
    { prefix: '/v1' },
  );
  const { built } = await registerDashboard(app, cfg.API_WEB_DIR || DEFAULT_WEB_DIR);
  if (!built) log.warn('dashboard not built: run npm run build:web');
  const service = await startQueryService(nats.nc, ctx.ns, queries, log, {
    perClientPerSec: cfg.API_QUERY_RATE_PER_SEC,
    maxInFlight: cfg.API_QUERY_MAX_INFLIGHT,
  });
  // Before Fastify waits for open connections: a stalled WebSocket reader would hold it up.
  app.addHook('preClose', async () => {
    hub.deps.books?.close();
    hub.deps.derivs?.close();
    await hub.close();
  });

  return {
    queries,
    hub,
    recent,
    dashboard: built,
    async close() {
      recent.stop();
      await hub.close();
      if (!service.isStopped) await service.stop();
    },
  };
}

type OpenApiDoc = { paths?: Record<string, Record<string, unknown>> };

const json = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } });

/**
 * The routes every tickwork process serves (runtime/http.ts registers them before the document
 * exists) and the WebSocket route (which @fastify/websocket hides), added to the generated document.
 */
function withProcessRoutes(doc: OpenApiDoc): OpenApiDoc {
  const paths = { ...(doc.paths ?? {}) };
  paths['/healthz'] = { get: { summary: 'Liveness: the process is up', tags: ['process'], responses: { 200: json(HealthResponse, 'The process is alive') } } };
  paths['/readyz'] = {
    get: {
      summary: 'Readiness: NATS, Redis and PostgreSQL answer, and the process is not shutting down',
      tags: ['process'],
      responses: { 200: json(ReadyResponse, 'Ready'), 503: json(ReadyResponse, 'Not ready: `failing` names why') },
    },
  };
  paths['/metrics'] = {
    get: {
      summary: 'Prometheus metrics (text exposition format)',
      tags: ['process'],
      responses: { 200: { description: 'Metrics', content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } } } },
    },
  };
  paths['/v1/stream'] = { get: { ...STREAM_DOC, tags: ['v1'] } };
  // A response schema without a description shows as "Default Response": say what answers instead.
  for (const methods of Object.values(paths)) {
    for (const op of Object.values(methods) as { summary?: string; responses?: Record<string, { description?: string }> }[]) {
      for (const [code, r] of Object.entries(op.responses ?? {})) {
        if (r.description === 'Default Response') r.description = code.startsWith('2') ? (op.summary ?? 'OK') : `HTTP ${code}`;
      }
    }
  }
  return { ...doc, paths };
}
