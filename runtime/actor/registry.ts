import { TickworkError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ActorCell } from './cell.js';
import { Supervisor } from './supervisor.js';
import type { ActorRef, Behavior, SupervisorPolicy } from './types.js';

export interface ActorRegistryOptions<K extends string, M> {
  behavior: (key: K) => Behavior<M>;
  /** A shared supervisor, or a policy for one owned (and stopped) by this registry. */
  supervisor: Supervisor | SupervisorPolicy;
  /** Stop actors that received nothing for this long (postStop runs); the next message respawns them. */
  idleMs?: number;
  mailboxSize?: number;
  kind?: string;
  log?: Logger;
  /** For an owned supervisor: where its escalation goes when it has no parent. */
  onEscalate?: (err: unknown) => void;
}

interface Entry<M> {
  readonly cell: ActorCell<M>;
  /** `cell.enqueued` at the last scan; unchanged means no message arrived since. */
  seen: number;
  idleSince: number;
}

/**
 * Keyed actors (one per venue+symbol): spawns on the first message for a key, passivates idle
 * ones, stops all in spawn order. A respawned key starts only after its previous actor finished
 * postStop, so two lives of one key never overlap (a snapshot is flushed before it is reloaded).
 */
export class ActorRegistry<K extends string, M> {
  readonly supervisor: Supervisor;
  private readonly ownsSupervisor: boolean;
  private readonly entries = new Map<K, Entry<M>>(); // insertion order = spawn order
  private readonly stopping = new Map<K, Promise<void>>();
  private readonly idleMs: number | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly opts: ActorRegistryOptions<K, M>,
  ) {
    if (opts.supervisor instanceof Supervisor) {
      this.supervisor = opts.supervisor;
      this.ownsSupervisor = false;
    } else {
      this.supervisor = new Supervisor(name, opts.supervisor, { log: opts.log, onEscalate: opts.onEscalate });
      this.ownsSupervisor = true;
    }
    if (opts.idleMs !== undefined && !(opts.idleMs > 0)) throw new RangeError(`registry ${name}: idleMs must be > 0`);
    this.idleMs = opts.idleMs;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Sends to the key's actor, spawning it on first use; back-pressure as `ActorRef.send`. */
  send(key: K, msg: M): Promise<void> {
    const e = this.entries.get(key);
    if (e !== undefined && e.cell.accepting) return e.cell.send(msg);
    if (this.closed) return Promise.reject(new TickworkError('MAILBOX_CLOSED', `registry ${this.name} is stopped`));
    let cell: ActorCell<M>;
    try {
      cell = this.spawn(key, e);
    } catch (err) {
      return Promise.reject(err);
    }
    return cell.send(msg);
  }

  get(key: K): ActorRef<M> | undefined {
    return this.entries.get(key)?.cell;
  }

  keys(): K[] {
    return [...this.entries.keys()];
  }

  /** Stops every actor in spawn order (draining, postStop), then an owned supervisor; later sends reject. */
  async stopAll(): Promise<void> {
    this.closed = true;
    if (this.scanTimer !== undefined) clearInterval(this.scanTimer);
    this.scanTimer = undefined;
    for (const e of [...this.entries.values()]) await e.cell.stop();
    await Promise.all(this.stopping.values());
    if (this.ownsSupervisor) await this.supervisor.stop();
  }

  private spawn(key: K, previous: Entry<M> | undefined): ActorCell<M> {
    // A key whose actor is still stopping (passivated, or stopped by hand) waits for its postStop.
    const before = this.stopping.get(key) ?? previous?.cell.done;
    const cell = this.supervisor.start<M>({
      id: `${this.name}:${key}`,
      behavior: () => this.opts.behavior(key),
      restart: 'permanent',
      mailboxSize: this.opts.mailboxSize,
      kind: this.opts.kind,
      startAfter: before,
    }) as ActorCell<M>;
    this.entries.delete(key); // re-insert so iteration order stays spawn order
    this.entries.set(key, { cell, seen: cell.enqueued, idleSince: performance.now() });
    void cell.done.then(() => {
      if (this.entries.get(key)?.cell === cell) this.entries.delete(key);
    });
    if (this.idleMs !== undefined && this.scanTimer === undefined) {
      // Scanning at a quarter of idleMs passivates between idleMs and 1.25 × idleMs of silence, with no per-message bookkeeping.
      this.scanTimer = setInterval(this.scan, Math.max(5, this.idleMs / 4));
      this.scanTimer.unref();
    }
    return cell;
  }

  private readonly scan = (): void => {
    const now = performance.now();
    const idleMs = this.idleMs as number;
    for (const [key, e] of this.entries) {
      if (e.cell.enqueued !== e.seen || !e.cell.idle) {
        e.seen = e.cell.enqueued;
        e.idleSince = now;
      } else if (now - e.idleSince >= idleMs) {
        this.passivate(key, e);
      }
    }
  };

  private passivate(key: K, e: Entry<M>): void {
    this.entries.delete(key);
    const stopped = e.cell.stop();
    this.stopping.set(key, stopped);
    void stopped.then(() => {
      if (this.stopping.get(key) === stopped) this.stopping.delete(key);
    });
  }
}
