/**
 * The actor runtime: bounded-mailbox actors, OTP-style supervisors and keyed registries.
 * No market knowledge lives here.
 */
export type {
  ActorContext,
  ActorRef,
  Behavior,
  BackoffPolicy,
  ChildSpec,
  IntensityLimit,
  RestartStrategy,
  RestartType,
  SupervisorPolicy,
} from './types.js';
export { spawn, DEFAULT_MAILBOX_SIZE } from './cell.js';
export { Supervisor, type SupervisorOptions } from './supervisor.js';
export { ActorRegistry, type ActorRegistryOptions } from './registry.js';
export { KEYED_ACTOR_POLICY } from './policy.js';
export { IncarnationTimers } from './timers.js';
export { backoffDelay, backoffCap, sleep } from '../backoff.js';
