/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function and total
 * (inclusive) time of the heaviest frames, as percentages of the sampled time.
 *
 *   node --import tsx bench/profile.ts <file.cpuprofile> [--top N] [--filter text]
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileRow {
  name: string;
  where: string;
  selfPct: number;
  totalPct: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Share of samples not idle (program, GC, functions). */
  busyPct: number;
  bySelf: ProfileRow[];
  byTotal: ProfileRow[];
}

const label = (n: ProfileNode): { name: string; where: string } => {
  const url = n.callFrame.url.replace(/^file:\/\/.*?\/(node_modules\/|(?=[a-z]+\/))/, '$1');
  return { name: n.callFrame.functionName || '(anonymous)', where: url ? `${url}:${n.callFrame.lineNumber + 1}` : '' };
};

export function summarizeProfile(path: string, top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (const n of p.nodes) self.set(n.id, n.hitCount ?? 0);
  const total = p.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1;
  const idle = p.nodes.filter((n) => n.callFrame.functionName === '(idle)').reduce((a, n) => a + (n.hitCount ?? 0), 0);

  // Inclusive time per function key, counting each key once per stack (recursion-safe).
  const incl = new Map<string, number>();
  const selfByKey = new Map<string, number>();
  const meta = new Map<string, { name: string; where: string }>();
  const walk = (id: number, onStack: Map<string, number>): number => {
    const n = byId.get(id)!;
    const l = label(n);
    const key = `${l.name}@${l.where}`;
    meta.set(key, l);
    selfByKey.set(key, (selfByKey.get(key) ?? 0) + (self.get(id) ?? 0));
    let sum = self.get(id) ?? 0;
    onStack.set(key, (onStack.get(key) ?? 0) + 1);
    for (const c of n.children ?? []) sum += walk(c, onStack);
    const depth = onStack.get(key)! - 1;
    if (depth === 0) {
      onStack.delete(key);
      incl.set(key, (incl.get(key) ?? 0) + sum);
    } else onStack.set(key, depth);
    return sum;
  };
  walk(p.nodes[0]!.id, new Map());

  const row = (key: string): ProfileRow => ({
    ...meta.get(key)!,
    selfPct: (100 * (selfByKey.get(key) ?? 0)) / total,
    totalPct: (100 * (incl.get(key) ?? 0)) / total,
  });
  const skip = new Set(['(root)', '(program)', '(idle)']);
  const keys = [...meta.keys()];
  return {
    totalMs: (p.endTime - p.startTime) / 1000,
    busyPct: (100 * (total - idle)) / total,
    bySelf: keys.sort((a, b) => (selfByKey.get(b) ?? 0) - (selfByKey.get(a) ?? 0)).slice(0, top).map(row),
    byTotal: keys
      .filter((k) => !skip.has(meta.get(k)!.name))
      .sort((a, b) => (incl.get(b) ?? 0) - (incl.get(a) ?? 0))
      .slice(0, top)
      .map(row),
  };
}

export function formatProfile(s: ProfileSummary): string {
  const line = (r: ProfileRow) => `${r.selfPct.toFixed(1).padStart(5)}% ${r.totalPct.toFixed(1).padStart(5)}%  ${r.name}  ${r.where}`;
  return [
    `profile: ${s.totalMs.toFixed(0)} ms, busy ${s.busyPct.toFixed(1)}%`,
    ' self  total  (by self time)',
    ...s.bySelf.map(line),
    ' self  total  (by inclusive time)',
    ...s.byTotal.map(line),
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: bench/profile.ts <file.cpuprofile> [--top N]');
  const i = process.argv.indexOf('--top');
  console.log(formatProfile(summarizeProfile(file, i > 0 ? Number(process.argv[i + 1]) : 25)));
}
