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
    throw configError(variable, env[variable], expected);
  }
  return converted as Static<TObject<T>>;
}

/**
 * The one-line error for a bad variable, worded as every loader words it:
 * `invalid environment variable NAME: "value"; expected ...`. For checks beyond the schema
 * (a venue id from the registry, a timeframe list) made right after `loadEnv`.
 */
export function configError(variable: string, got: string | undefined, expected: string): ConfigError {
  const shown = got === undefined || got === '' ? 'missing' : JSON.stringify(got);
  return new ConfigError(variable, `invalid environment variable ${variable}: ${shown}; expected ${expected}`);
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
  LOG_FORMAT: Type.Union(
    ['auto', 'json', 'pretty'].map((l) => Type.Literal(l)),
    { default: 'auto', description: 'auto (pretty on a terminal, JSON otherwise), json or pretty' },
  ),
  HTTP_PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535, description: 'a TCP port 0-65535' }),
  // Loopback unless asked: a laptop's `up` is not reachable from the network; the image sets 0.0.0.0.
  HTTP_HOST: Type.String({
    default: '127.0.0.1',
    pattern: '^([0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:]*|[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)$',
    description: 'the address the HTTP server binds: an IPv4/IPv6 address or a host name (0.0.0.0: every interface)',
  }),
  TICKWORK_NAMESPACE: Type.String({
    default: '',
    pattern: '^([a-z][a-z0-9_]{0,30})?$',
    description: 'empty or a lower-case identifier (prefixes streams, subjects, Redis keys, PostgreSQL schema)',
  }),
  TICKWORK_SHUTDOWN_TIMEOUT_MS: Type.Integer({ default: 15000, minimum: 100, description: 'milliseconds >= 100' }),
});
export type CoreConfig = Static<typeof CoreEnv>;

export const loadCoreConfig = (env: NodeJS.ProcessEnv = process.env): CoreConfig => loadEnv(CoreEnv, env);
