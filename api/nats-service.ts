import { Svcm, type Service, type ServiceMsg } from '@nats-io/services';
import type { NatsConnection } from '@nats-io/transport-node';
import type { TObject, Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { CandlesQuery, CandlesResponse, StateParams, StateResponse } from '../schemas/api.js';
import type { Logger } from '../runtime/logger.js';
import { counter } from '../runtime/metrics.js';
import type { Namespace } from '../runtime/namespace.js';
import { TokenBucket } from '../runtime/rate-limit.js';
import { ApiError, errorBody } from './errors.js';
import { parseInput } from './input.js';
import type { QueryService } from './queries.js';

export const QUERY_SERVICE = 'tickwork-query';
export const QUERY_SUBJECTS = { state: 'md.query.state', candles: 'md.query.candles' } as const;

export interface QueryLimits {
  /** Requests per second per client (its reply inbox), burst twice that. */
  perClientPerSec: number;
  /** Requests answered at once; more are refused with 503. */
  maxInFlight: number;
}

const DEFAULT_LIMITS: QueryLimits = { perClientPerSec: 50, maxInFlight: 64 };
/** Clients whose buckets are remembered at most (oldest forgotten first). */
const MAX_CLIENTS = 10_000;

const refusedQueries = counter({
  name: 'tickwork_api_query_refused_total',
  help: 'md.query.* requests refused: rate_limited (per client), busy (too many in flight), no_reply (nothing to answer to)',
  labelNames: ['reason'] as const,
});

/**
 * Throttles md.query.*: a token bucket per client and a cap on requests in flight. NATS carries no
 * client identity, so a client is its reply inbox without the last token (`_INBOX.<nuid>` of a
 * connection's request mux); a client that changes inbox per request escapes its bucket but not the cap.
 */
class QueryThrottle {
  private readonly buckets = new Map<string, TokenBucket>();
  private inFlight = 0;

  constructor(private readonly limits: QueryLimits) {}

  /** Takes a slot for a request replying to `reply`; throws the ApiError to answer when refused. */
  admit(reply: string): void {
    const client = reply.slice(0, Math.max(reply.lastIndexOf('.'), 0)) || reply;
    let bucket = this.buckets.get(client);
    if (bucket) this.buckets.delete(client);
    else {
      bucket = new TokenBucket({ capacity: 2 * this.limits.perClientPerSec, refillPerSec: this.limits.perClientPerSec });
      if (this.buckets.size >= MAX_CLIENTS) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(client, bucket);
    if (!bucket.tryTake()) {
      refusedQueries.inc({ reason: 'rate_limited' });
      throw new ApiError(429, { error: 'rate_limited', message: `at most ${this.limits.perClientPerSec} queries per second per client` });
    }
    if (this.inFlight >= this.limits.maxInFlight) {
      refusedQueries.inc({ reason: 'busy' });
      throw new ApiError(503, { error: 'unavailable', message: 'too many queries in flight; retry shortly' });
    }
    this.inFlight++;
  }

  done(): void {
    this.inFlight--;
  }
}

/**
 * NATS request/reply face of the query service: the same QueryService functions and schemas as
 * the HTTP routes, so `md.query.candles` answers the body `GET /v1/candles` answers. Errors reply
 * with the same `{error, field, message}` JSON plus the micro-service error headers
 * (Nats-Service-Error-Code = HTTP status).
 */
export async function startQueryService(
  nc: NatsConnection,
  ns: Namespace,
  queries: QueryService,
  log: Logger,
  limits: QueryLimits = DEFAULT_LIMITS,
): Promise<Service> {
  const throttle = new QueryThrottle(limits);
  const svc = await new Svcm(nc as unknown as ConstructorParameters<typeof Svcm>[0]).add({
    name: ns.name(QUERY_SERVICE),
    version: '1.0.0',
    description: 'tickwork live state and candle queries (same bodies as the HTTP API)',
    // One queue group: several api replicas share the load, each request answered once.
    queue: 'tickwork-query',
  });
  svc.addEndpoint('state', {
    subject: ns.subject(QUERY_SUBJECTS.state),
    handler: endpoint(StateParams, StateResponse, (p) => queries.state(p), throttle, log),
  });
  svc.addEndpoint('candles', {
    subject: ns.subject(QUERY_SUBJECTS.candles),
    handler: endpoint(CandlesQuery, CandlesResponse, (q) => queries.candles(q), throttle, log),
  });
  return svc;
}

function endpoint<I extends TObject, O extends TSchema>(
  input: I,
  output: O,
  run: (q: Static<I>) => Promise<unknown>,
  throttle: QueryThrottle,
  log: Logger,
) {
  return (err: Error | null, msg: ServiceMsg): void => {
    if (err) {
      log.warn({ err: err.message }, 'query service endpoint error');
      return;
    }
    // A request nobody waits for is not worth a query (a publish without reply costs us, not them).
    if (!msg.reply) {
      refusedQueries.inc({ reason: 'no_reply' });
      return;
    }
    let admitted = false;
    (async () => {
      throttle.admit(msg.reply!);
      admitted = true;
      let body: unknown;
      try {
        body = msg.data.length ? JSON.parse(new TextDecoder().decode(msg.data)) : {};
      } catch {
        throw ApiError.badRequest('body', 'expected a JSON object');
      }
      // Drop what the response schema does not declare, as Fastify's serializer does for HTTP.
      return Value.Clean(output, await run(parseInput(input, body)));
    })().then(
      (result) => {
        if (admitted) throttle.done();
        msg.respond(JSON.stringify(result));
      },
      (e: unknown) => {
        if (admitted) throttle.done();
        const { status, body } = errorBody(e);
        if (status === 500) log.error({ err: e }, 'query service request failed');
        msg.respondError(status, body.message, JSON.stringify(body));
      },
    );
  };
}
