import type { TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import type { ControlKind, FrameClass, ParseOutput, RejectReason } from './types.js';

/**
 * Parsing tools every adapter shares: the never-throw guard, reject/control recording, the
 * JSON-number → exact-text rewrite and timestamp conversions. No venue knowledge here.
 */

/**
 * What an adapter implements; `guardedParse` wraps it so `parse` never throws. A frame that
 * returns 'reject' midway through a batch may leave trades/quotes appended: the guard drops them.
 */
export interface FrameParser {
  parseFrame(raw: string, recvTs: number, out: ParseOutput): FrameClass;
}

/**
 * Runs one frame through `parser`. A rejected frame keeps nothing it appended (a frame is all or
 * nothing); an exception (an adapter bug, never expected) rolls back likewise and becomes one
 * `internal` reject, so a frame is still classified once.
 */
export function guardedParse(parser: FrameParser, raw: string, recvTs: number, out: ParseOutput): FrameClass {
  const nt = out.trades.length;
  const nq = out.quotes.length;
  const nc = out.control.length;
  const nr = out.rejects.length;
  const nb = out.books.length;
  try {
    const cls = parser.parseFrame(raw, Number.isInteger(recvTs) ? recvTs : Math.floor(recvTs), out);
    if (cls === 'reject') {
      out.trades.length = nt;
      out.quotes.length = nq;
      out.books.length = nb;
    }
    return cls;
  } catch (err) {
    out.trades.length = nt;
    out.quotes.length = nq;
    out.books.length = nb;
    out.control.length = nc;
    out.rejects.length = nr;
    return reject(out, 'internal', '', err instanceof Error ? err.message : String(err), raw);
  }
}

export function reject(out: ParseOutput, reason: RejectReason, schemaPath: string, detail: string, raw: string): 'reject' {
  out.rejects.push({ reason, schemaPath, detail: detail.length > 200 ? detail.slice(0, 200) : detail, raw });
  return 'reject';
}

/** A venue symbol the adapter cannot map to a canonical one; `path` locates it in the frame. */
export function symbolReject(out: ParseOutput, path: string, venueSymbol: string, raw: string): 'reject' {
  return reject(out, 'symbol', path, `unknown venue symbol ${venueSymbol}`, raw);
}

/** A timestamp the schema's pattern let through but the calendar refuses (Feb 31, hour 24). */
export function dateReject(out: ParseOutput, path: string, text: string | undefined, raw: string): 'reject' {
  return reject(out, 'schema', path, `impossible date ${text}`, raw);
}

export function control<K extends ControlKind>(out: ParseOutput, kind: K): K {
  out.control.push(kind);
  return kind;
}

/** Rejects `value` with the first TypeBox error; `prefix` locates `value` inside the frame (e.g. '/data'). */
export function schemaReject(out: ParseOutput, check: TypeCheck<TSchema>, value: unknown, prefix: string, raw: string): 'reject' {
  const first = check.Errors(value).First();
  if (!first) return reject(out, 'schema', prefix, 'invalid', raw);
  let shown: string;
  try {
    shown = JSON.stringify(first.value) ?? 'undefined';
  } catch {
    shown = typeof first.value;
  }
  return reject(out, 'schema', prefix + first.path, `${first.message}; got ${shown.slice(0, 80)}`, raw);
}

/** Parse failure marker (a unique object: JSON never produces it). */
export const BAD_JSON: unique symbol = Symbol('bad-json');

/**
 * JSON.parse that reports failure by value; the reason lands in `out` as a `json` reject of `raw`
 * (the frame as received, when `text` is a rewritten copy of it).
 */
export function parseJson(text: string, out: ParseOutput, raw: string = text): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    reject(out, 'json', '', err instanceof Error ? err.message : 'unparseable', raw);
    return BAD_JSON;
  }
}

/** Decimal text that is zero ("0", "0.00000000"): an empty book side as venues send it. */
export function isZeroDecimal(text: string): boolean {
  return ZERO_DECIMAL.test(text);
}

