import type { Static, TObject, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { ApiError } from './errors.js';

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

/**
 * Validates one request part (query string, path params, NATS request body, WebSocket frame)
 * against its TypeBox schema, the same way for every transport: defaults, string → number/boolean
 * conversion, then a check whose first failure becomes a 400 naming the field.
 */
export function parseInput<T extends TObject>(schema: T, raw: unknown): Static<T> {
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw ApiError.badRequest('body', 'expected a JSON object');
  let check = compiled.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  const value = Value.Convert(schema, Value.Default(schema, { ...(raw as object) }));
  if (check.Check(value)) return value as Static<T>;
  const first = check.Errors(value).First()!;
  const field = first.path.split('/')[1] || 'body';
  const prop = (schema.properties as Record<string, TSchema | undefined>)[field];
  const given = (value as Record<string, unknown>)[field];
  const expected = prop?.description ?? first.message;
  const message = given === undefined ? `${field} is required: ${expected}` : `invalid ${field}: expected ${expected}`;
  throw ApiError.badRequest(field, message);
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** `from`/`to`: epoch milliseconds (number or digit string) or ISO 8601; anything else is a 400 on `field`. */
export function parseTime(field: string, v: number | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  if (/^\d{1,16}$/.test(v)) return Number(v);
  if (ISO_8601.test(v)) {
    // A date/time without an offset is read as UTC, not the server's local zone.
    const s = /T|\s/.test(v) && !/(Z|[+-]\d{2}:?\d{2})$/.test(v) ? `${v.replace(' ', 'T')}Z` : v;
    const ms = Date.parse(s);
    if (Number.isFinite(ms) && ms >= 0) return ms;
  }
  throw ApiError.badRequest(field, `invalid ${field}: expected epoch milliseconds or an ISO 8601 date/time, got ${JSON.stringify(v).slice(0, 60)}`);
}
