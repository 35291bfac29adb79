import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { VENUES } from '../../venues/index.js';
import { repoRoot } from '../harness.js';
import { cliCommands, readRepo } from './helpers.js';
import { allowed, find, matches, renderOverlay, validateSchemas, workloads, type K8sObject, type Peer } from './k8s.js';

/**
 * deploy/k8s overlays rendered by `kubectl kustomize` (kustomize v5), every object validated
 * against the Kubernetes schemas (kubernetes-models; prometheus-operator models for the CRDs),
 * then cross-checked: selectors, references, ports, probes, CLI commands, venues, security,
 * NetworkPolicy flows, and the PrometheusRule against monitoring/prometheus/rules.yml.
 */
const k8sDir = join(repoRoot, 'deploy/k8s');
const OVERLAYS = ['dev', 'prod'] as const;
// The CLI's own answer: its command list, and each command's --help (options), asked once.
const cli = await cliCommands();
const rendered = Object.fromEntries(OVERLAYS.map((o) => [o, renderOverlay(k8sDir, o)])) as Record<(typeof OVERLAYS)[number], K8sObject[]>;

/** Paths every tickwork process serves (runtime/http.ts registers them on every role's server). */
const SERVED = new Set([...readRepo('runtime/http.ts').matchAll(/app\.get\('([^']+)'/g)].map((m) => m[1]!));
const TICKWORK_IMAGE = /(^|\/)tickwork(:|$)/;

/** JSON with sorted keys: kustomize prints keys sorted. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x));

/** Every problem found in one rendered overlay; empty when it is sound. `cli`: command → its --help text. */
function check(objs: K8sObject[], overlay: string, cli: Map<string, string>): string[] {
  const p: string[] = [];
  const ns = objs.find((o) => o.metadata.namespace)?.metadata.namespace ?? 'default';
  const pods = workloads(objs);
  const byKind = (k: string) => objs.filter((o) => o.kind === k);

  for (const w of pods) {
    const at = `${w.kind}/${w.name}`;
    if (w.kind !== 'Job' && !matches(w.selector, w.labels)) p.push(`${at}: selector ${JSON.stringify(w.selector)} does not match its pod labels`);
    const psc = w.pod.securityContext ?? {};
    if (psc.runAsNonRoot !== true) p.push(`${at}: pod securityContext.runAsNonRoot is not true`);
    for (const c of w.pod.containers) {
      const cat = `${at} container ${c.name}`;
      const sc = c.securityContext ?? {};
      if (sc.readOnlyRootFilesystem !== true) p.push(`${cat}: readOnlyRootFilesystem is not true`);
      if (sc.allowPrivilegeEscalation !== false) p.push(`${cat}: allowPrivilegeEscalation is not false`);
      if (!sc.capabilities?.drop?.includes('ALL')) p.push(`${cat}: capabilities do not drop ALL`);
      if ((sc.seccompProfile ?? psc.seccompProfile)?.type !== 'RuntimeDefault') p.push(`${cat}: seccompProfile is not RuntimeDefault`);
      for (const r of ['cpu', 'memory']) {
        if (!c.resources?.requests?.[r]) p.push(`${cat}: no ${r} request`);
        if (!c.resources?.limits?.[r]) p.push(`${cat}: no ${r} limit`);
      }
      // References: ConfigMaps, Secrets, volumes.
      for (const e of c.envFrom ?? []) {
        if (e.configMapRef && !find(objs, 'ConfigMap', e.configMapRef.name)) p.push(`${cat}: envFrom ConfigMap ${e.configMapRef.name} does not exist`);
        if (e.secretRef && !find(objs, 'Secret', e.secretRef.name)) p.push(`${cat}: envFrom Secret ${e.secretRef.name} does not exist`);
      }
      for (const e of c.env ?? []) {
        const cm = e.valueFrom?.configMapKeyRef?.name;
        const sec = e.valueFrom?.secretKeyRef?.name;
        if (cm && !find(objs, 'ConfigMap', cm)) p.push(`${cat}: env ${e.name} ConfigMap ${cm} does not exist`);
        if (sec && !find(objs, 'Secret', sec)) p.push(`${cat}: env ${e.name} Secret ${sec} does not exist`);
      }
      for (const m of c.volumeMounts ?? []) {
        const isClaim = ((w.obj.spec as { volumeClaimTemplates?: { metadata: { name: string } }[] }).volumeClaimTemplates ?? []).some((t) => t.metadata.name === m.name);
        if (!isClaim && !(w.pod.volumes ?? []).some((v) => v.name === m.name)) p.push(`${cat}: volumeMount ${m.name} has no volume`);
      }
      for (const v of w.pod.volumes ?? []) {
        if (v.configMap && !find(objs, 'ConfigMap', v.configMap.name)) p.push(`${at}: volume ConfigMap ${v.configMap.name} does not exist`);
        if (v.secret && !find(objs, 'Secret', v.secret.secretName)) p.push(`${at}: volume Secret ${v.secret.secretName} does not exist`);
      }
      // Probes: named ports exist; tickwork paths are ones the process serves.
      const longRunning = w.kind !== 'Job';
      for (const kind of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
        const probe = c[kind];
        if (!probe) {
          if (longRunning) p.push(`${cat}: no ${kind}`);
          continue;
        }
        const g = probe.httpGet;
        if (g && typeof g.port === 'string' && !(c.ports ?? []).some((x) => x.name === g.port)) p.push(`${cat}: ${kind} port ${g.port} is not a container port`);
        if (g && TICKWORK_IMAGE.test(c.image ?? '') && !SERVED.has(g.path)) p.push(`${cat}: ${kind} path ${g.path} is not served (serves ${[...SERVED].join(' ')})`);
      }
      if (TICKWORK_IMAGE.test(c.image ?? '')) {
        if (longRunning && (c.livenessProbe?.httpGet?.path !== '/healthz' || c.readinessProbe?.httpGet?.path !== '/readyz')) p.push(`${cat}: liveness must be /healthz and readiness /readyz`);
        // The image's entrypoint is the CLI: args are a tickwork command line.
        if (c.command) p.push(`${cat}: overrides the entrypoint (${c.command.join(' ')}): use args with a tickwork command`);
        const args = c.args ?? [];
        const words = args.filter((a, i) => !a.startsWith('-') && (i === 0 || !args[i - 1]!.startsWith('--')));
        const help = cli.get(args[0] ?? '');
        if (help === undefined) p.push(`${cat}: "${args.join(' ')}" is not a tickwork command`);
        else {
          for (const flag of args.filter((a) => a.startsWith('--'))) if (!help.includes(flag.split('=')[0]!)) p.push(`${cat}: tickwork ${args[0]} has no option ${flag}`);
          if (words.length > 1 && words[0] !== 'feed') p.push(`${cat}: unexpected arguments ${words.slice(1).join(' ')}`);
        }
      }
    }
  }

  // Services select pods and name ports those pods have; StatefulSets name a headless Service.
  for (const s of byKind('Service')) {
    const spec = s.spec as { selector?: Record<string, string>; clusterIP?: string; ports: { name?: string; targetPort?: string | number }[] };
    const selected = pods.filter((w) => matches(spec.selector, w.labels));
    if (!selected.length) p.push(`Service/${s.metadata.name}: selector ${JSON.stringify(spec.selector)} matches no pod`);
    for (const port of spec.ports) {
      if (typeof port.targetPort === 'string' && !selected.every((w) => w.pod.containers.some((c) => (c.ports ?? []).some((x) => x.name === port.targetPort))))
        p.push(`Service/${s.metadata.name}: targetPort ${port.targetPort} is not a port of every selected pod`);
    }
  }
  for (const w of pods.filter((x) => x.kind === 'StatefulSet')) {
    const svcName = (w.obj.spec as { serviceName?: string }).serviceName;
    const svc = svcName ? find(objs, 'Service', svcName) : undefined;
    if (!svc) p.push(`StatefulSet/${w.name}: serviceName ${svcName} is not a Service`);
    else if ((svc.spec as { clusterIP?: string }).clusterIP !== 'None') p.push(`StatefulSet/${w.name}: Service ${svcName} is not headless`);
    else if (!matches((svc.spec as { selector?: Record<string, string> }).selector, w.labels)) p.push(`StatefulSet/${w.name}: Service ${svcName} does not select its pods`);
  }
  for (const pdb of byKind('PodDisruptionBudget')) {
    const sel = (pdb.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
    if (!pods.some((w) => matches(sel, w.labels))) p.push(`PodDisruptionBudget/${pdb.metadata.name}: selects no pod`);
  }
  for (const h of byKind('HorizontalPodAutoscaler')) {
    const ref = (h.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
    const target = find(objs, ref.kind, ref.name);
    if (!target) p.push(`HorizontalPodAutoscaler/${h.metadata.name}: target ${ref.kind}/${ref.name} does not exist`);
    else if ((target.spec as { replicas?: number }).replicas !== undefined) p.push(`${ref.kind}/${ref.name}: sets replicas although an HPA owns them`);
  }
  for (const np of byKind('NetworkPolicy')) {
    const sel = (np.spec as { podSelector: { matchLabels?: Record<string, string> } }).podSelector.matchLabels ?? {};
    if (!pods.some((w) => matches(sel, w.labels))) p.push(`NetworkPolicy/${np.metadata.name}: podSelector matches no pod`);
  }
  for (const sm of byKind('ServiceMonitor')) {
    const spec = sm.spec as { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] };
    const svcs = byKind('Service').filter((s) => matches(spec.selector.matchLabels, s.metadata.labels ?? {}));
    if (!svcs.length) p.push(`ServiceMonitor/${sm.metadata.name}: selects no Service`);
    for (const e of spec.endpoints)
      for (const s of svcs) if (!(s.spec as { ports: { name?: string }[] }).ports.some((x) => x.name === e.port)) p.push(`ServiceMonitor/${sm.metadata.name}: Service ${s.metadata.name} has no port ${e.port}`);
    for (const role of ['feed', 'worker', 'sink', 'spread', 'api'])
      if (!svcs.some((s) => (s.metadata.labels ?? {})['app.kubernetes.io/component'] === role)) p.push(`ServiceMonitor/${sm.metadata.name}: no Service for role ${role}`);
  }

  // Credentials only in Secrets.
  for (const cm of byKind('ConfigMap')) {
    for (const [k, v] of Object.entries((cm.data as Record<string, string>) ?? {})) {
      if (/PASSWORD|TOKEN|SECRET|NKEY_SEED$|CREDS$/.test(k)) p.push(`ConfigMap/${cm.metadata.name}: ${k} is a credential`);
      if (/:\/\/[^/@\s]*:[^/@\s]+@/.test(v)) p.push(`ConfigMap/${cm.metadata.name}: ${k} holds a URL with a password`);
    }
  }

  // Roles: every venue of the registry has a feed Deployment; the worker group needs no ordinals.
  const feeds = pods.filter((w) => w.labels['app.kubernetes.io/component'] === 'feed');
  for (const v of VENUES) {
    const f = feeds.find((w) => w.pod.containers.some((c) => (c.args ?? []).join(' ') === `feed --venue ${v.id}`));
    if (!f) p.push(`venue ${v.id}: no feed Deployment running "feed --venue ${v.id}"`);
    else if (f.kind !== 'Deployment') p.push(`venue ${v.id}: feed is a ${f.kind}, not a Deployment`);
  }
  const worker = pods.find((w) => w.labels['app.kubernetes.io/component'] === 'worker');
  if (worker?.kind !== 'Deployment') p.push('worker group: not a Deployment');
  else if (JSON.stringify(worker.pod.containers[0]!.args) !== '["worker"]') p.push(`worker group: args ${JSON.stringify(worker.pod.containers[0]!.args)} (expected ["worker"], no --shard)`);
  const cfg = (find(objs, 'ConfigMap', 'tickwork-config')?.data ?? {}) as Record<string, string>;
  if (!/^\d+$/.test(cfg.TICKWORK_LEASE_TTL_MS ?? '')) p.push('tickwork-config: TICKWORK_LEASE_TTL_MS is not set');
  for (const role of ['sink', 'spread', 'api', 'migrate'])
    if (!pods.some((w) => w.labels['app.kubernetes.io/component'] === role)) p.push(`role ${role}: no workload`);
  if (!byKind('HorizontalPodAutoscaler').some((h) => (h.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name === 'tickwork-api')) p.push('api: no HorizontalPodAutoscaler');

  // The alert rules are the compose Prometheus' rules, unchanged.
  const rule = find(objs, 'PrometheusRule', 'tickwork');
  const rulesYml = parse(readRepo('monitoring/prometheus/rules.yml')) as { groups: unknown };
  if (!rule) p.push('PrometheusRule/tickwork: missing');
  else if (canonical((rule.spec as { groups: unknown }).groups) !== canonical(rulesYml.groups))
    p.push('PrometheusRule/tickwork: differs from monitoring/prometheus/rules.yml (run node monitoring/render-prometheusrule.mjs)');

  // NetworkPolicies: the flows tickwork needs are open, a few it does not need are closed.
  const np = byKind('NetworkPolicy');
  const pod = (labels: Record<string, string>, podNs = ns): Peer => ({ kind: 'pod', ns: podNs, labels });
  const role = (r: string) => pods.find((w) => w.labels['app.kubernetes.io/component'] === r)?.labels ?? { 'app.kubernetes.io/component': r };
  const nats = pods.find((w) => w.name === 'nats')?.labels ?? {};
  const dns = pod({ 'k8s-app': 'kube-dns' }, 'kube-system');
  const prometheus = pod({ 'app.kubernetes.io/name': 'prometheus' }, 'monitoring');
  const ext: Peer = { kind: 'external' };
  const venuePorts = [...new Set(VENUES.flatMap((v) => [v.wsUrl, v.restUrl ?? v.wsUrl]).map((u) => Number(new URL(u).port) || 443))];
  const need: [string, Peer, Peer, number, string?][] = [
    ...['feed', 'worker', 'sink', 'spread', 'api', 'migrate'].flatMap((r): [string, Peer, Peer, number, string?][] => [
      [`${r} -> nats:4222`, pod(role(r)), pod(nats), 4222],
      [`${r} -> redis:6379`, pod(role(r)), ext, 6379],
      [`${r} -> postgres:5432`, pod(role(r)), ext, 5432],
      [`${r} -> dns:53/udp`, pod(role(r)), dns, 53, 'UDP'],
    ]),
    ...['feed', 'worker', 'sink', 'spread', 'api'].map((r): [string, Peer, Peer, number] => [`prometheus -> ${r}:8080`, prometheus, pod(role(r)), 8080]),
    ...venuePorts.map((port): [string, Peer, Peer, number] => [`feed -> venues:${port}`, pod(role('feed')), ext, port]),
    ['nats -> nats:6222', pod(nats), pod(nats), 6222],
    ['prometheus -> nats:8222', prometheus, pod(nats), 8222],
    ['clients -> api:8080', ext, pod(role('api')), 8080],
  ];
  const forbidden: [string, Peer, Peer, number][] = [
    ['worker -> internet:443', pod(role('worker')), ext, 443],
    ['api -> internet:443', pod(role('api')), ext, 443],
    ['feed -> api:8080', pod(role('feed')), pod(role('api')), 8080],
    ['internet -> worker:8080', ext, pod(role('worker')), 8080],
    ['api -> nats:6222', pod(role('api')), pod(nats), 6222],
  ];
  for (const [what, src, dst, port, proto] of need) if (!allowed(np, ns, src, dst, port, proto)) p.push(`NetworkPolicy: needed flow ${what} is blocked`);
  for (const [what, src, dst, port] of forbidden) if (allowed(np, ns, src, dst, port)) p.push(`NetworkPolicy: flow ${what} is open`);

  if (overlay === 'prod') {
    const sts = pods.find((w) => w.name === 'nats');
    if (sts?.replicas !== 3) p.push(`prod: nats has ${sts?.replicas} replicas, not 3`);
    if (cfg.TICKWORK_STREAM_REPLICAS !== '3') p.push('prod: TICKWORK_STREAM_REPLICAS is not 3');
    const seeds = (cfg.NATS_URL ?? '').split(',');
    if (seeds.length !== 3 || !seeds.every((u, i) => u === `nats://nats-${i}.nats:4222`)) p.push(`prod: NATS_URL ${cfg.NATS_URL} is not the 3 servers' seed list`);
    const conf = Object.values((objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('nats-config'))?.data ?? {}) as Record<string, string>).join('\n');
    for (let i = 0; i < 3; i++) if (!conf.includes(`nats://nats-${i}.nats:6222`)) p.push(`prod: nats.conf has no route to nats-${i}`);
    // binance-us and binance-futures ship at 0 replicas on purpose (deploy/k8s/base/feeds.yaml says why).
    for (const f of feeds.filter((w) => !['binance-us', 'binance-futures'].includes(w.labels['tickwork.io/venue'] ?? ''))) if (f.replicas !== 2) p.push(`prod: ${f.name} has ${f.replicas} replicas, not 2`);
    if ((worker?.replicas ?? 0) < 3) p.push('prod: fewer than 3 workers');
  }
  return p;
}

describe.each(OVERLAYS)('deploy/k8s/overlays/%s', (overlay) => {
  const objs = rendered[overlay];

  it('every object is valid against the Kubernetes (and Prometheus Operator) schemas', async () => {
    expect(objs.length).toBeGreaterThan(20);
    expect(await validateSchemas(objs)).toEqual([]);
  });

  it('cross-references, security, probes, commands, venues, network flows and rules hold', { timeout: 120_000 }, () => {
    expect(check(objs, overlay, cli)).toEqual([]);
  });
});

describe('deploy/k8s checks fail on broken input', () => {
  const base = rendered.prod;
  const broken = (f: (objs: K8sObject[]) => void) => {
    const copy = structuredClone(base);
    f(copy);
    return check(copy, 'prod', cli);
  };

  it('bad YAML fails the render', () => {
    expect(() => renderOverlay(k8sDir, 'dev', (dir) => appendFileSync(join(dir, 'base/worker.yaml'), '\n  - [unclosed\n'))).toThrow(/kustomize|yaml/i);
  });

  it('a missing Service, a wrong selector, a bad command and an open flow are reported', () => {
    expect(broken((o) => o.splice(o.findIndex((x) => x.kind === 'Service' && x.metadata.name === 'nats'), 1))).toContain('StatefulSet/nats: serviceName nats is not a Service');
    expect(
      broken((o) => {
        ((find(o, 'Deployment', 'tickwork-sink')!.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels)['app.kubernetes.io/component'] = 'sinc';
      }),
    ).toContain('Deployment/tickwork-sink: selector {"app.kubernetes.io/component":"sinc","app.kubernetes.io/name":"tickwork"} does not match its pod labels');
    expect(
      broken((o) => {
        ((find(o, 'Deployment', 'tickwork-spread')!.spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0]!.args = ['sprede']);
      }),
    ).toContain('Deployment/tickwork-spread container tickwork: "sprede" is not a tickwork command');
    expect(broken((o) => o.splice(o.findIndex((x) => x.metadata.name === 'feed-egress-venues'), 1))).toContain('NetworkPolicy: needed flow feed -> venues:443 is blocked');
    expect(
      broken((o) => {
        (find(o, 'NetworkPolicy', 'api-ingress')!.spec as { podSelector: unknown }).podSelector = {};
      }),
    ).toContain('NetworkPolicy: flow internet -> worker:8080 is open');
    expect(broken((o) => o.splice(o.findIndex((x) => x.metadata.name === 'tickwork-feed-okx'), 1))).toContain('venue okx: no feed Deployment running "feed --venue okx"');
  });

  it('a schema violation is reported', async () => {
    const copy = structuredClone(base);
    (find(copy, 'Deployment', 'tickwork-worker')!.spec as { replicas: unknown }).replicas = 'three';
    expect((await validateSchemas(copy)).join('\n')).toMatch(/Deployment\/tickwork-worker: .*replicas must be integer/);
  });

  it('a rules file that drifted from the PrometheusRule is reported', () => {
    const copy = structuredClone(base);
    const groups = (find(copy, 'PrometheusRule', 'tickwork')!.spec as { groups: { rules: { expr: string }[] }[] }).groups;
    groups[0]!.rules[0]!.expr = 'vector(1)';
    expect(check(copy, 'prod', cli)).toContain('PrometheusRule/tickwork: differs from monitoring/prometheus/rules.yml (run node monitoring/render-prometheusrule.mjs)');
  });
});

// Credentials are templates only: no filled-in credentials file is tracked.
it('only *.example credential files are in git', () => {
  const tracked = execFileSync('git', ['ls-files', 'deploy'], { cwd: repoRoot, encoding: 'utf8' }).split('\n').filter(Boolean);
  expect(tracked.filter((f) => /\.env$|credentials(?!.*\.example$)/.test(f))).toEqual([]);
});
