/**
 * The one back-off helper: exponential growth with full jitter (AWS "Exponential Backoff and
 * Jitter"). Supervisors use it between restarts, feeds between reconnects.
 */

export interface BackoffPolicy {
  /** Cap of the first attempt's delay (attempt 0). */
  initialMs: number;
  /** Upper bound of every delay. */
  maxMs: number;
  /** Growth of the cap per attempt. */
  multiplier: number;
  /**
   * A child that ran this long since its last restart starts over at attempt 0 (a reconnect
   * after an hour of healthy streaming should not wait as long as the tenth retry in a row).
   * The intensity limit still counts every restart. Absent: attempts count within the window only.
   */
  resetAfterMs?: number;
}

/** The cap for `attempt` (0-based): min(maxMs, initialMs * multiplier^attempt). */
export function backoffCap(attempt: number, policy: BackoffPolicy): number {
  if (policy.initialMs <= 0 || policy.maxMs <= 0) return 0;
  const exp = policy.initialMs * Math.pow(policy.multiplier, Math.max(0, attempt));
  // Infinity or NaN from huge attempts clamp to maxMs.
  return exp < policy.maxMs ? exp : policy.maxMs;
}

/** Full jitter: a uniformly random delay in [0, cap(attempt)). */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  return random() * backoffCap(attempt, policy);
}

/** Resolves after `ms`; rejects with `signal.reason` as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
