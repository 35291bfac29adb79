import { TickworkError } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import { kindMetrics, type KindMetrics } from './metrics.js';
import { Ring } from './ring.js';
import type { ActorContext, ActorRef, Behavior } from './types.js';

export const DEFAULT_MAILBOX_SIZE = 1024;
export const DEFAULT_KIND = 'actor';
/** Messages handled synchronously in one turn before yielding to I/O. */
const BATCH = 256;
const RESOLVED: Promise<void> = Promise.resolve();
const NO_FAILURE: unique symbol = Symbol('no failure');

let fallbackLog: Logger | undefined;
/** Used when no logger is passed, so an unsupervised failure is never silent. */
export function defaultLog(): Logger {
  return (fallbackLog ??= createLogger('info', { component: 'actor' }));
}

function isThenable(v: unknown): v is PromiseLike<void> {
  return v !== undefined && v !== null && typeof (v as PromiseLike<void>).then === 'function';
}

/** Who decides what happens when an incarnation ends on its own (a supervisor, or `spawn`'s default). */
export interface CellOwner {
  /** The incarnation failed (`normal` false) or called `ctx.stop()`; the cell is suspended until `restart()` or `stop()`. */
  exited(failure: unknown, normal: boolean): void;
  /** The cell is finally stopped. */
  stopped(): void;
}

export interface CellOptions {
  mailboxSize?: number;
  kind?: string;
  log?: Logger;
  startAfter?: Promise<unknown>;
}

interface Waiter<M> {
  msg: M;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * One life of an actor between start and failure/stop. It is also the behaviour's context, so
 * a `fail()` from a previous life (a late socket callback) is recognised and ignored.
 */
class Incarnation<M> implements ActorContext<M> {
  readonly controller = new AbortController();
  behavior: Behavior<M> | undefined;
  /** preStart succeeded: postStop is owed. */
  started = false;
  ended = false;
  exitRequested = false;
  failure: unknown = NO_FAILURE;

  constructor(private readonly cell: ActorCell<M>) {}

  get name(): string {
    return this.cell.name;
  }
  get log(): Logger {
    return this.cell.log;
  }
  get self(): ActorRef<M> {
    return this.cell;
  }
  get signal(): AbortSignal {
    return this.controller.signal;
  }
  // Arrow properties so they can be passed as callbacks: socket.on('error', ctx.fail).
  readonly fail = (err: unknown): void => this.cell.incarnationFailed(this, err);
  readonly stop = (): void => this.cell.incarnationExit(this);
}

type Phase = 'pending' | 'active' | 'ending' | 'suspended' | 'stopped';

/**
 * The stable actor ref: owns the bounded mailbox and runs successive incarnations of the
 * behaviour. Messages and blocked producers survive a restart because they live here.
 */
export class ActorCell<M> implements ActorRef<M> {
  readonly kind: string;
  readonly log: Logger;
  readonly capacity: number;
  readonly done: Promise<void>;
  /** Messages ever enqueued; the registry compares it between scans to detect idleness. */
  enqueued = 0;

  private readonly queue = new Ring<M>();
  private readonly waiters = new Ring<Waiter<M>>(2);
  private readonly metrics: KindMetrics;
  private readonly gate: Promise<unknown> | undefined;
  private phase: Phase = 'pending';
  private inc: Incarnation<M> | null = null;
  /** preStart or receive in flight. */
  private busy = false;
  private scheduled = false;
  private intakeOpen = true;
  /** null until stop() is called; then whether to drain. */
  private stopDrain: boolean | null = null;
  private suspendWaiters: (() => void)[] | null = null;
  private receiveStart = 0;
  private resolveDone!: () => void;

  constructor(
    readonly name: string,
    private readonly factory: () => Behavior<M>,
    private readonly owner: CellOwner,
    opts: CellOptions = {},
  ) {
    this.capacity = opts.mailboxSize ?? DEFAULT_MAILBOX_SIZE;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) {
      throw new RangeError(`actor ${name}: mailboxSize must be a positive integer`);
    }
    this.kind = opts.kind ?? DEFAULT_KIND;
    this.log = (opts.log ?? defaultLog()).child({ actor: name, kind: this.kind });
    this.metrics = kindMetrics(this.kind);
    this.gate = opts.startAfter;
    this.done = new Promise<void>((resolve) => (this.resolveDone = resolve));
  }

  // ---- ActorRef -------------------------------------------------------------------------

  get mailboxDepth(): number {
    return this.queue.size;
  }

  send(msg: M): Promise<void> {
    if (!this.intakeOpen) return Promise.reject(this.closedError());
    if (this.waiters.size === 0 && this.queue.size < this.capacity) {
      this.enqueue(msg);
      return RESOLVED; // no allocation on the common path
    }
    return new Promise<void>((resolve, reject) => this.waiters.push({ msg, resolve, reject }));
  }

