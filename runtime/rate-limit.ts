/**
 * The one rate limiter. Two shapes of limit, one interface:
 * - `TokenBucket`: a sustained rate with a burst allowance ("5 messages per second");
 * - `SlidingWindowLimit`: an exact count per trailing window ("300 connections per 5 minutes"),
 *   which a token bucket cannot express without allowing up to twice the count in a window.
 * Feeds use them to stay under exchange limits; the simulator uses them to enforce them.
 * Waiting callers are served first-in first-out, and a waiter blocks later `tryTake` calls.
 */

export interface RateLimiter {
  /** Takes `n` permits now if available (and nobody is waiting); never waits. */
  tryTake(n?: number): boolean;
  /** Waits (FIFO) until `n` permits are available and takes them; rejects with `signal.reason` on abort. */
  take(n?: number, signal?: AbortSignal): Promise<void>;
  /** Milliseconds until `n` permits would be available, ignoring waiters; 0 when available now. */
  waitMs(n?: number): number;
}

interface Waiter {
  n: number;
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

const RESOLVED: Promise<void> = Promise.resolve();

/** FIFO waiting shared by both limits; subclasses say how permits are counted. */
abstract class WaitingLimiter implements RateLimiter {
  private readonly waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;

  protected abstract acquire(n: number): boolean;
  protected abstract check(n: number): void;
  abstract waitMs(n?: number): number;

  tryTake(n = 1): boolean {
    this.check(n);
    return this.waiters.length === 0 && this.acquire(n);
  }

  take(n = 1, signal?: AbortSignal): Promise<void> {
    this.check(n);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.waiters.length === 0 && this.acquire(n)) return RESOLVED;
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { n, resolve, reject, signal, onAbort: undefined };
      if (signal !== undefined) {
        w.onAbort = () => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason);
          // The aborted waiter may have been the head everyone else queued behind.
          this.reschedule();
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiters.push(w);
      if (this.waiters.length === 1) this.reschedule();
    });
  }

  private reschedule(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.serve();
  }

  private serve = (): void => {
    this.timer = undefined;
    let head = this.waiters[0];
    while (head !== undefined && this.acquire(head.n)) {
      this.waiters.shift();
      if (head.onAbort !== undefined) head.signal?.removeEventListener('abort', head.onAbort);
      head.resolve();
      head = this.waiters[0];
    }
    if (head !== undefined) {
      // Timers may fire a little early against a monotonic clock; serve() re-arms if so.
      this.timer = setTimeout(this.serve, Math.max(1, Math.ceil(this.waitMs(head.n))));
    }
  };
}

export interface TokenBucketOptions {
  /** Burst size: the most tokens the bucket holds (it starts full). */
  capacity: number;
  refillPerSec: number;
  /** Monotonic clock in ms; injectable for tests. */
  now?: () => number;
}

export class TokenBucket extends WaitingLimiter {
  readonly capacity: number;
  readonly refillPerSec: number;
  private readonly now: () => number;
  private tokens: number;
  private last: number;

  constructor(opts: TokenBucketOptions) {
    super();
    if (!(opts.capacity > 0) || !(opts.refillPerSec > 0)) {
      throw new RangeError('TokenBucket: capacity and refillPerSec must be > 0');
    }
    this.capacity = opts.capacity;
    this.refillPerSec = opts.refillPerSec;
    this.now = opts.now ?? (() => performance.now());
    this.tokens = opts.capacity;
    this.last = this.now();
  }

  /** Whole tokens available now. */
  get available(): number {
    this.refill();
    return Math.floor(this.tokens);
  }

  waitMs(n = 1): number {
    this.refill();
    return this.tokens >= n ? 0 : ((n - this.tokens) * 1000) / this.refillPerSec;
  }

  protected check(n: number): void {
    if (!(n > 0) || n > this.capacity) throw new RangeError(`TokenBucket: cannot take ${n} of capacity ${this.capacity}`);
  }

  protected acquire(n: number): boolean {
    this.refill();
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  private refill(): void {
    const t = this.now();
    const added = ((t - this.last) * this.refillPerSec) / 1000;
    this.last = t;
    if (added > 0) this.tokens = Math.min(this.capacity, this.tokens + added);
  }
}

export interface SlidingWindowOptions {
  /** At most this many permits in any trailing window of `windowMs`. */
  limit: number;
  windowMs: number;
  now?: () => number;
}

export class SlidingWindowLimit extends WaitingLimiter {
  readonly limit: number;
  readonly windowMs: number;
  private readonly now: () => number;
  // Ring of the grant times still inside the window, oldest at `head`.
  private readonly times: Float64Array;
  private head = 0;
  private count = 0;

  constructor(opts: SlidingWindowOptions) {
    super();
    if (!Number.isInteger(opts.limit) || opts.limit <= 0 || !(opts.windowMs > 0)) {
      throw new RangeError('SlidingWindowLimit: limit must be a positive integer and windowMs > 0');
    }
    this.limit = opts.limit;
    this.windowMs = opts.windowMs;
    this.now = opts.now ?? (() => performance.now());
    this.times = new Float64Array(opts.limit);
  }

  /** Permits available now. */
  get available(): number {
    this.prune(this.now());
    return this.limit - this.count;
  }

  waitMs(n = 1): number {
    const t = this.now();
    this.prune(t);
    const excess = this.count + n - this.limit;
    if (excess <= 0) return 0;
    // The window frees the `excess`-th oldest grant at its time + windowMs.
    const freedAt = this.times[(this.head + excess - 1) % this.limit]! + this.windowMs;
    return Math.max(0, freedAt - t);
  }

  protected check(n: number): void {
    if (!Number.isInteger(n) || n <= 0 || n > this.limit) {
      throw new RangeError(`SlidingWindowLimit: cannot take ${n} of limit ${this.limit}`);
    }
  }

  protected acquire(n: number): boolean {
    const t = this.now();
    this.prune(t);
    if (this.count + n > this.limit) return false;
    for (let i = 0; i < n; i++) {
      this.times[(this.head + this.count) % this.limit] = t;
      this.count++;
    }
    return true;
  }

  private prune(t: number): void {
    while (this.count > 0 && this.times[this.head]! + this.windowMs <= t) {
      this.head = (this.head + 1) % this.limit;
      this.count--;
    }
  }
}
