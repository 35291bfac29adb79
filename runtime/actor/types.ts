import type { Logger } from '../logger.js';
import type { BackoffPolicy } from '../backoff.js';

/** What a behaviour sees of its actor; one context per incarnation (fresh after each restart). */
export interface ActorContext<M> {
  readonly name: string;
  /** Child logger with `{ actor: name, kind }`. */
  readonly log: Logger;
  /** The stable ref: keeps working across restarts. */
  readonly self: ActorRef<M>;
  /** Aborted when this incarnation ends (failure, stop or restart), before `postStop` runs. */
  readonly signal: AbortSignal;
  /** Reports an asynchronous failure (e.g. a socket 'error' callback); the supervisor decides. Ignored once this incarnation ended. */
  fail(err: unknown): void;
  /**
   * Ends this incarnation normally after the current message (OTP "normal exit"): a permanent
   * child is restarted, a transient or temporary one (or an unsupervised actor) stops; messages
   * still queued are then dropped. Use `self.stop()` to stop for good whatever the policy.
   */
  stop(): void;
}

export interface Behavior<M> {
  /** Runs before the first message; throwing or rejecting fails the incarnation (and then `postStop` does not run). */
  preStart?(ctx: ActorContext<M>): void | Promise<void>;
  /** One message at a time, never concurrently, FIFO. */
  receive(msg: M, ctx: ActorContext<M>): void | Promise<void>;
  /**
   * After a graceful stop (mailbox drained) and before a restart, once `preStart` succeeded;
   * used to flush snapshots. Errors are logged, never retried.
   */
  postStop?(ctx: ActorContext<M>): void | Promise<void>;
}

export interface ActorRef<M> {
  readonly name: string;
  /**
   * Resolves once enqueued. On a full mailbox it waits (back-pressure) until there is room;
   * rejects with TickworkError 'MAILBOX_CLOSED' once the actor is stopping or stopped.
   */
  send(msg: M): Promise<void>;
  /** Enqueues only if there is room now; false if full, producers are waiting, or stopped. */
  trySend(msg: M): boolean;
  readonly mailboxDepth: number;
  /** drain (default true): stop intake, process what is queued, run postStop. */
  stop(opts?: { drain?: boolean }): Promise<void>;
  /** Resolves when the actor is finally stopped (never rejects). */
  readonly done: Promise<void>;
}

export type { BackoffPolicy };
export type RestartStrategy = 'one-for-one' | 'all-for-one';
/** More than `maxRestarts` restarts within `withinMs` makes the supervisor give up and escalate. */
export interface IntensityLimit {
  maxRestarts: number;
  withinMs: number;
}
export interface SupervisorPolicy {
  strategy: RestartStrategy;
  backoff: BackoffPolicy;
  intensity: IntensityLimit;
}
/**
 * permanent: always restarted; transient: restarted only after a failure (not after `ctx.stop()`);
 * temporary: never restarted.
 */
export type RestartType = 'permanent' | 'transient' | 'temporary';

export interface ChildSpec<M> {
  /** Names the actor (logs); not required to be unique. */
  id: string;
  behavior: () => Behavior<M>;
  restart?: RestartType;
  mailboxSize?: number;
  /** Metric label; low cardinality ("symbol", "feed"), default "actor". */
  kind?: string;
  /** The first incarnation starts only after this settles (messages queue meanwhile), e.g. the previous actor for the same key finishing its postStop. */
  startAfter?: Promise<unknown>;
}
