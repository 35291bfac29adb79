import { backoffDelay } from '../backoff.js';
import { TickworkError } from '../errors.js';
import type { Logger } from '../logger.js';
import { ActorCell, DEFAULT_KIND, defaultLog } from './cell.js';
import { kindMetrics } from './metrics.js';
import type { ActorRef, ChildSpec, RestartType, SupervisorPolicy } from './types.js';

/** What a supervisor needs from a child, whether an actor or a nested supervisor. */
interface Child {
  readonly id: string;
  readonly kind: string;
  readonly restart: RestartType;
  /** When this child was restarted within the intensity window; its length is the next back-off attempt. */
  history: number[];
  timer: NodeJS.Timeout | undefined;
  /** The message of the failure that caused the pending restart, to log a repeat quietly. */
  lastFailure?: string;
  /** Ends the running incarnation (postStop runs), keeps the mailbox; resolves when suspended. */
  terminate(): Promise<void>;
  /** Starts a fresh incarnation if suspended; true if it did. */
  restartNow(): boolean;
  /** Stops for good. */
  stop(drain: boolean): Promise<void>;
}

type State = 'running' | 'escalating' | 'suspended' | 'stopping' | 'stopped';

export interface SupervisorOptions {
  log?: Logger;
  /** Escalations go to the parent, which treats them as a failure of this supervisor. */
  parent?: Supervisor;
  /** Top-level escalation handler (the process), called after all children are stopped. */
  onEscalate?: (err: unknown) => void;
  /** Jitter source for back-off; injectable for tests. */
  random?: () => number;
}

/**
 * OTP-style supervisor: owns children, restarts them with exponential back-off and full jitter
 * per a data policy, and escalates when restarts exceed the intensity limit.
 */
export class Supervisor {
  readonly log: Logger;
  private readonly children: Child[] = [];
  /** Restart decisions within the intensity window (monotonic ms). */
  private window: number[] = [];
  private state: State = 'running';
  private groupTimer: NodeJS.Timeout | undefined;
  private groupRestartPending = false;
  private stopping: Promise<void> | undefined;
  /** Set when supervised: how this supervisor reports to its parent. */
  private link: { escalated(err: unknown): void; stopped(): void } | undefined;
  private readonly random: () => number;
  private readonly onEscalate: ((err: unknown) => void) | undefined;
  private restartCount = 0;

  constructor(
    readonly name: string,
    readonly policy: SupervisorPolicy,
    opts: SupervisorOptions = {},
  ) {
    const { maxRestarts, withinMs } = policy.intensity;
    if (!(maxRestarts >= 0) || !(withinMs > 0)) throw new RangeError(`supervisor ${name}: invalid intensity limit`);
    this.log = (opts.log ?? defaultLog()).child({ supervisor: name });
    this.random = opts.random ?? Math.random;
    this.onEscalate = opts.onEscalate;
    opts.parent?.supervise(this);
  }

  /** Child restarts performed (an all-for-one restart of three children counts three). */
  get restarts(): number {
    return this.restartCount;
  }

  /** Starts an actor child; the returned ref is stable across restarts (messages sent during back-off queue up). */
  start<M>(spec: ChildSpec<M>): ActorRef<M> {
    this.assertOpen();
    const child: Child & { cell: ActorCell<M> } = {
      id: spec.id,
      kind: spec.kind ?? DEFAULT_KIND,
      restart: spec.restart ?? 'permanent',
      history: [],
      timer: undefined,
      cell: new ActorCell<M>(
        spec.id,
        spec.behavior,
        {
          exited: (failure, normal) => this.childExited(child, failure, normal),
          stopped: () => this.childStopped(child),
        },
        { mailboxSize: spec.mailboxSize, kind: spec.kind, log: this.log, startAfter: spec.startAfter },
      ),
      terminate: () => child.cell.terminate(),
      restartNow: () => child.cell.restart(),
      stop: (drain) => child.cell.stop({ drain }),
    };
    this.children.push(child);
    child.cell.begin();
    return child.cell;
  }

