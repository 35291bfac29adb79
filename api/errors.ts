import { TickworkError, type TickworkErrorCode } from '../runtime/errors.js';
import type { ErrorBody } from '../schemas/api.js';

const CODE_OF: Record<number, TickworkErrorCode> = {
  400: 'API_BAD_REQUEST',
  403: 'API_FORBIDDEN',
  404: 'API_NOT_FOUND',
  429: 'API_RATE_LIMITED',
  503: 'API_UNAVAILABLE',
};

/**
 * A query failure with the HTTP status and the body every transport answers with: HTTP sends
 * it as is, NATS as a service error with the same JSON, WebSocket as `{type:'error', ...}`.
 */
export class ApiError extends TickworkError {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(CODE_OF[status] ?? 'API_INTERNAL', body.message);
  }

  static badRequest(field: string, message: string): ApiError {
    return new ApiError(400, { error: 'bad_request', field, message });
  }

  static notFound(field: string, message: string): ApiError {
    return new ApiError(404, { error: 'not_found', field, message });
  }
}

/** The body for any thrown value: ApiError as it is, anything else an opaque 500 (no stack, no internals). */
export function errorBody(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof ApiError) return { status: err.status, body: err.body };
  return { status: 500, body: { error: 'internal', message: 'internal error' } };
}
