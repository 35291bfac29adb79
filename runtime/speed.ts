import { TickworkError } from './errors.js';

/** Playback speed for recordings and replays: `max` → Infinity; `1x`, `10x`, `0.5x` (or `10`) → that factor of real time. */
export function parseSpeed(text: string): number {
  if (text === 'max') return Infinity;
  const m = /^(\d+(?:\.\d+)?)x?$/.exec(text);
  if (!m || !(Number(m[1]) > 0)) throw new TickworkError('USAGE_INVALID', `speed must be max, 1x, Nx or a positive number, got ${text}`);
  return Number(m[1]);
}
