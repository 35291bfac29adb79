import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { CoreEnv, loadEnv } from '../../runtime/config.js';
import { ConfigError } from '../../runtime/errors.js';
import { spawnCli } from '../harness.js';

describe('config (loadEnv)', () => {
  it('applies defaults and coerces numbers', () => {
    const cfg = loadEnv(CoreEnv, {});
    expect(cfg.NATS_URL).toBe('nats://127.0.0.1:4222');
    expect(cfg.HTTP_PORT).toBe(8080);
    expect(loadEnv(CoreEnv, { HTTP_PORT: '9090' }).HTTP_PORT).toBe(9090);
  });

  it.each([
    ['NATS_URL', 'notaurl'],
    ['REDIS_URL', 'http://x'],
    ['DATABASE_URL', 'mysql://x'],
    ['HTTP_PORT', '70000'],
    ['HTTP_PORT', 'abc'],
    ['LOG_LEVEL', 'loud'],
    ['TICKWORK_NAMESPACE', 'Bad Name'],
  ])('rejects %s=%s with one line naming it', (name, value) => {
    let err: unknown;
    try {
      loadEnv(CoreEnv, { [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe(name);
    expect((err as Error).message).toContain(name);
    expect((err as Error).message).not.toContain('\n');
  });

  it('reports a missing required variable as missing', () => {
    const schema = Type.Object({ NEEDED: Type.String({ minLength: 1, description: 'a non-empty string' }) });
    expect(() => loadEnv(schema, {})).toThrow(/NEEDED: missing; expected a non-empty string/);
  });
});

describe('tickwork CLI start-up with a bad env var', () => {
  it('exits non-zero with one line naming NATS_URL', async () => {
    const cli = spawnCli(['up'], { ...process.env, NATS_URL: 'notaurl' });
    const code = await cli.exited;
    expect(code).not.toBe(0);
    const lines = cli.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/NATS_URL/);
  });
});
