import type { Static, TObject, TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { MAX_EPOCH_MS } from '../schemas/candle-check.js';
import { ApiError } from './errors.js';

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

/**
 * Validates one request part (query string, path params, NATS request body, WebSocket frame)
 * against its TypeBox schema, the same way for every transport: strict conversion of query-string
 * text (see `convert`), defaults, then a check whose first failure becomes a 400 naming the field.
 */
export function parseInput<T extends TObject>(schema: T, raw: unknown): Static<T> {
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw ApiError.badRequest('body', 'expected a JSON object');
  let check = compiled.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  const props = schema.properties as Record<string, TSchema>;
  const value: Record<string, unknown> = { ...(raw as object) };
  for (const [key, prop] of Object.entries(props)) {
    if (value[key] !== undefined) value[key] = convert(key, prop, value[key]);
  }
  Value.Default(schema, value);
  if (check.Check(value)) return value as Static<T>;
  const first = check.Errors(value).First()!;
  const field = first.path.split('/')[1] || 'body';
  const prop = props[field];
  const given = value[field];
  const expected = prop?.description ?? first.message;
  const message = given === undefined ? `${field} is required: ${expected}` : `invalid ${field}: expected ${expected}`;
  throw ApiError.badRequest(field, message);
}

/** A canonical non-negative integer numeral: no sign, no leading zero, no fraction, exponent or hex. */
const INTEGER_TEXT = /^(0|[1-9][0-9]*)$/;

/**
 * Text → number only for a canonical integer numeral (`1.5`, `1e3`, `0x10`, `-0`, `+1`, ` 7` and
 * the empty string stay text and fail the check), text → boolean only for `true`/`false`. An
 * integer beyond 2^53 (text or JSON) is a 400 of its own: it would be rounded, not rejected.
 */
function convert(field: string, prop: TSchema, v: unknown): unknown {
  const integer = isInteger(prop) || (Array.isArray(prop.anyOf) && (prop.anyOf as TSchema[]).some(isInteger));
  if (integer) {
    if (typeof v === 'string' && INTEGER_TEXT.test(v)) v = Number(v);
    if (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v)) {
      throw ApiError.badRequest(field, `invalid ${field}: ${String(v).slice(0, 40)} is out of range`);
    }
    return v;
  }
  if (prop.type === 'boolean' && (v === 'true' || v === 'false')) return v === 'true';
  return v;
}

const isInteger = (s: TSchema): boolean => s.type === 'integer';

const ISO_8601 = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** `from`/`to`: epoch milliseconds (a number once `parseInput` converted it) or ISO 8601; anything else is a 400 on `field`. */
export function parseTime(field: string, v: number | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v) && v >= 0 && v <= MAX_EPOCH_MS) return v;
    throw ApiError.badRequest(field, `invalid ${field}: ${String(v).slice(0, 40)} is outside 0..${MAX_EPOCH_MS} (epoch ms)`);
  }
  if (ISO_8601.test(v)) {
    // A date/time without an offset is read as UTC, not the server's local zone.
    const s = /T|\s/.test(v) && !/(Z|[+-]\d{2}:?\d{2})$/.test(v) ? `${v.replace(' ', 'T')}Z` : v;
    const ms = Date.parse(s);
    if (Number.isFinite(ms) && ms >= 0 && ms <= MAX_EPOCH_MS) return ms;
  }
  throw ApiError.badRequest(field, `invalid ${field}: expected epoch milliseconds or an ISO 8601 date/time, got ${JSON.stringify(v).slice(0, 60)}`);
}
