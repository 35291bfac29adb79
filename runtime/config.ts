import { Type, type Static, type TObject, type TProperties } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ConfigError } from './errors.js';

/**
 * One config loader for every process. Each module declares the variables it reads as a TypeBox
 * object (keys are the env var names) and calls `loadEnv(schema)`; coercion, defaults and the
 * one-line error naming the bad variable happen here and nowhere else.
 */
export function loadEnv<T extends TProperties>(
  schema: TObject<T>,
  env: NodeJS.ProcessEnv = process.env,
): Static<TObject<T>> {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const withDefaults = Value.Default(schema, raw) as Record<string, unknown>;
  const converted = Value.Convert(schema, withDefaults) as Record<string, unknown>;
  const first = Value.Errors(schema, converted).First();
  if (first) {
    const variable = first.path.split('/')[1] ?? first.path;
    const prop = (schema.properties as Record<string, { description?: string }>)[variable];
    const expected = prop?.description ?? first.message;
    const got = env[variable];
    const shown = got === undefined || got === '' ? 'missing' : JSON.stringify(got);
    throw new ConfigError(variable, `invalid environment variable ${variable}: ${shown}; expected ${expected}`);
  }
  return converted as Static<TObject<T>>;
}

/** A URL with one of the given schemes, e.g. `nats://host:4222`. */
export const UrlOf = (schemes: string[], dflt: string) =>
  Type.String({
    default: dflt,
    pattern: `^(${schemes.join('|')})://[^\\s/]+`,
    description: `a ${schemes.join('/')} URL like ${dflt}`,
  });

/** A comma-separated list, kept as the raw string and split by `list()`. */
export const CsvList = (description: string, dflt = '') =>
  Type.String({ default: dflt, pattern: '^[A-Za-z0-9_./:-]*(,[A-Za-z0-9_./:-]+)*$', description });

export const list = (csv: string): string[] =>
  csv
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

/** Variables every tickwork process reads (DESIGN.md contract plus namespacing for isolation). */
export const CoreEnv = Type.Object({
  NATS_URL: UrlOf(['nats', 'tls', 'ws', 'wss'], 'nats://127.0.0.1:4222'),
  REDIS_URL: UrlOf(['redis', 'rediss'], 'redis://127.0.0.1:6379'),
  DATABASE_URL: UrlOf(['postgres', 'postgresql'], 'postgres://postgres@127.0.0.1:5432/postgres'),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'one of fatal, error, warn, info, debug, trace, silent' },
  ),
  HTTP_PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535, description: 'a TCP port 0-65535' }),
  TICKWORK_NAMESPACE: Type.String({
    default: '',
    pattern: '^([a-z][a-z0-9_]{0,30})?$',
    description: 'empty or a lower-case identifier (prefixes streams, subjects, Redis keys, PostgreSQL schema)',
  }),
  TICKWORK_SHUTDOWN_TIMEOUT_MS: Type.Integer({ default: 15000, minimum: 100, description: 'milliseconds >= 100' }),
});
export type CoreConfig = Static<typeof CoreEnv>;

export const loadCoreConfig = (env: NodeJS.ProcessEnv = process.env): CoreConfig => loadEnv(CoreEnv, env);
