/** Typed errors with stable codes (NATS.js style): callers branch on `code`, never on message text. */
export type TickworkErrorCode =
  | 'CONFIG_INVALID'
  | 'SERVICE_UNAVAILABLE'
  | 'MAILBOX_CLOSED'
  | 'ACTOR_STOPPED'
  | 'ESCALATED'
  | 'SHUTDOWN_TIMEOUT';

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
