import type { SupervisorPolicy } from './types.js';

/**
 * The restart policy of keyed actors (one per symbol): quick first retries, a 5 s ceiling, and
 * escalation when 100 restarts happen within a minute (something systematic, not one bad input).
 */
export const KEYED_ACTOR_POLICY: SupervisorPolicy = {
  strategy: 'one-for-one',
  backoff: { initialMs: 50, maxMs: 5_000, multiplier: 2 },
  intensity: { maxRestarts: 100, withinMs: 60_000 },
};
