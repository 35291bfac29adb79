import { InvalidArgumentError } from 'commander';
import { parseSpeed } from '../runtime/speed.js';

/**
 * Argument parsers shared by the commands. Commander names the flag in its error
 * (`option '--demo-rate <n>' argument 'x' is invalid. expected a positive number`).
 */
export const nonNegativeInt = (v: string): number => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(v);
};

export const nonNegativeNumber = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a non-negative number');
  return n;
};

export const positiveNumber = (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
};

export const speed = (v: string): number => {
  try {
    return parseSpeed(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};

let registryIds: readonly string[] = [];

/**
 * Loads the venue registry's ids. The registry imports every venue (schemas, simulators, books),
 * which the list of commands does not need: cli/main.ts calls this through a command's `setup`,
 * only for the command that runs or shows its help, before its options are declared or parsed.
 */
export async function loadVenueIds(): Promise<void> {
  registryIds = (await import('../venues/index.js')).VENUE_IDS;
}

/** The registry's venue ids (empty before `loadVenueIds`). */
export const venueIdChoices = (): readonly string[] => registryIds;

/** One venue id of the registry. */
export const venueId = (v: string): string => {
  if (!registryIds.includes(v)) throw new InvalidArgumentError(`expected one of ${registryIds.join(', ')}`);
  return v;
};

/** A comma-separated list of venue ids of the registry. */
export const venueIds = (v: string): string[] => {
  const ids = v.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = ids.filter((id) => !registryIds.includes(id));
  if (ids.length === 0 || bad.length) throw new InvalidArgumentError(`expected venues from ${registryIds.join(', ')}`);
  return ids;
};

/** `i/N` with i below N. */
export const shard = (v: string): string => {
  const m = /^(\d+)\/([1-9]\d*)$/.exec(v);
  if (!m || !(Number(m[1]) < Number(m[2]))) throw new InvalidArgumentError('expected i/N with i below N, e.g. 0/1 or 2/4');
  return v;
};