  /** Adopts a nested supervisor: its escalation counts as a failure of that child here. */
  supervise(sub: Supervisor): void {
    this.assertOpen();
    if (sub.link !== undefined) throw new TickworkError('SUPERVISOR_INVALID', `supervisor ${sub.name} already has a parent`);
    if (sub === this) throw new TickworkError('SUPERVISOR_INVALID', 'a supervisor cannot supervise itself');
    const child: Child = {
      id: sub.name,
      kind: 'supervisor',
      restart: 'permanent',
      history: [],
      timer: undefined,
      terminate: () => sub.terminateAll(),
      restartNow: () => sub.restartAll(),
      stop: (drain) => (drain ? sub.stop() : sub.close()),
    };
    sub.link = {
      escalated: (err) => this.childExited(child, err, false),
      stopped: () => this.childStopped(child),
    };
    this.children.push(child);
  }

  /** Stops children in reverse start order, draining each (postStop runs). */
  stop(): Promise<void> {
    this.stopping ??= this.stopChildren(true);
    return this.stopping;
  }

  // ---- decisions ------------------------------------------------------------------------

  /**
   * A server that is not there (SERVICE_UNAVAILABLE) is an expected condition: one warning line
   * without a stack, and the same failure repeated during the back-off only at debug level, so an
   * offline venue says so once instead of printing a stack trace per attempt.
   */
  private logFailure(child: Child, attempt: number, delayMs: number, failure: unknown): void {
    const message = failure instanceof Error ? failure.message : String(failure);
    const repeated = attempt > 0 && child.lastFailure === message;
    child.lastFailure = message;
    const fields = { child: child.id, attempt, delayMs: Math.round(delayMs) };
    if (failure instanceof TickworkError && failure.code === 'SERVICE_UNAVAILABLE') {
      if (repeated) this.log.debug({ ...fields, reason: message }, 'still unavailable; retrying with back-off');
      else this.log.warn({ ...fields, reason: message }, 'unavailable; retrying with back-off');
    } else if (repeated) this.log.debug({ ...fields, err: failure }, 'child failed again; restarting after back-off');
    else this.log.error({ ...fields, err: failure }, 'child failed; restarting after back-off');
  }

  private childExited(child: Child, failure: unknown, normal: boolean): void {
    if (this.state === 'stopping' || this.state === 'stopped') {
      void child.stop(false);
      return;
    }
    // Escalating or suspended by the parent: the child stays suspended until restartAll or close.
    if (this.state !== 'running') return;
    if (child.restart === 'temporary' || (child.restart === 'transient' && normal)) {
      if (normal) this.log.info({ child: child.id }, 'child exited; not restarted');
      else this.log.error({ child: child.id, err: failure }, 'temporary child failed; not restarted');
      void child.stop(false);
      return;
    }
    // An all-for-one restart already in progress covers this child.
    if (this.groupRestartPending) return;

    const now = performance.now();
    const { maxRestarts, withinMs } = this.policy.intensity;
    this.window = this.window.filter((t) => now - t < withinMs);
    if (this.window.length >= maxRestarts) {
      this.escalate(
        new TickworkError('ESCALATED', `supervisor ${this.name}: more than ${maxRestarts} restarts in ${withinMs} ms`, {
          cause: normal ? undefined : failure,
        }),
      );
      return;
    }
    this.window.push(now);
    child.history = child.history.filter((t) => now - t < withinMs);
    const reset = this.policy.backoff.resetAfterMs;
    const lastRestart = child.history[child.history.length - 1];
    if (reset !== undefined && lastRestart !== undefined && now - lastRestart >= reset) child.history = [];
    const attempt = child.history.length;
    child.history.push(now);
    const delayMs = backoffDelay(attempt, this.policy.backoff, this.random);
    // Timers may fire up to a millisecond early against performance.now(); `fire` re-arms so a restart never precedes its back-off.
    if (normal) this.log.info({ child: child.id, attempt, delayMs }, 'child exited; restarting after back-off');
    else this.logFailure(child, attempt, delayMs, failure);

    const due = now + delayMs;
    if (this.policy.strategy === 'one-for-one') {
      const fire = (): void => {
        child.timer = undefined;
        if (this.state !== 'running') return;
        if (performance.now() < due) child.timer = setTimeout(fire, due - performance.now());
        else this.restartChild(child);
      };
      child.timer = setTimeout(fire, delayMs);
      return;
    }
    this.groupRestartPending = true;
    void this.terminateSiblings(child).then(() => {
      const fire = (): void => {
        this.groupTimer = undefined;
        if (this.state !== 'running' || !this.groupRestartPending) return;
        if (performance.now() < due) {
          this.groupTimer = setTimeout(fire, due - performance.now());
          return;
        }
        this.groupRestartPending = false;
        for (const c of [...this.children]) this.restartChild(c);
      };
      fire();
    });
  }