  trySend(msg: M): boolean {
    if (!this.intakeOpen || this.waiters.size > 0 || this.queue.size >= this.capacity) return false;
    this.enqueue(msg);
    return true;
  }

  stop(opts?: { drain?: boolean }): Promise<void> {
    const drain = opts?.drain ?? true;
    if (this.phase === 'stopped') return this.done;
    this.intakeOpen = false;
    if (this.stopDrain === null || !drain) this.stopDrain = drain;
    if (!drain) this.rejectWaiters();
    switch (this.phase) {
      case 'pending':
        // With messages to drain, the pending start goes ahead and drains them.
        if (!drain || this.queue.size === 0) this.finalize();
        break;
      case 'suspended':
        // No behaviour to drain with (failed, waiting for a restart): queued messages are dropped.
        this.finalize();
        break;
      case 'active':
        this.schedule();
        break;
      case 'ending':
        break; // ended() sees stopDrain
    }
    return this.done;
  }

  // ---- for owners (supervisor, registry) -------------------------------------------------

  get accepting(): boolean {
    return this.intakeOpen;
  }

  get isStopped(): boolean {
    return this.phase === 'stopped';
  }

  /** Running with nothing queued, nothing in flight and no blocked producer. */
  get idle(): boolean {
    return this.phase === 'active' && !this.busy && this.queue.size === 0 && this.waiters.size === 0;
  }

  /** Starts the first incarnation (asynchronously, after `startAfter` if given). */
  begin(): void {
    const go = (): void => {
      if (this.phase !== 'pending') return;
      if (this.stopDrain !== null && (!this.stopDrain || this.queue.size === 0)) this.finalize();
      else this.startIncarnation();
    };
    if (this.gate === undefined) queueMicrotask(go);
    else this.gate.then(go, go);
  }

  /** Starts a fresh incarnation of a suspended cell; false (and nothing happens) otherwise. */
  restart(): boolean {
    if (this.phase !== 'suspended' || this.stopDrain !== null) return false;
    this.phase = 'pending';
    this.begin();
    return true;
  }

  /** Ends the current incarnation after the in-flight message (postStop runs) but keeps the mailbox; resolves once suspended. */
  terminate(): Promise<void> {
    switch (this.phase) {
      case 'stopped':
      case 'suspended':
        return RESOLVED;
      case 'pending':
        this.phase = 'suspended';
        return RESOLVED;
      default:
        return new Promise<void>((resolve) => {
          (this.suspendWaiters ??= []).push(resolve);
          this.schedule();
        });
    }
  }

  // ---- incarnation callbacks ------------------------------------------------------------

  incarnationFailed(inc: Incarnation<M>, err: unknown): void {
    if (inc !== this.inc || inc.ended) {
      this.log.debug({ err }, 'failure reported by an ended incarnation; ignored');
      return;
    }
    this.markFailed(inc, err);
    this.schedule();
  }

  incarnationExit(inc: Incarnation<M>): void {
    if (inc !== this.inc || inc.ended) return;
    inc.exitRequested = true;
    this.schedule();
  }

  // ---- internals ------------------------------------------------------------------------

  private enqueue(msg: M): void {
    this.queue.push(msg);
    this.metrics.depth++;
    this.enqueued++;
    this.schedule();
  }

  /** Dequeues the head and lets the first blocked producer (if any) into the freed slot. */
  private take(): M {
    const msg = this.queue.shift() as M;
    this.metrics.depth--;
    const w = this.waiters.shift();
    if (w !== undefined) {
      this.queue.push(w.msg);
      this.metrics.depth++;
      this.enqueued++;
      w.resolve();
    }
    return msg;
  }

  private schedule(): void {
    if (this.scheduled || this.busy || this.phase !== 'active') return;
    this.scheduled = true;
    queueMicrotask(this.pump);
  }

  private startIncarnation(): void {
    const inc = new Incarnation(this);
    this.inc = inc;
    this.phase = 'active';
    this.busy = true;
    let r: void | Promise<void>;
    try {
      inc.behavior = this.factory();
      r = inc.behavior.preStart?.(inc);
    } catch (err) {
      this.busy = false;
      this.markFailed(inc, err);
      this.endIncarnation(inc);
      return;
    }
    if (isThenable(r)) {
      r.then(
        () => this.preStarted(inc),
        (err: unknown) => {
          this.markFailed(inc, err);
          this.preStarted(inc);
        },
      );
    } else this.preStarted(inc);
  }

  private preStarted(inc: Incarnation<M>): void {
    this.busy = false;
    inc.started = inc.failure === NO_FAILURE;
    this.pump();
  }