const ZERO_DECIMAL = /^0+(\.0+)?$/;

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// JSON number grammar; the lookahead keeps `"price":1.5` from matching inside a longer token.
const JSON_NUMBER = '-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?';

/**
 * A global regex that finds `"<key>": <number>` for the given keys. Built once per adapter.
 * Venues that send decimals as JSON numbers (Kraken v2, Bybit v2) are rewritten with it before
 * JSON.parse, because JSON.parse would round them through binary floats ("0.1000" → 0.1).
 * Node 20 has no reviver source-text access, so a textual pre-pass is the cheap exact option:
 * one linear regex scan, only on frames of channels that need it. A key inside a string value
 * cannot match (its quotes would be escaped).
 */
export function numberFieldsPattern(keys: readonly string[]): RegExp {
  return new RegExp(`("(?:${keys.join('|')})"\\s*:\\s*)(${JSON_NUMBER})(?=\\s*[,}\\]])`, 'g');
}

/** Rewrites the numbers matched by `pattern` into JSON strings holding their exact source text. */
export function quoteNumberFields(raw: string, pattern: RegExp): string {
  pattern.lastIndex = 0;
  return raw.replace(pattern, quoteNumber);
}

function quoteNumber(_m: string, head: string, num: string): string {
  return `${head}"${plainDecimal(num)}"`;
}

/**
 * Exponent notation → plain decimal text, exactly (string shifting, no float): '1.5e-7' →
 * '0.00000015'. Text without an exponent is returned as is. Absurd exponents are left alone so
 * the schema rejects them as not-a-decimal instead of building a megabyte string.
 */
export function plainDecimal(text: string): string {
  const e = text.search(/[eE]/);
  if (e < 0) return text;
  const exp = Number(text.slice(e + 1));
  if (!Number.isInteger(exp) || Math.abs(exp) > 60) return text;
  let mantissa = text.slice(0, e);
  const negative = mantissa.startsWith('-');
  if (negative) mantissa = mantissa.slice(1);
  const dot = mantissa.indexOf('.');
  const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  const point = (dot < 0 ? mantissa.length : dot) + exp;
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  out = out.replace(/^0+(?=[0-9])/, '');
  return negative ? `-${out}` : out;
}

/**
 * RFC 3339 text (already matched by the `Rfc3339` schema pattern) → epoch ms, sub-millisecond
 * digits truncated (= floor after 1970). NaN for an impossible calendar value (Feb 31, hour 24):
 * Date.parse would roll those over silently, so the fields are checked and composed here.
 */
export function rfc3339ToMs(text: string): number {
  const y = Number(text.slice(0, 4));
  const mo = Number(text.slice(5, 7));
  const d = Number(text.slice(8, 10));
  const h = Number(text.slice(11, 13));
  const mi = Number(text.slice(14, 16));
  const s = Number(text.slice(17, 19));
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) return Number.NaN;
  let i = 19;
  let ms = 0;
  if (text.charCodeAt(i) === 46 /* . */) {
    let j = i + 1;
    while (j < text.length && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++;
    ms = Number((text.slice(i + 1, Math.min(j, i + 4)) + '00').slice(0, 3));
    i = j;
  }
  let offsetMs = 0;
  if (text[i] !== 'Z') {
    const oh = Number(text.slice(i + 1, i + 3));
    const om = Number(text.slice(i + 4, i + 6));
    if (oh > 23 || om > 59) return Number.NaN;
    offsetMs = (text[i] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  const v = Date.UTC(y, mo - 1, d, h, mi, s, ms) - offsetMs;
  return y >= 1970 && v >= 0 && Number.isSafeInteger(v) ? v : Number.NaN;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Epoch seconds text with fraction ('1618678133.123456') → integer ms, exactly (no float multiply). */
export function secondsTextToMs(text: string): number {
  const dot = text.indexOf('.');
  if (dot < 0) return Number(text) * 1000;
  const frac = text.slice(dot + 1, dot + 4);
  return Number(text.slice(0, dot)) * 1000 + Number(frac.length === 3 ? frac : (frac + '00').slice(0, 3));
}
