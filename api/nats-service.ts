import { Svcm, type Service, type ServiceMsg } from '@nats-io/services';
import type { NatsConnection } from '@nats-io/transport-node';
import type { TObject, Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { CandlesQuery, CandlesResponse, StateParams, StateResponse } from '../schemas/api.js';
import type { Logger } from '../runtime/logger.js';
import type { Namespace } from '../runtime/namespace.js';
import { ApiError, errorBody } from './errors.js';
import { parseInput } from './input.js';
import type { QueryService } from './queries.js';

export const QUERY_SERVICE = 'tickwork-query';
export const QUERY_SUBJECTS = { state: 'md.query.state', candles: 'md.query.candles' } as const;

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
): Promise<Service> {
  const svc = await new Svcm(nc as unknown as ConstructorParameters<typeof Svcm>[0]).add({
    name: ns.name(QUERY_SERVICE),
    version: '1.0.0',
    description: 'tickwork live state and candle queries (same bodies as the HTTP API)',
    // One queue group: several api replicas share the load, each request answered once.
    queue: 'tickwork-query',
  });
  svc.addEndpoint('state', {
    subject: ns.subject(QUERY_SUBJECTS.state),
    handler: endpoint(StateParams, StateResponse, (p) => queries.state(p), log),
  });
  svc.addEndpoint('candles', {
    subject: ns.subject(QUERY_SUBJECTS.candles),
    handler: endpoint(CandlesQuery, CandlesResponse, (q) => queries.candles(q), log),
  });
  return svc;
}

function endpoint<I extends TObject, O extends TSchema>(
  input: I,
  output: O,
  run: (q: Static<I>) => Promise<unknown>,
  log: Logger,
) {
  return (err: Error | null, msg: ServiceMsg): void => {
    if (err) {
      log.warn({ err: err.message }, 'query service endpoint error');
      return;
    }
    (async () => {
      let body: unknown;
      try {
        body = msg.data.length ? JSON.parse(new TextDecoder().decode(msg.data)) : {};
      } catch {
        throw ApiError.badRequest('body', 'expected a JSON object');
      }
      // Drop what the response schema does not declare, as Fastify's serializer does for HTTP.
      return Value.Clean(output, await run(parseInput(input, body)));
    })().then(
      (result) => msg.respond(JSON.stringify(result)),
      (e: unknown) => {
        const { status, body } = errorBody(e);
        if (status >= 500) log.error({ err: e }, 'query service request failed');
        msg.respondError(status, body.message, JSON.stringify(body));
      },
    );
  };
}
