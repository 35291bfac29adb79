import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
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
  StreamClientFrame,
  StreamServerFrame,
  SymbolsResponse,
} from '../schemas/api.js';
import type { Logger } from '../runtime/logger.js';
import { trustedProxies, wsOrigins, type ApiConfig } from './config.js';
import { ApiError, errorBody } from './errors.js';
import { parseInput } from './input.js';
import type { QueryService } from './queries.js';
import { bookRoutes } from './books.js';
import { derivRoutes, type DerivRouteOptions } from './derivs.js';
import type { StreamHub } from './stream.js';

const errors = {
  400: { ...ErrorBody, description: 'A bad parameter: `field` names it' },
  404: { ...ErrorBody, description: 'Unknown venue/symbol (or route)' },
  429: { ...ErrorBody, description: 'Rate limit exceeded (Retry-After says when to retry)' },
  500: { ...ErrorBody, description: 'Internal error (no details)' },
};

/**
 * The `/v1` REST routes and the `/v1/stream` WebSocket as one encapsulated plugin: its own validator (schemas/api.ts through
 * parseInput, the same code NATS and WebSocket requests go through), rate limit, body limit and
 * error handler, none of which leak onto /metrics, /healthz or the dashboard.
 */
export function restRoutes(queries: QueryService, hub: StreamHub, cfg: ApiConfig, log: Logger, derivs?: DerivRouteOptions) {
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
    const proxies = trustedProxies(cfg);
    const client = (req: FastifyRequest) => clientAddress(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for'], proxies);
    await app.register(rateLimit, {
      max: cfg.API_RATE_LIMIT_PER_MIN,
      timeWindow: 60_000,
      keyGenerator: client,
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
          summary:
            'Arbitrage episodes (open ones and recently closed, with size Q*, net bps and net profit after fees) and older opportunities, newest first by their last event',
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
    if (hub.deps.books) await app.register(bookRoutes(hub.deps.books.reader));
    if (derivs) await app.register(derivRoutes(derivs));
    // Beside the REST routes so the upgrade request shares their rate limit. Origin and the
    // per-address cap are checked before the upgrade: a refused client costs no socket.
    const origins = wsOrigins(cfg);
    app.get(
      '/stream',
      {
        websocket: true,
        // @fastify/websocket hides WebSocket routes from the document: STREAM_DOC describes it there.
        schema: { summary: STREAM_DOC.summary },
        preValidation: async (req: FastifyRequest) => {
          if (!originAllowed(req.headers.origin, req.headers.host, origins)) {
            throw new ApiError(403, { error: 'forbidden', message: `origin ${String(req.headers.origin).slice(0, 100)} may not open /v1/stream` });
          }
          const no = hub.refusal(client(req));
          if (no) throw new ApiError(no.code === 1001 ? 503 : 429, { error: no.code === 1001 ? 'unavailable' : 'rate_limited', message: no.message });
        },
      },
      (socket, req) => hub.attach(socket, client(req)),
    );
  };
}

const jsonBody = (schema: object, description: string) => ({ description, content: { 'application/json': { schema } } });

/** `GET /v1/stream` in the OpenAPI document; OpenAPI 3.0 has no WebSocket messages, so the frames go in x- fields. */
export const STREAM_DOC = {
  summary: 'WebSocket: subscribe to live candles, trades, arbitrage, L2 books and derivative tickers',
  description:
    'Upgrade to a WebSocket, then send JSON frames (x-client-frames) such as ' +
    '`{"op":"subscribe","venue":"binance","symbol":"BTC-USDT","tf":"1m","trades":true}`; the server answers with ' +
    'the frames in x-server-frames. Channels: `{"op":"subscribe","channel":"book","venue":"binance","symbol":"BTC-USDT","depth":10}` pushes ' +
    'the top-N book (`book` frames) and `{"op":"subscribe","channel":"deriv","venue":"okx","symbol":"BTC-USDT-PERP"}` the merged derivative ' +
    'ticker (`deriv` frames, the body of GET /v1/derivs), each at once and then on change at most once per API_WS_THROTTLE_MS; ' +
    '`"op":"unsubscribe"` with the same channel ends it. An unknown venue/symbol answers an error frame with the 404 body of HTTP. ' +
    'Limits (API_WS_*): Origin allow-list, connections and subscriptions per address, frames per second, pings ' +
    '(unanswered: cut off), closed when holding no subscription, frames dropped (then a `dropped` frame) for a slow reader.',
  responses: {
    101: { description: 'Switching Protocols: the WebSocket is open' },
    403: jsonBody(ErrorBody, 'Origin not allowed (API_WS_ORIGINS)'),
    429: jsonBody(ErrorBody, 'Too many connections from this address, or rate limit exceeded'),
    503: jsonBody(ErrorBody, 'Shutting down'),
  },
  'x-client-frames': StreamClientFrame,
  'x-server-frames': StreamServerFrame,
};

/**
 * Browsers send Origin; other clients do not and are not its concern. Allowed: the server's own
 * host always (the dashboard), then API_WS_ORIGINS if set ("*": any), else localhost.
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (sandboxed pages, file://) and junk
  }
  if (host !== undefined && url.host.toLowerCase() === host.toLowerCase()) return true;
  if (allowed.length) return allowed.includes('*') || allowed.some((a) => a.replace(/\/$/, '').toLowerCase() === url.origin.toLowerCase());
  return url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
}

/**
 * The client's address for per-address limits: the peer, unless the peer is a trusted reverse
 * proxy (API_TRUSTED_PROXIES); then the nearest X-Forwarded-For entry that is not one (a client
 * can prepend anything, so entries are read from the proxy's end).
 */
export function clientAddress(peer: string, forwarded: string | string[] | undefined, proxies: ReadonlySet<string>): string {
  const norm = (a: string) => a.trim().replace(/^::ffff:/, '');
  let addr = norm(peer);
  if (!proxies.has(addr) || forwarded === undefined) return addr;
  const hops = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded).split(',').map(norm).filter(Boolean);
  while (proxies.has(addr) && hops.length) addr = hops.pop()!;
  return addr;
}

function toHttpError(err: FastifyError | ApiError): { status: number; body: ErrorBody } {
  if (err instanceof ApiError) return errorBody(err);
  const status = err.statusCode ?? 500;
  if (status >= 500 || status < 400) return errorBody(err);
  // Fastify's own client errors (bad JSON, body too large, ...) carry safe one-line messages.
  const error = status === 413 ? 'payload_too_large' : status === 404 ? 'not_found' : status === 415 ? 'unsupported_media_type' : 'bad_request';
  return { status, body: { error, message: err.message } };
}
