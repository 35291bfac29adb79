import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** One rendered Kubernetes object, as kustomize prints it. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/**
 * `kubectl kustomize` of an overlay, on a copy of deploy/k8s where every `X.example` without its
 * `X` is copied to `X` — the step the README asks of a user (the real files are git-ignored).
 */
export function renderOverlay(k8sDir: string, overlay: string, mutate?: (copy: string) => void): K8sObject[] {
  const copy = mkdtempSync(join(tmpdir(), 'tickwork-k8s-'));
  try {
    cpSync(k8sDir, copy, { recursive: true });
    for (const f of walk(copy)) if (f.endsWith('.example') && !existsSync(f.slice(0, -'.example'.length))) cpSync(f, f.slice(0, -'.example'.length));
    mutate?.(copy);
    const out = execFileSync('kubectl', ['kustomize', join(copy, 'overlays', overlay)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return parseYamlStream(out);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

export function parseYamlStream(text: string): K8sObject[] {
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length) throw new Error(`YAML: ${d.errors[0]!.message}`);
    return d.toJS() as K8sObject;
  }).filter(Boolean);
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** Schema validation with kubernetes-models (and its prometheus-operator CRD models). Problems, not throws. */
export async function validateSchemas(objs: K8sObject[]): Promise<string[]> {
  const problems: string[] = [];
  for (let o of objs) {
    const where = `${o.kind}/${o.metadata?.name}`;
    let Model: new (data: unknown) => { validate(): void };
    try {
      Model = await modelFor(o.apiVersion, o.kind);
    } catch (err) {
      problems.push(`${where}: no schema for ${o.apiVersion} ${o.kind} (${(err as Error).message.split('\n')[0]})`);
      continue;
    }
    // kustomize folds long base64 in Secret data over lines; Kubernetes' decoder ignores newlines.
    if (o.kind === 'Secret' && o.data) o = { ...o, data: Object.fromEntries(Object.entries(o.data as Record<string, string>).map(([k, v]) => [k, v.replace(/\s/g, '')])) };
    try {
      new Model(o).validate();
    } catch (err) {
      problems.push(`${where}: ${(err as Error).message}`);
    }
  }
  return problems;
}

async function modelFor(apiVersion: string, kind: string): Promise<new (data: unknown) => { validate(): void }> {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const spec = group === 'monitoring.coreos.com'
    ? `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`
    : `kubernetes-models/${group ? `${group}/` : ''}${version}/${kind}`;
  const mod = (await import(spec)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = mod[kind];
  if (!Model) throw new Error(`${spec} exports no ${kind}`);
  return Model;
}

// ---- pods and selectors ---------------------------------------------------------------------

export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { configMapKeyRef?: { name: string }; secretKeyRef?: { name: string } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[] }; seccompProfile?: { type: string } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
export interface PodSpec {
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string }; secret?: { secretName: string } }[];
  securityContext?: { runAsNonRoot?: boolean; seccompProfile?: { type: string } };
}

/** Workloads with their pod template. */
export interface Workload {
  obj: K8sObject;
  kind: string;
  name: string;
  labels: Record<string, string>;
  pod: PodSpec;
  replicas: number | undefined;
  selector: Record<string, string> | undefined;
}

export function workloads(objs: K8sObject[]): Workload[] {
  return objs
    .filter((o) => ['Deployment', 'StatefulSet', 'Job', 'DaemonSet'].includes(o.kind))
    .map((o) => {
      const spec = o.spec as { replicas?: number; selector?: { matchLabels?: Record<string, string> }; template: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } };
      return {
        obj: o,
        kind: o.kind,
        name: o.metadata.name,
        labels: spec.template.metadata?.labels ?? {},
        pod: spec.template.spec,
        replicas: spec.replicas,
        selector: spec.selector?.matchLabels,
      };
    });
}

export const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>): boolean =>
  selector !== undefined && Object.entries(selector).every(([k, v]) => labels[k] === v);

export const find = (objs: K8sObject[], kind: string, name: string): K8sObject | undefined => objs.find((o) => o.kind === kind && o.metadata.name === name);

// ---- NetworkPolicy evaluation ---------------------------------------------------------------

/** A flow endpoint: a pod (labels, namespace) or a host outside the cluster. */
export type Peer = { kind: 'pod'; ns: string; labels: Record<string, string> } | { kind: 'external' };

interface PolicyPeer {
  podSelector?: { matchLabels?: Record<string, string> };
  namespaceSelector?: { matchLabels?: Record<string, string> };
  ipBlock?: { cidr: string };
}
interface PolicyRule {
  to?: PolicyPeer[];
  from?: PolicyPeer[];
  ports?: { port?: number | string; protocol?: string }[];
}
interface PolicySpec {
  podSelector: { matchLabels?: Record<string, string> };
  policyTypes?: string[];
  ingress?: PolicyRule[];
  egress?: PolicyRule[];
}

/**
 * Whether NetworkPolicies allow a TCP/UDP connection from `src` to `dst:port`, per the Kubernetes
 * semantics: a pod selected by any policy of a direction only allows what some rule allows.
 */
export function allowed(policies: K8sObject[], ns: string, src: Peer, dst: Peer, port: number, protocol = 'TCP'): boolean {
  const selecting = (p: Peer, type: 'Ingress' | 'Egress') =>
    p.kind === 'pod' && p.ns === ns
      ? policies.map((x) => x.spec as PolicySpec).filter((s) => (s.policyTypes ?? ['Ingress']).includes(type) && matches(s.podSelector.matchLabels ?? {}, p.labels))
      : null;
  const peerMatches = (peer: PolicyPeer, p: Peer) => {
    if (peer.ipBlock) return p.kind === 'external';
    if (p.kind === 'external') return false;
    const nsOk = peer.namespaceSelector ? matches(peer.namespaceSelector.matchLabels ?? {}, { 'kubernetes.io/metadata.name': p.ns }) : p.ns === ns;
    const podOk = peer.podSelector ? matches(peer.podSelector.matchLabels ?? {}, p.labels) : true;
    return nsOk && podOk;
  };
  const portMatches = (r: PolicyRule) => !r.ports?.length || r.ports.some((x) => (x.protocol ?? 'TCP') === protocol && (x.port === undefined || x.port === port));
  const egress = selecting(src, 'Egress');
  const egressOk = egress === null || egress.length === 0 || egress.some((s) => (s.egress ?? []).some((r) => portMatches(r) && (!r.to?.length || r.to.some((peer) => peerMatches(peer, dst)))));
  const ingress = selecting(dst, 'Ingress');
  const ingressOk = ingress === null || ingress.length === 0 || ingress.some((s) => (s.ingress ?? []).some((r) => portMatches(r) && (!r.from?.length || r.from.some((peer) => peerMatches(peer, src)))));
  return egressOk && ingressOk;
}
