import type { Random } from './random.js';
import type { MalformedKind } from './types.js';

export const MALFORMED_KINDS: readonly MalformedKind[] = ['truncated', 'wrong-type', 'missing-field', 'huge-number', 'non-utf8'];

export interface MalformedFrame {
  kind: MalformedKind;
  data: string | Buffer;
  /** Non-UTF-8 bytes go out as a binary frame: as text, a conforming client must fail the connection (1007). */
  binary: boolean;
}

const HUGE_MARK = '\u0000huge\u0000';

/**
 * A broken copy of a real frame, built so that no parser can accept it as the trade or quote it
 * came from: cut short, a field a parser must read given a value of another type or removed, a
 * number far beyond any id or time, or bytes that are not UTF-8.
 */
export function malformedFrame(source: string, keys: readonly string[], rng: Random, kind: MalformedKind = rng.pick(MALFORMED_KINDS)): MalformedFrame {
  if (kind === 'non-utf8') {
    const bytes = Buffer.from(source, 'utf8');
    const out = Buffer.alloc(bytes.length + 3);
    const at = rng.int(0, bytes.length);
    bytes.copy(out, 0, 0, at);
    // 0xC3 0x28 is an invalid two-byte sequence; 0xFF never appears in UTF-8.
    out[at] = 0xc3;
    out[at + 1] = 0x28;
    out[at + 2] = 0xff;
    bytes.copy(out, at + 3, at);
    return { kind, data: out, binary: true };
  }
  if (kind !== 'truncated') {
    const broken = breakField(source, keys, rng, kind);
    if (broken !== null) return { kind, data: broken, binary: false };
  }
  // Any strict prefix of a JSON object or array is invalid JSON.
  const cut = source.length > 1 ? rng.int(1, source.length - 1) : 0;
  return { kind: 'truncated', data: source.slice(0, cut), binary: false };
}

function breakField(source: string, keys: readonly string[], rng: Random, kind: MalformedKind): string | null {
  let root: unknown;
  try {
    root = JSON.parse(source);
  } catch {
    return null;
  }
  const hits: Array<{ holder: Record<string, unknown>; key: string }> = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth > 6 || typeof v !== 'object' || v === null) return;
    if (Array.isArray(v)) {
      for (const x of v) walk(x, depth + 1);
      return;
    }
    const o = v as Record<string, unknown>;
    for (const [k, x] of Object.entries(o)) {
      if (keys.includes(k)) hits.push({ holder: o, key: k });
      walk(x, depth + 1);
    }
  };
  walk(root, 0);
  if (hits.length === 0) return null;
  const { holder, key } = rng.pick(hits);
  const value = holder[key];
  if (kind === 'missing-field') {
    delete holder[key];
    return JSON.stringify(root);
  }
  if (kind === 'wrong-type') {
    // Containers are wrong for every scalar field; a boolean too unless the field is one.
    const options: unknown[] = [{ unexpected: [1, 2] }, [value, value]];
    if (typeof value !== 'boolean') options.push(true);
    holder[key] = rng.pick(options);
    return JSON.stringify(root);
  }
  // huge-number: a 400-digit literal (Infinity once parsed) where the value was a number or array,
  // a 100-digit decimal string where it was text.
  if (typeof value === 'string') {
    holder[key] = `${'9'.repeat(100)}.5`;
    return JSON.stringify(root);
  }
  holder[key] = HUGE_MARK;
  return JSON.stringify(root).replace(JSON.stringify(HUGE_MARK), '9'.repeat(400));
}
