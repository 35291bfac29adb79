/**
 * The one error tree (NATS.js style): every error tickwork throws on purpose is a TickworkError
 * (or a subclass) with a stable `code`; callers branch on `code`, never on message text.
 */
export type TickworkErrorCode =
  // configuration and start-up: the CLI prints the message as one line and exits 2
  | 'CONFIG_INVALID'
  | 'USAGE_INVALID'
  | 'FILE_NOT_FOUND'
  | 'FILE_READ_FAILED'
  // servers and venues
  | 'SERVICE_UNAVAILABLE'
  | 'VENUE_UNKNOWN'
  | 'VENUE_RESPONSE_INVALID'
  // history (backfill, rebuild, archive): a range a source does not serve; an archive file that does not verify
  | 'HISTORY_UNAVAILABLE'
  | 'ARCHIVE_INVALID'
  // a one-shot job that did not do all it was asked (replay: trades lost, refused or not read)
  | 'JOB_INCOMPLETE'
  // actor runtime
  | 'MAILBOX_CLOSED'
  | 'ACTOR_STOPPED'
  | 'ESCALATED'
  | 'SUPERVISOR_INVALID'
  | 'SHUTDOWN_TIMEOUT'
  // values
  | 'DECIMAL_INVALID'
  | 'SYMBOL_INVALID'
  | 'SNAPSHOT_INVALID'
  | 'CANDLE_INVALID'
  // the window kernel (actors/windows)
  | 'WINDOW_GAP_TOO_LONG'
  | 'WINDOW_CONFIG_INVALID'
  | 'WINDOW_SNAPSHOT_INVALID'
  | 'WINDOW_TRADE_INVALID'
  // the book engine (actors/book): a level it cannot hold exactly
  | 'BOOK_LEVEL_INVALID'
  // the query API (status and body in ApiError)
  | 'API_BAD_REQUEST'
  | 'API_NOT_FOUND'
  | 'API_RATE_LIMITED'
  | 'API_FORBIDDEN'
  | 'API_UNAVAILABLE'
  | 'API_INTERNAL';

export class TickworkError extends Error {
  constructor(
    readonly code: TickworkErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A bad or missing environment variable; `message` is the one line printed at start-up. */
export class ConfigError extends TickworkError {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super('CONFIG_INVALID', message);
  }
}

/**
 * A server the process needs is not there: `NATS_URL nats://127.0.0.1:4222: connection refused`.
 * `variable` names the setting that points at it, so the one line says what to fix.
 */
export class ServiceUnavailableError extends TickworkError {
  constructor(
    readonly variable: string,
    readonly url: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super('SERVICE_UNAVAILABLE', `${variable} ${url}: ${plainReason(reason)}`, options);
  }
}

/** Socket error codes in words: `connect ECONNREFUSED 127.0.0.1:6379` → `connection refused`. */
function plainReason(reason: string): string {
  if (/ECONNREFUSED|CONNECTION_REFUSED|connection refused/i.test(reason)) return 'connection refused';
  if (/ENOTFOUND|EAI_AGAIN/.test(reason)) return 'host not found';
  if (/ETIMEDOUT|timed? ?out/i.test(reason)) return 'timed out';
  return reason;
}

/** Errors the CLI reports as one line with exit code 2: the user can fix them without a stack trace. */
export function isUsageError(err: unknown): err is TickworkError {
  return err instanceof TickworkError && (err.code === 'CONFIG_INVALID' || err.code === 'USAGE_INVALID' || err.code === 'FILE_NOT_FOUND');
}
