import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { freePort, readRepo, waitForHttp } from '../deploy/helpers.js';
import { isolated } from '../harness.js';
import { startStack, type Role, type Stack } from './stack.js';
import { track } from '../support/children.js';

/**
 * The alert rules (monitoring/prometheus/rules.yml) evaluated by Debian's real Prometheus,
 * scraping a running tickwork stack every second: stall the simulator, SIGKILL the only worker,
 * stop the sink, and see TickworkFeedSilent, TickworkSymbolsWithoutOwner and TickworkSinkLag
 * fire through /api/v1/alerts, then resolve once the conditions end. The only change to the rules
 * is `for:` shortened to 2 s (thresholds and expressions are the shipped ones).
 */
const iso = isolated();
const work = mkdtempSync(join(tmpdir(), 'tickwork-prom-'));
let stack: Stack;
let prometheus: ChildProcess;
let promUrl = '';
let promOut = '';

interface Alert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

async function alerts(): Promise<Alert[]> {
  const res = await fetch(`${promUrl}/api/v1/alerts`);
  return ((await res.json()) as { data: { alerts: Alert[] } }).data.alerts;
}

/** Polls until `ok(alerts)`; the error names what was seen last. */
async function until(what: string, ok: (a: Alert[]) => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen: Alert[] = [];
  while (Date.now() < deadline) {
    seen = await alerts();
    if (ok(seen)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms; alerts: ${JSON.stringify(seen.map((a) => [a.labels.alertname, a.state, a.labels.venue ?? '']))}\nprometheus: ${promOut.slice(-1500)}`);
}

const firing = (a: Alert[], name: string, labels: Record<string, string> = {}) =>
  a.some((x) => x.labels.alertname === name && x.state === 'firing' && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
const active = (a: Alert[], name: string) => a.some((x) => x.labels.alertname === name);

beforeAll(async () => {
  // A short silence watchdog so the feed keeps reconnecting to the stalled simulator, as in production.
  stack = await startStack(iso, { TICKWORK_FEED_SILENCE_MS: '3000' });

  const rules = parse(readRepo('monitoring/prometheus/rules.yml')) as { groups: { rules: { for?: string }[] }[] };
  for (const g of rules.groups) for (const r of g.rules) if (r.for) r.for = '2s';
  writeFileSync(join(work, 'rules.yml'), stringify(rules));
  const target = (role: Role) => ({ targets: [`127.0.0.1:${stack.ports[role]}`], labels: { role } });
  writeFileSync(
    join(work, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '900ms' },
      rule_files: ['rules.yml'],
      scrape_configs: [{ job_name: 'tickwork', static_configs: (['feed', 'worker', 'sink', 'api'] as const).map(target) }],
    }),
  );
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn('prometheus', [`--config.file=${join(work, 'prometheus.yml')}`, `--storage.tsdb.path=${join(work, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  prometheus.stdout!.on('data', (b: Buffer) => (promOut = (promOut + b.toString()).slice(-10_000)));
  prometheus.stderr!.on('data', (b: Buffer) => (promOut = (promOut + b.toString()).slice(-10_000)));
  track(prometheus);
  await waitForHttp(`${promUrl}/-/ready`, (s) => s === 200, 60_000);
  // Every target scraped and up before anything is induced.
  await waitForHttp(`${promUrl}/api/v1/query?query=sum(up)`, (_s, body) => /"value":\[[^,]+,"4"\]/.test(body), 60_000);
}, 300_000);

afterAll(async () => {
  prometheus?.kill('SIGKILL');
  await stack?.close();
  await rm(work, { recursive: true, force: true });
  await iso.cleanup();
});

describe('alert rules on a real Prometheus against a running stack', () => {
  it('feed silent, symbols without an owner and sink lag fire when induced and resolve after', { timeout: 400_000 }, async () => {
    const induced = ['TickworkFeedSilent', 'TickworkSymbolsWithoutOwner', 'TickworkSinkLag'];
    await until('nothing induced is active at the start', (a) => induced.every((n) => !active(a, n)), 60_000);

    await stack.misbehave({ kind: 'stall', ms: 600_000, scope: 'all' });
    await stack.stop('worker', 'SIGKILL');
    await stack.stop('sink');
    // The feed-silent threshold is the shipped 30 s; the others fire within seconds.
    await until('worker and sink alerts firing', (a) => firing(a, 'TickworkSymbolsWithoutOwner') && firing(a, 'TickworkSinkLag'), 60_000);
    await until('feed silent firing for binance', (a) => firing(a, 'TickworkFeedSilent', { venue: 'binance' }), 120_000);
    const during = await alerts();
    for (const n of induced) expect(firing(during, n), n).toBe(true);

    await stack.misbehave({ kind: 'reset' });
    await stack.start('worker');
    await stack.start('sink');
    await until('induced alerts resolved', (a) => induced.every((n) => !active(a, n)), 120_000);
    const after = await alerts();
    for (const n of induced) expect(active(after, n), n).toBe(false);
  });
});

// Keep the temp folder even if the suite is interrupted between tests.
process.once('exit', () => rmSync(work, { recursive: true, force: true }));
