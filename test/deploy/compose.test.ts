import { execFile, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { VENUES } from '../../venues/index.js';
import { repoRoot } from '../harness.js';
import { cliCommands, readRepo } from './helpers.js';

/**
 * docker-compose.yml as Debian's `docker-compose config` reads it (no engine needed), on a copy
 * of the repository's compose inputs where the env files are made from their `.example`
 * templates, as the compose file's header tells a user to do.
 */
const execFileAsync = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'tickwork-compose-'));
let cli: Map<string, string>;

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  ports?: (string | { host_ip?: string; published?: number })[];
  volumes?: (string | { source?: string; target?: string })[];
  scale?: number;
  depends_on?: Record<string, { condition: string }>;
}
const TICKWORK = (s: Service) => s.image === 'tickwork:local';

/** `docker-compose config` of `composeText` beside the env files made from the templates. */
async function config(composeText: string): Promise<{ services: Record<string, Service> }> {
  const dir = mkdtempSync(join(work, 'c-'));
  writeFileSync(join(dir, 'docker-compose.yml'), composeText);
  mkdirSync(join(dir, 'deploy/compose'), { recursive: true });
  for (const f of readdirSync(join(repoRoot, 'deploy/compose'))) if (f.endsWith('.example')) cpSync(join(repoRoot, 'deploy/compose', f), join(dir, 'deploy/compose', f.slice(0, -'.example'.length)));
  const { stdout } = await execFileAsync('docker-compose', ['-f', join(dir, 'docker-compose.yml'), 'config'], { cwd: dir, encoding: 'utf8' });
  return parse(stdout) as { services: Record<string, Service> };
}

/** Every problem in a rendered compose config. */
function check(services: Record<string, Service>, raw: { services: Record<string, Service> }): string[] {
  const p: string[] = [];
  for (const s of ['nats', 'redis', 'postgres', 'prometheus', 'grafana', 'migrate', 'worker', 'sink', 'spread', 'api']) if (!services[s]) p.push(`no service ${s}`);
  for (const [name, s] of Object.entries(services)) {
    const oneShot = name === 'migrate';
    if (!oneShot && (!s.healthcheck?.test?.length || s.healthcheck.disable)) p.push(`${name}: no healthcheck`);
    for (const port of s.ports ?? []) {
      const ip = typeof port === 'string' ? port.split(':')[0] : port.host_ip;
      if (ip !== '127.0.0.1') p.push(`${name}: port ${JSON.stringify(port)} is not bound to 127.0.0.1`);
    }
    if (TICKWORK(s)) {
      const [cmd, ...rest] = s.command ?? [];
      const help = cli.get(cmd ?? '');
      if (help === undefined) p.push(`${name}: "${(s.command ?? []).join(' ')}" is not a tickwork command`);
      else for (const flag of rest.filter((a) => a.startsWith('--'))) if (!help.includes(flag)) p.push(`${name}: tickwork ${cmd} has no option ${flag}`);
      if (!oneShot && s.depends_on?.migrate?.condition !== 'service_completed_successfully') p.push(`${name}: does not wait for migrate`);
    }
  }
  // Credentials never inline: the source file sets no password, token or URL with a password.
  for (const [name, s] of Object.entries(raw.services)) {
    for (const [k, v] of Object.entries(s.environment ?? {})) {
      if (/PASSWORD|TOKEN|SECRET/.test(k)) p.push(`${name}: ${k} is set inline`);
      if (/:\/\/[^/@\s]*:[^/@\s$]+@/.test(String(v))) p.push(`${name}: ${k} holds a URL with a password inline`);
    }
  }
  const feeds = Object.entries(services).filter(([, s]) => TICKWORK(s) && s.command?.[0] === 'feed');
  const venues = feeds.map(([, s]) => s.command![s.command!.indexOf('--venue') + 1]);
  for (const v of venues) if (!VENUES.some((x) => x.id === v)) p.push(`feed venue ${v} is not in the registry`);
  for (const v of ['binance', 'bybit', 'coinbase', 'kraken', 'okx']) if (!venues.includes(v)) p.push(`no feed for ${v}`);
  if ((services.worker?.scale ?? 1) < 2) p.push('worker: fewer than 2 replicas');
  const mounts = (s: Service | undefined) => (s?.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`)).join(' ');
  if (!/monitoring\/prometheus\/rules\.yml/.test(mounts(services.prometheus))) p.push('prometheus: rules.yml not mounted');
  if (!/monitoring\/grafana\/provisioning/.test(mounts(services.grafana)) || !/monitoring\/grafana\/dashboards/.test(mounts(services.grafana))) p.push('grafana: provisioning or dashboards not mounted');
  if (!/deploy\/nats/.test(mounts(services.nats))) p.push('nats: deploy/nats/ not mounted');
  return p;
}

const composeText = readRepo('docker-compose.yml');
const raw = parse(composeText, { merge: true }) as { services: Record<string, Service> };
let rendered: { services: Record<string, Service> };

beforeAll(async () => {
  cli = await cliCommands();
  rendered = await config(composeText);
}, 300_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('docker-compose.yml (docker-compose config)', () => {
  it('renders, and has every role with healthchecks, real commands, loopback ports and no inline credentials', () => {
    expect(check(rendered.services, raw)).toEqual([]);
  });

  it('env files are templates only; the filled-in ones are git-ignored', () => {
    const tracked = execFileSync('git', ['ls-files', 'deploy/compose'], { cwd: repoRoot, encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(tracked.filter((f) => !f.endsWith('.example'))).toEqual([]);
    expect(execFileSync('git', ['check-ignore', 'deploy/compose/tickwork.env'], { cwd: repoRoot, encoding: 'utf8' }).trim()).toBe('deploy/compose/tickwork.env');
  });

  it('fails on broken input: bad YAML, a missing healthcheck, an unknown command, a public port, an inline password', async () => {
    await expect(config(`${composeText}\n  bad: [unclosed\n`)).rejects.toThrow();
    const broken = (f: (s: Record<string, Service>) => void) => {
      const copy = structuredClone(rendered.services);
      f(copy);
      return check(copy, raw);
    };
    expect(broken((s) => delete s.sink!.healthcheck)).toContain('sink: no healthcheck');
    expect(broken((s) => (s.spread!.command = ['sprede']))).toContain('spread: "sprede" is not a tickwork command');
    expect(broken((s) => (s.api!.ports = ['8080:8080']))).toContain('api: port "8080:8080" is not bound to 127.0.0.1');
    const inline = structuredClone(raw);
    inline.services.api!.environment = { DATABASE_URL: 'postgres://tickwork:hunter2@postgres/tickwork' };
    expect(check(rendered.services, inline)).toContain('api: DATABASE_URL holds a URL with a password inline');
  });
});
