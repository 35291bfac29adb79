/** A figure measured over repeated runs: the median and the spread the report prints. */
export interface Figure {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export function figure(runs: number[]): Figure {
  if (runs.length === 0) throw new RangeError('a figure needs at least one run');
  const s = [...runs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, runs: [...runs] };
}

/** Quantile of an ascending-sorted array, nearest rank (p in 0…1). */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(p * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Milliseconds since the epoch with sub-millisecond resolution (same clock as Date.now()). */
export const preciseNow = (): number => performance.timeOrigin + performance.now();

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`bench: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** `12345.6` → `12,346`; small values keep a few significant digits. */
export function fmt(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return String(x);
  if (digits === 0 && Math.abs(x) < 100 && x !== Math.round(x)) return x.toPrecision(3);
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function fmtFigure(f: Figure, digits = 0, unit = ''): string {
  const u = unit ? ` ${unit}` : '';
  return `${fmt(f.median, digits)}${u} (${fmt(f.min, digits)}–${fmt(f.max, digits)})`;
}