  private restartChild(child: Child): void {
    if (!child.restartNow()) return;
    this.restartCount++;
    kindMetrics(child.kind).restarts.inc();
  }

  /** all-for-one: ends every other child in reverse start order; temporary ones stop for good. */
  private async terminateSiblings(failed: Child): Promise<void> {
    for (const c of [...this.children].reverse()) {
      if (c === failed) continue;
      if (c.restart === 'temporary') await c.stop(false);
      else await c.terminate();
    }
  }

  private escalate(err: TickworkError): void {
    this.state = 'escalating';
    this.clearTimers();
    this.log.error({ err }, 'restart intensity exceeded; stopping children and escalating');
    void this.terminateChildren().then(async () => {
      if (this.state !== 'escalating') return; // stopped meanwhile
      if (this.link !== undefined) {
        this.link.escalated(err);
        return;
      }
      // Top of the tree: nobody can restart us, so stop for good and hand over to the process.
      await this.close();
      if (this.onEscalate !== undefined) this.onEscalate(err);
      else this.log.fatal({ err }, 'top-level supervisor gave up and no onEscalate handler is set');
    });
  }

  // ---- as a child of another supervisor --------------------------------------------------

  private terminateAll(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return this.stopping ?? Promise.resolve();
    this.state = 'suspended';
    this.clearTimers();
    return this.terminateChildren();
  }

  private restartAll(): boolean {
    if (this.state === 'stopping' || this.state === 'stopped') return false;
    this.state = 'running';
    this.window = [];
    for (const c of [...this.children]) {
      c.history = [];
      this.restartChild(c);
    }
    return true;
  }

  /** Stops for good without draining (escalation reached the top, or the parent closes us). */
  private close(): Promise<void> {
    this.stopping ??= this.stopChildren(false);
    return this.stopping;
  }

  // ---- helpers --------------------------------------------------------------------------

  private async terminateChildren(): Promise<void> {
    for (const c of [...this.children].reverse()) await c.terminate();
  }

  private async stopChildren(drain: boolean): Promise<void> {
    this.state = 'stopping';
    this.clearTimers();
    for (const c of [...this.children].reverse()) await c.stop(drain);
    this.state = 'stopped';
    this.link?.stopped();
  }

  private childStopped(child: Child): void {
    if (child.timer !== undefined) clearTimeout(child.timer);
    const i = this.children.indexOf(child);
    if (i >= 0) this.children.splice(i, 1);
  }

  private clearTimers(): void {
    this.groupRestartPending = false;
    if (this.groupTimer !== undefined) clearTimeout(this.groupTimer);
    this.groupTimer = undefined;
    for (const c of this.children) {
      if (c.timer !== undefined) clearTimeout(c.timer);
      c.timer = undefined;
    }
  }

  private assertOpen(): void {
    if (this.state === 'stopping' || this.state === 'stopped') {
      throw new TickworkError('ACTOR_STOPPED', `supervisor ${this.name} is stopped`);
    }
  }
}
