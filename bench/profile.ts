/**
 * Summarizes a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function and total
 * (inclusive) time of the heaviest frames, as percentages of the busy (not idle) samples.
 * Frames of the built bundle are named by their TypeScript source through its linked source map.
 *
 *   node --import tsx bench/profile.ts <file.cpuprofile> [--top N]
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
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

/** The checkout, whether this runs from sources or from the build (dist/bench/). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..').replace(/\/dist$/, '');

/** The source maps of the profiled files (null: none), by URL. */
type SourceMaps = Map<string, SourceMap | null>;

/** A frame's place in its TypeScript source when the file has a linked source map, else in the file. */
function place(n: ProfileNode, maps: SourceMaps): string {
  const { url, lineNumber, columnNumber = 0 } = n.callFrame;
  if (!url.startsWith('file://')) return url ? `${url}:${lineNumber + 1}` : '';
  const file = fileURLToPath(url);
  let map = maps.get(url);
  if (map === undefined) {
    map = null;
    try {
      if (existsSync(`${file}.map`)) map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]);
    } catch {
      // unreadable map: the generated position it is
    }
    maps.set(url, map);
  }
  const e = map?.findEntry(lineNumber, columnNumber);
  if (e && 'originalSource' in e) return `${shorten(resolve(dirname(file), e.originalSource))}:${e.originalLine + 1}`;
  return `${shorten(file)}:${lineNumber + 1}`;
}

/** Relative to the checkout, node_modules kept from its last occurrence. */
function shorten(path: string): string {
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) return path.slice(nm + 1);
  const r = relative(ROOT, path);
  return r.startsWith('..') ? path : r;
}

export function summarizeProfile(path: string, top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const maps: SourceMaps = new Map();
  const label = (n: ProfileNode): { name: string; where: string } => ({ name: n.callFrame.functionName || '(anonymous)', where: place(n, maps) });
  const self = new Map<number, number>();
  for (const n of p.nodes) self.set(n.id, n.hitCount ?? 0);
  const all = p.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0) || 1;
  const idle = p.nodes.filter((n) => n.callFrame.functionName === '(idle)').reduce((a, n) => a + (n.hitCount ?? 0), 0);
  const total = all - idle || 1;

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
    busyPct: (100 * (all - idle)) / all,
    bySelf: keys
      .filter((k) => meta.get(k)!.name !== '(idle)')
      .sort((a, b) => (selfByKey.get(b) ?? 0) - (selfByKey.get(a) ?? 0))
      .slice(0, top)
      .map(row),
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
    `profile: ${s.totalMs.toFixed(0)} ms, busy ${s.busyPct.toFixed(1)}% (percentages of the busy samples)`,
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
