import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../runtime/nats/index.js';
import { connectRedis } from '../../runtime/redis.js';
import { spawnCli } from '../harness.js';

/**
 * `tickwork bench --quick` against the real NATS and Redis: the harness, not the speed. The report
 * must exist in Markdown, JSON and PNG, cover every section, and hold only finite numbers.
 */
const SECTIONS = ['jetstream', 'e2e', 'latency', 'latencyHigh', 'floor', 'kernel', 'normalizer', 'book', 'backfill', 'memory', 'recovery', 'bookLatency', 'scaleout', 'symbols'] as const;
/** Rows of the targets table when every bench runs. */
const TARGETS = 16;
const out = mkdtempSync(join(tmpdir(), 'tickwork-bench-'));

afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Every leaf must be a finite number, a string or a boolean (NaN and Infinity become null in JSON). */
function badLeaves(value: unknown, path: string, bad: string[]): string[] {
  if (value === null || value === undefined) bad.push(path);
  else if (typeof value === 'number') {
    if (!Number.isFinite(value)) bad.push(path);
  } else if (Array.isArray(value)) value.forEach((v, i) => badLeaves(v, `${path}[${i}]`, bad));
  else if (typeof value === 'object') for (const [k, v] of Object.entries(value)) badLeaves(v, `${path}.${k}`, bad);
  return bad;
}

/** Median/min/max figures: `{ median, min, max, runs }`. */
function figures(value: unknown, path: string, acc: { path: string; f: { median: number; min: number; max: number; runs: number[] } }[]) {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    if ('median' in o && 'runs' in o) acc.push({ path, f: o as never });
    else for (const [k, v] of Object.entries(o)) figures(v, `${path}.${k}`, acc);
  }
  return acc;
}

describe('tickwork bench --quick (real NATS + Redis)', () => {
  it('writes a complete report with finite figures and leaves no streams behind', async () => {
    const started = Date.now();
    const cli = spawnCli(['bench', '--quick', '--out', out], { ...process.env, LOG_LEVEL: 'warn' });
    const code = await cli.exited;
    expect(code, cli.output().slice(-3000)).toBe(0);
    const reportLine = cli.output().match(/^report: (.+\.md)$/m);
    expect(reportLine, cli.output().slice(-2000)).not.toBeNull();
    const md = readFileSync(reportLine![1]!, 'utf8');
    const json = JSON.parse(readFileSync(reportLine![1]!.replace(/\.md$/, '.json'), 'utf8')) as Record<string, unknown> & {
      mode: string;
      targets: { target: string; value: number; met: boolean }[];
      files: { charts: string[] };
      sizes: { runs: number; scaleoutRuns: number; takeoverRuns: number };
    };

    expect(json.mode).toBe('quick');
    expect(json.errors, 'benches that failed').toBeUndefined();
    for (const s of SECTIONS) {
      expect(json[s], `section ${s}`).toBeTypeOf('object');
      expect(badLeaves(json[s], s, []), `non-finite or missing values in ${s}`).toEqual([]);
    }
    expect(badLeaves(json.machine, 'machine', [])).toEqual([]);
    const figs = SECTIONS.flatMap((s) => figures(json[s], s, []));
    expect(figs.length).toBeGreaterThan(20);
    for (const { path, f } of figs) {
      const runs = path.startsWith('scaleout.takeoverMs') ? json.sizes.takeoverRuns : path.startsWith('scaleout') ? json.sizes.scaleoutRuns : json.sizes.runs;
      expect(f.runs.length, path).toBe(runs);
      expect(f.min, path).toBeLessThanOrEqual(f.median);
      expect(f.median, path).toBeLessThanOrEqual(f.max);
      expect(f.median, path).toBeGreaterThan(0);
    }
    // One row per target of issues 12-14, each judged.
    expect(json.targets.map((t) => t.target)).toHaveLength(TARGETS);
    for (const t of json.targets) expect(Number.isFinite(t.value), t.target).toBe(true);

    for (const heading of ['## Targets', '## Machine and versions', '## 1. JetStream ceiling', '## 2. End-to-end', '## 3. Latency', '## 4. Window kernel', '## 5. Normalizer', '## 6. Memory', '## 7. Recovery', '## 8. Book engine', '## 9. Book latency', '## 10. Backfill', '## 11. Scale-out', '## 12. Latency at 20,000 trades/s and the latency floor', '## 13. Cost per symbol', '## 14. Latency budget per stage']) {
      expect(md).toContain(heading);
    }
    expect(md).toMatch(/nats-server \d+\.\d+\.\d+; Redis \d+\.\d+/);
    expect(json.files.charts.length).toBe(3);
    for (const png of json.files.charts) {
      expect(existsSync(png), png).toBe(true);
      expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
      expect(md).toContain(png.split('/').pop());
    }

    // Each bench deleted its namespace's streams (names B<tag><8 hex>_…) and Redis keys (tw:b<tag><hex>:…).
    const nats = await connectNats(process.env.NATS_URL ?? 'nats://127.0.0.1:4222', 'bench-test');
    const left: string[] = [];
    for await (const info of nats.jsm.streams.list()) {
      if (/^B(JS|JSRAW|E2E|LAT|MEM|REC|BF|SCO|SYM)[0-9A-F]{8}_/.test(info.config.name) && Date.parse(info.created) >= started - 1000) left.push(info.config.name);
    }
    await nats.nc.close();
    expect(left).toEqual([]);
    const redis = connectRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', 'bench-test');
    const keys = await redis.keys('tw:b*');
    redis.disconnect();
    const namespaces = [...new Set(keys.map((k) => k.split(':')[1]))].filter((id) => /^b(js|jsraw|e2e|lat|mem|rec|bf|sco|sym)[0-9a-f]{8}$/.test(id!));
    expect(namespaces).toEqual([]);
  }, 360_000); // minimal sizes: ~30 s on an idle 2-core machine; the bound leaves room for a load of ~12
});
