import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Trade } from '../../schemas/trade.js';
import { readStream, waitUntil } from '../actors/feed/helpers.js';
import { isolated, repoRoot, spawnCli, type CliProcess } from '../harness.js';

/**
 * Adding a venue touches one folder plus its registry line. In a copy of the tree, the fake venue
 * of test/venues/fake/ becomes venues/fake/ and venues/index.ts gains its import and list entry;
 * nothing else changes. The copy's built CLI then knows the venue everywhere the registry reaches:
 * `simulate --venue fake` serves it, `feed --venue fake` validates TICKWORK_VENUES, reads
 * FAKE_WS_URL and stores the simulator's trades in MD_TRADES (real NATS JetStream).
 */

const iso = isolated();
const copy = mkdtempSync(join(tmpdir(), 'tickwork-fake-venue-'));
const children: CliProcess[] = [];
afterAll(async () => {
  for (const c of children) c.child.kill('SIGTERM');
  await Promise.all(children.map((c) => c.exited));
  await iso.cleanup();
  rmSync(copy, { recursive: true, force: true });
});

/** The tree's sources as they are in the working tree (tests, results and deploy files left out). */
function copyTree(): string[] {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && !/^(test|web|deploy|monitoring|bench\/results|\.ci)\//.test(f));
  for (const f of files) {
    mkdirSync(dirname(join(copy, f)), { recursive: true });
    try {
      cpSync(join(repoRoot, f), join(copy, f));
    } catch {
      // deleted in the working tree, still in the index
    }
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(copy, 'node_modules'));
  return files;
}

/** Every file of `dir` (relative paths), recursively. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? (e.name === 'node_modules' || e.name === 'dist' ? [] : walk(join(dir, e.name), base)) : [join(dir, e.name).slice(base.length + 1)],
  );
}

describe('a new venue is one folder plus its registry line', () => {
  it('the copy with venues/fake/ and one registry entry simulates and feeds the venue (built CLI, real JetStream)', async () => {
    const files = copyTree();
    // The folder: the fixture's imports reach the tree from venues/fake/ instead of test/venues/fake/.
    const fixture = join(repoRoot, 'test/venues/fake');
    mkdirSync(join(copy, 'venues/fake'));
    for (const f of readdirSync(fixture)) {
      writeFileSync(join(copy, 'venues/fake', f), readFileSync(join(fixture, f), 'utf8').replaceAll("'../../../venues/", "'../").replaceAll("'../../../", "'../../"));
    }
    // The registry line (its import and its entry in the list).
    const registry = join(copy, 'venues/index.ts');
    const before = readFileSync(registry, 'utf8');
    const after = before
      .replace(/(import \{ okx \} from '\.\/okx\/index\.js';)/, "$1\nimport { fake } from './fake/index.js';")
      .replace(/(export const VENUES: readonly Venue\[\] = \[[^\]]*)\]/, '$1, fake]');
    writeFileSync(registry, after);
    const added = after.split('\n').filter((l) => !before.split('\n').includes(l));
    expect(added).toEqual(["import { fake } from './fake/index.js';", expect.stringMatching(/^export const VENUES.*, fake\];$/)]);
    // Nothing else differs from the tree.
    const changed = walk(copy).filter((f) => !f.startsWith('venues/fake/') && files.includes(f) && readFileSync(join(copy, f), 'utf8') !== safeRead(join(repoRoot, f)));
    expect(changed).toEqual(['venues/index.ts']);

    execFileSync('sh', ['scripts/build.sh'], { cwd: copy, stdio: 'pipe' });
    const cli = (args: string[], env: NodeJS.ProcessEnv = {}): CliProcess => {
      const c = spawnCli(args, { ...iso.env, LOG_LEVEL: 'warn', HTTP_PORT: '0', ...env }, { cwd: copy });
      children.push(c);
      return c;
    };

    const help = cli(['simulate', '--help']);
    expect(await help.exited).toBe(0);
    expect(help.output()).toMatch(/choices:[^)]*"okx",\s+"fake"/);

    const sim = cli(['simulate', '--venue', 'fake', '--rate', '200']);
    const ready = JSON.parse(await sim.waitFor(/"event":"simulate.ready"/)) as { wsUrl: string; port: number; env: Record<string, string> };
    expect(ready.wsUrl).toBe(`ws://127.0.0.1:${ready.port}/fake`);
    expect(Object.keys(ready.env)).toEqual(['FAKE_WS_URL', 'FAKE_REST_URL']);

    cli(['feed', '--venue', 'fake', '--symbols', 'BTC-USD'], { FAKE_WS_URL: ready.wsUrl });
    const nats = await iso.nats();
    const stream = iso.ns.stream('MD_TRADES');
    await waitUntil(async () => ((await nats.jsm.streams.info(stream).catch(() => null))?.state.messages ?? 0) >= 20, 30_000, '20 fake trades in MD_TRADES');
    const trades = (await readStream(nats, stream)).map((m) => m.json<Trade>());
    expect(trades.every((t) => t.venue === 'fake' && t.symbol === 'BTC-USD')).toBe(true);
    expect(trades[0]!.id).toMatch(/^\d+$/);
  }, 180_000);
});

function safeRead(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
