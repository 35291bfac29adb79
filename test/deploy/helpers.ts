import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../harness.js';

export { freePort } from '../support/nats-server.js';

const execFileAsync = promisify(execFile);

/** Polls `url` until `ok(status, body)` holds; rejects after `timeoutMs` with the last answer. */
export async function waitForHttp(url: string, ok: (status: number, body: string) => boolean, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      const body = await res.text();
      if (ok(res.status, body)) return body;
      last = `${res.status} ${body.slice(0, 300)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url}: condition not met in ${timeoutMs} ms (last: ${last})`);
}

/** Metric family names in a Prometheus text exposition. */
export function metricNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)/gm)) {
    names.add(m[1]!);
    // Histograms and summaries are queried through their series suffixes.
    if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m[1]! + s);
    if (m[2] === 'summary') for (const s of ['_sum', '_count']) names.add(m[1]! + s);
  }
  return names;
}

/**
 * The built CLI's commands (from `tickwork --help`) with each one's `--help` text (its options),
 * asked of the CLI the way a container runs it. Async: the test worker stays responsive.
 */
export async function cliCommands(): Promise<Map<string, string>> {
  const bin = join(repoRoot, 'bin/tickwork.js');
  const top = await run(process.execPath, [bin, '--help']);
  const names = [...top.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]!).filter((n) => n !== 'help');
  const out = new Map<string, string>();
  for (const n of names) out.set(n, await run(process.execPath, [bin, n, '--help']));
  return out;
}

/** `tickwork <words> --help` exits 0: the command exists in the CLI. */
export async function cliHasCommand(words: string[]): Promise<boolean> {
  try {
    return /Usage: tickwork/.test(await run(process.execPath, [join(repoRoot, 'bin/tickwork.js'), ...words, '--help']));
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  return stdout;
}

export function readRepo(path: string): string {
  return readFileSync(join(repoRoot, path), 'utf8');
}
