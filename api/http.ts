import type { FastifyError, FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { TObject } from '@sinclair/typebox';
import {
  ArbitrageQuery,
  ArbitrageResponse,
  CandlesQuery,
  CandlesResponse,
  ErrorBody,
  OverviewResponse,
  StateParams,
  StateResponse,
  SymbolsResponse,
} from '../schemas/api.js';
import type { Logger } from '../runtime/logger.js';
import type { ApiConfig } from './config.js';
import { ApiError, errorBody } from './errors.js';
import { parseInput } from './input.js';
import type { QueryService } from './queries.js';
import type { StreamHub } from './stream.js';

const errors = { 400: ErrorBody, 404: ErrorBody, 429: ErrorBody, 500: ErrorBody };

/**
 * The `/v1` REST routes and the `/v1/stream` WebSocket as one encapsulated plugin: its own validator (schemas/api.ts through
 * parseInput, the same code NATS and WebSocket requests go through), rate limit, body limit and
 * error handler, none of which leak onto /metrics, /healthz or the dashboard.
 */
export function restRoutes(queries: QueryService, hub: StreamHub, cfg: ApiConfig, log: Logger) {
  return async function routes(app: FastifyInstance): Promise<void> {
    app.setValidatorCompiler(({ schema }) => (data: unknown) => {
      try {
        return { value: parseInput(schema as TObject, data) };
      } catch (err) {
        return { error: err as Error };
      }
    });
    app.setErrorHandler((err: FastifyError, _req, reply) => {
      const { status, body } = toHttpError(err);
      if (status >= 500) log.error({ err }, 'api request failed');
      return reply.code(status).type('application/json').send(body);
    });
    app.setNotFoundHandler((req, reply) =>
      reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` }),
    );
    app.addHook('onRoute', (route) => {
      route.bodyLimit ??= cfg.API_BODY_LIMIT_BYTES;
    });
    await app.register(rateLimit, {
      max: cfg.API_RATE_LIMIT_PER_MIN,
      timeWindow: 60_000,
      errorResponseBuilder: (_req, ctx) =>
        new ApiError(ctx.statusCode, { error: 'rate_limited', message: `rate limit exceeded, retry in ${ctx.after}` }),
    });

    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    r.get(
      '/candles',
      {
        schema: {
          summary: 'Candles by openTime: closed ones from PostgreSQL, the open one (closed:false) from Redis',
          querystring: CandlesQuery,
          response: { 200: CandlesResponse, ...errors },
        },
      },
      (req) => queries.candles(req.query),
    );
    r.get(
      '/state/:venue/:symbol',
      {
        schema: {
          summary: 'Live state from Redis (one GET): last trade, open candle per tf, rolling VWAPs, last stream seq',
          params: StateParams,
          response: { 200: StateResponse, ...errors },
        },
      },
      (req) => queries.state(req.params),
    );
    r.get(
      '/symbols',
      { schema: { summary: 'Known venue/symbol pairs with their owning worker', response: { 200: SymbolsResponse, ...errors } } },
      () => queries.symbols(),
    );
    r.get(
      '/arbitrage',
      {
        schema: {
          summary: 'Recent cross-venue opportunities, newest first',
          querystring: ArbitrageQuery,
          response: { 200: ArbitrageResponse, ...errors },
        },
      },
      (req) => queries.arbitrage(req.query),
    );
    r.get(
      '/overview',
      {
        schema: {
          summary: 'Dashboard table: last price, 1m VWAP, trades applied per symbol, and feed health per venue',
          response: { 200: OverviewResponse, ...errors },
        },
      },
      () => queries.overview(),
    );
    // Beside the REST routes so the upgrade request shares their rate limit.
    app.get(
      '/stream',
      { websocket: true, schema: { summary: 'WebSocket: subscribe to live candles, trades and arbitrage (see schemas/api.ts)' } },
      (socket) => hub.attach(socket),
    );
  };
}

function toHttpError(err: FastifyError | ApiError): { status: number; body: ErrorBody } {
  if (err instanceof ApiError) return errorBody(err);
  const status = err.statusCode ?? 500;
  if (status >= 500 || status < 400) return errorBody(err);
  // Fastify's own client errors (bad JSON, body too large, ...) carry safe one-line messages.
  const error = status === 413 ? 'payload_too_large' : status === 404 ? 'not_found' : status === 415 ? 'unsupported_media_type' : 'bad_request';
  return { status, body: { error, message: err.message } };
}
