import type { SupervisorPolicy } from '../../../runtime/actor/index.js';

export { silentLogger as log } from '../../../runtime/logger.js';

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` with real timers; fails with `what` after `timeoutMs`. */
export async function until(cond: () => boolean, what: string, timeoutMs = 1500): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(2);
  }
}

export interface Gate {
  promise: Promise<void>;
  open(): void;
}
export function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** Tracks whether a promise settled, without awaiting it. */
export function settled<T>(p: Promise<T>): { readonly done: boolean; readonly error: unknown } {
  const s = { done: false, error: undefined as unknown };
  p.then(
    () => (s.done = true),
    (e: unknown) => {
      s.done = true;
      s.error = e;
    },
  );
  return s;
}

export function policy(over: Partial<SupervisorPolicy> = {}): SupervisorPolicy {
  return {
    strategy: 'one-for-one',
    backoff: { initialMs: 5, maxMs: 20, multiplier: 2 },
    intensity: { maxRestarts: 50, withinMs: 5000 },
    ...over,
  };
}
