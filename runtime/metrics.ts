import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * One prom-client registry per process, with default process metrics. Modules get or create
 * their metrics through these helpers so a second instantiation (restart, tests) reuses the
 * registered metric instead of throwing "already registered".
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'tickwork_' });

type Cfg<L extends string> = { name: string; help: string; labelNames?: readonly L[] };

export function counter<L extends string = string>(cfg: Cfg<L>): Counter<L> {
  return (registry.getSingleMetric(cfg.name) as Counter<L> | undefined) ?? new Counter<L>({ ...cfg, registers: [registry] });
}

export function gauge<L extends string = string>(cfg: Cfg<L>): Gauge<L> {
  return (registry.getSingleMetric(cfg.name) as Gauge<L> | undefined) ?? new Gauge<L>({ ...cfg, registers: [registry] });
}

export function histogram<L extends string = string>(cfg: Cfg<L> & { buckets?: number[] }): Histogram<L> {
  return (registry.getSingleMetric(cfg.name) as Histogram<L> | undefined) ?? new Histogram<L>({ ...cfg, registers: [registry] });
}
