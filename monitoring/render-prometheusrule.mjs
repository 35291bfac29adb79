#!/usr/bin/env node
// Writes deploy/k8s/base/prometheusrule.yaml from monitoring/prometheus/rules.yml: one rules file
// for docker-compose's Prometheus and the Prometheus Operator. test/deploy/k8s.test.ts fails when
// the two differ (run `node monitoring/render-prometheusrule.mjs` after editing the rules).
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';

const root = new URL('..', import.meta.url);
export function renderPrometheusRule(rulesText) {
  const rules = parse(rulesText);
  const doc = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'tickwork' },
    spec: { groups: rules.groups },
  };
  return `# Generated from monitoring/prometheus/rules.yml by monitoring/render-prometheusrule.mjs: edit that file.\n${stringify(doc, { lineWidth: 0 })}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const out = renderPrometheusRule(readFileSync(new URL('monitoring/prometheus/rules.yml', root), 'utf8'));
  writeFileSync(new URL('deploy/k8s/base/prometheusrule.yaml', root), out);
}
