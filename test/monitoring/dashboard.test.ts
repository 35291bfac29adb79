import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { metricNames, readRepo, waitForHttp } from '../deploy/helpers.js';
import { isolated } from '../harness.js';
import { startStack, type Stack } from './stack.js';

/**
 * The Grafana dashboard's queries (monitoring/grafana/dashboards/tickwork.json) and the alert
 * rules name only metrics that running tickwork processes export (scraped from a live feed,
 * worker, sink and api; the worker-group metrics included); every query is valid PromQL
 * (promtool parses it as a recording rule).
 */
const execFileAsync = promisify(execFile);
const iso = isolated();
let stack: Stack;
let exported: Set<string>;

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}
const dashboard = JSON.parse(readRepo('monitoring/grafana/dashboards/tickwork.json')) as { uid: string; panels: Panel[] };
const queries = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
const rules = (parse(readRepo('monitoring/prometheus/rules.yml')) as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) =>
  g.rules.map((r) => ({ panel: `alert ${r.alert}`, expr: r.expr })),
);

beforeAll(async () => {
  stack = await startStack(iso);
  // Trades flowing, so every labelled series has been touched.
  await waitForHttp(`http://127.0.0.1:${stack.ports.worker}/metrics`, (_s, body) => /tickwork_symbol_trades_applied_total\{[^}]*\} [1-9]/.test(body), 120_000);
  exported = new Set(['up']);
  for (const port of Object.values(stack.ports)) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const n of metricNames(text)) exported.add(n);
  }
}, 300_000);

afterAll(async () => {
  await stack?.close();
  await iso.cleanup();
});

/** Metric names a PromQL expression refers to (identifiers followed by a selector, range or operator, not functions or labels). */
function metricsIn(expr: string): string[] {
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\{[^}]*\}/g, '{}').replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  return [...noStrings.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)]
    .map((m) => m[1]!)
    .filter((n) => /^(tickwork_|up$)/.test(n));
}

function unknownMetrics(exprs: { panel: string; expr: string }[]): string[] {
  const known = exported;
  return exprs.flatMap(({ panel, expr }) => metricsIn(expr).filter((m) => !known.has(m)).map((m) => `${panel}: ${m}`));
}

describe('Grafana dashboard and alert rules name real metrics', () => {
  it('the dashboard has the panels the issue asks for', () => {
    const titles = dashboard.panels.map((p) => p.title).join(' | ');
    for (const what of [/per venue/, /End-to-end latency/, /Consumer lag/, /Reconnects/, /Dead-lettered/, /Actor restarts/, /Owned symbols/]) expect(titles).toMatch(what);
    expect(queries.length).toBeGreaterThan(15);
  });

  it('every panel query names metrics a running process exports', () => {
    expect(exported.has('tickwork_feed_trades_published_total')).toBe(true);
    expect(exported.has('tickwork_worker_consumer_lag')).toBe(true);
    expect(unknownMetrics(queries)).toEqual([]);
    expect(unknownMetrics(rules)).toEqual([]);
  });

  it('a query with a metric nobody exports is reported', () => {
    expect(unknownMetrics([{ panel: 'broken', expr: 'sum(rate(tickwork_feed_trades_publishd_total[1m]))' }])).toEqual(['broken: tickwork_feed_trades_publishd_total']);
  });

  it('every panel query is valid PromQL (promtool)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickwork-dash-'));
    try {
      const asRules = (qs: typeof queries) => ({
        groups: [{ name: 'dashboard', rules: qs.map((q, i) => ({ record: `dashboard:query:${i}`, expr: q.expr.replace(/\$__rate_interval/g, '1m') })) }],
      });
      writeFileSync(join(dir, 'ok.yml'), stringify(asRules(queries)));
      await execFileAsync('promtool', ['check', 'rules', join(dir, 'ok.yml')]);
      writeFileSync(join(dir, 'bad.yml'), stringify(asRules([{ panel: 'bad', expr: 'sum(rate(tickwork_feed_frames_total[1m])' }])));
      await expect(execFileAsync('promtool', ['check', 'rules', join(dir, 'bad.yml')])).rejects.toThrow(/parse error|unclosed/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
