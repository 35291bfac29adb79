import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../harness.js';

/** Debian's promtool on the alert rules and compose's Prometheus configuration. */
const execFileAsync = promisify(execFile);
const promtool = (...args: string[]) => execFileAsync('promtool', args, { encoding: 'utf8' });
const work = mkdtempSync(join(tmpdir(), 'tickwork-promtool-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ALERTS = ['TickworkFeedSilent', 'TickworkFeedReconnectStorm', 'TickworkConsumerLagGrowing', 'TickworkDeadLetterRate', 'TickworkSnapshotFailures', 'TickworkSymbolsWithoutOwner', 'TickworkLeaseChurn', 'TickworkSinkLag'];

describe('monitoring/prometheus (promtool)', () => {
  it('promtool check rules passes, with every alert the issue lists', async () => {
    const { stdout } = await promtool('check', 'rules', join(repoRoot, 'monitoring/prometheus/rules.yml'));
    expect(stdout).toMatch(/SUCCESS: 8 rules found/);
    const text = readFileSync(join(repoRoot, 'monitoring/prometheus/rules.yml'), 'utf8');
    for (const a of ALERTS) expect(text).toContain(`alert: ${a}\n`);
  });

  it('promtool check config passes for compose’s Prometheus (rules beside it)', async () => {
    const { stdout } = await promtool('check', 'config', join(repoRoot, 'monitoring/prometheus/prometheus.yml'));
    expect(stdout).toMatch(/is valid prometheus config/);
  });

  it('a bad rule expression fails promtool', async () => {
    cpSync(join(repoRoot, 'monitoring/prometheus/rules.yml'), join(work, 'rules.yml'));
    const text = readFileSync(join(work, 'rules.yml'), 'utf8').replace('> 30', '> > 30');
    writeFileSync(join(work, 'rules.yml'), text);
    await expect(promtool('check', 'rules', join(work, 'rules.yml'))).rejects.toThrow(/parse error|unexpected/i);
  });
});