  /** The message loop: bound once, runs until the mailbox is empty or a receive goes async. */
  private readonly pump = (): void => {
    this.scheduled = false;
    const inc = this.inc;
    if (this.busy || inc === null || this.phase !== 'active') return;
    const behavior = inc.behavior as Behavior<M>;
    for (let budget = BATCH; ; budget--) {
      if (inc.failure !== NO_FAILURE || inc.exitRequested || this.stopDrain === false || this.suspendWaiters !== null) {
        this.endIncarnation(inc);
        return;
      }
      if (this.queue.size === 0) {
        if (this.stopDrain === true) this.endIncarnation(inc);
        return;
      }
      if (budget === 0) {
        this.scheduled = true;
        setImmediate(this.pump);
        return;
      }
      const msg = this.take();
      this.busy = true; // a synchronous ctx.fail()/self-send inside receive must not re-enter
      const t0 = performance.now();
      let r: void | Promise<void>;
      try {
        r = behavior.receive(msg, inc);
      } catch (err) {
        this.busy = false;
        this.metrics.observeSeconds((performance.now() - t0) / 1000);
        this.markFailed(inc, err);
        continue;
      }
      if (isThenable(r)) {
        this.receiveStart = t0;
        r.then(this.received, this.receiveFailed);
        return;
      }
      this.busy = false;
      this.metrics.observeSeconds((performance.now() - t0) / 1000);
    }
  };

  private readonly received = (): void => {
    this.busy = false;
    this.metrics.observeSeconds((performance.now() - this.receiveStart) / 1000);
    this.pump();
  };

  private readonly receiveFailed = (err: unknown): void => {
    this.busy = false;
    this.metrics.observeSeconds((performance.now() - this.receiveStart) / 1000);
    if (this.inc !== null) this.markFailed(this.inc, err);
    this.pump();
  };

  private markFailed(inc: Incarnation<M>, err: unknown): void {
    if (inc.failure !== NO_FAILURE || inc.ended) return;
    inc.failure = err;
    this.metrics.failures.inc();
    inc.controller.abort(err);
  }

  private endIncarnation(inc: Incarnation<M>): void {
    if (inc.ended) return;
    inc.ended = true;
    this.phase = 'ending';
    if (!inc.controller.signal.aborted) {
      inc.controller.abort(new TickworkError('ACTOR_STOPPED', `actor ${this.name} stopped`));
    }
    const behavior = inc.behavior;
    if (!inc.started || behavior?.postStop === undefined) {
      this.ended(inc);
      return;
    }
    let r: void | Promise<void>;
    try {
      r = behavior.postStop(inc);
    } catch (err) {
      this.log.warn({ err }, 'postStop failed');
      this.ended(inc);
      return;
    }
    if (isThenable(r)) {
      r.then(
        () => this.ended(inc),
        (err: unknown) => {
          this.log.warn({ err }, 'postStop failed');
          this.ended(inc);
        },
      );
    } else this.ended(inc);
  }

  private ended(inc: Incarnation<M>): void {
    this.inc = null;
    if (this.stopDrain !== null) {
      this.finalize();
      return;
    }
    this.phase = 'suspended';
    if (this.suspendWaiters !== null) {
      // Terminated by the supervisor (all-for-one, escalation): it restarts us, no report needed.
      this.resolveSuspendWaiters();
      return;
    }
    const failed = inc.failure !== NO_FAILURE;
    this.owner.exited(failed ? inc.failure : undefined, !failed);
  }

  private finalize(): void {
    if (this.phase === 'stopped') return;
    this.phase = 'stopped';
    this.intakeOpen = false;
    const dropped = this.queue.clear();
    if (dropped > 0) {
      this.metrics.depth -= dropped;
      this.log.warn({ dropped }, 'actor stopped with messages still queued; dropped');
    }
    this.rejectWaiters();
    this.resolveSuspendWaiters();
    this.owner.stopped();
    this.resolveDone();
  }

  private resolveSuspendWaiters(): void {
    const ws = this.suspendWaiters;
    this.suspendWaiters = null;
    if (ws !== null) for (const w of ws) w();
  }

  private rejectWaiters(): void {
    if (this.waiters.size === 0) return;
    const err = this.closedError();
    this.waiters.drain((w) => w.reject(err));
  }

  private closedError(): TickworkError {
    return new TickworkError('MAILBOX_CLOSED', `actor ${this.name} is stopped`);
  }
}

/**
 * An unsupervised actor: a failure is logged at error and stops it (queued messages dropped,
 * blocked producers rejected). Use a Supervisor for restarts.
 */
export function spawn<M>(
  name: string,
  behavior: () => Behavior<M>,
  opts: { mailboxSize?: number; log?: Logger; kind?: string } = {},
): ActorRef<M> {
  const cell: ActorCell<M> = new ActorCell<M>(
    name,
    behavior,
    {
      exited(failure, normal) {
        if (!normal) cell.log.error({ err: failure }, 'unsupervised actor failed; stopping');
        cell.stop({ drain: false });
      },
      stopped() {},
    },
    opts,
  );
  cell.begin();
  return cell;
}
