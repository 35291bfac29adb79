import { TickworkError } from '../runtime/errors.js';
import { hash32 } from './random.js';

/**
 * Where a synthetic venue's price should be at an instant: one fair price per asset pair that every
 * venue shares, times a small deviation of the venue's own. Both are pure functions of the absolute
 * time, so separate simulators (one per venue, even in separate processes) agree on the fair price
 * without talking to each other, and a past day computed now matches what live would have shown.
 *
 * - Fair price: `start × exp(x(t))`, x a sum of smooth value-noise octaves (30 s … 34 h periods,
 *   amplitudes ∝ √period, as a random walk's moves grow), so 1 m candles move by a few bps and a day
 *   by about `dailyVolatility`; bounded, so it never drifts away from the start.
 * - Venue deviation: a jitter of `venueNoiseBps` (a few seconds' period) plus rare dislocations (a
 *   venue lagging a move: a jump of 1–4 × `dislocationBps` that decays within seconds). Venues'
 *   quotes thus cross now and then by a bp or two, and not all the time.
 */
export interface FairPriceOptions {
  /** Typical relative move over a day; default 0.03. 0 pins the fair price at the start. */
  dailyVolatility?: number;
  /** Typical size of a venue's own jitter around the fair price, in bps; default 0.2. */
  venueNoiseBps?: number;
  /** Size scale of dislocations in bps (0 = none); default 1. */
  dislocationBps?: number;
  /** Mean seconds between one venue's dislocations, per symbol; default 180. */
  dislocationEverySec?: number;
}

const DAY_MS = 86_400_000;
const OCTAVES = [30_000, 120_000, 480_000, 1_920_000, 7_680_000, 30_720_000, 122_880_000];
// Value noise (a smoothstep between uniform lattice values) has a standard deviation near 0.5.
const NOISE_SD = 0.5;
const JITTER_PERIODS = [1_700, 7_000];
const DISLOCATION_SLOT_MS = 10_000;
const DISLOCATION_DECAY_MS = 3_000;
/** Slots looked back for dislocations still in effect (decayed below 0.1 % after 20 s). */
const DISLOCATION_LOOKBACK = 3;
const TARGET_STEP_MS = 10;

/** Uniform in [0, 1) from a key and a lattice index (any safe integer), stable across runs. */
function lattice(key: number, i: number): number {
  const lo = i >>> 0;
  const hi = Math.floor(i / 4294967296) >>> 0;
  let h = Math.imul(key ^ 0x9e3779b9, 0x85ebca6b) ^ lo;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) ^ Math.imul(hi, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** Smooth noise in [-1, 1] with features about `period` ms apart. */
function valueNoise(key: number, t: number, period: number): number {
  const x = t / period;
  const i = Math.floor(x);
  const f = x - i;
  const s = f * f * (3 - 2 * f);
  const a = lattice(key, i) * 2 - 1;
  const b = lattice(key, i + 1) * 2 - 1;
  return a + (b - a) * s;
}

/** Venues quoting in these price alike, so BTC-USD and BTC-USDT follow one path. */
const USD_LIKE = new Set(['USD', 'USDT', 'USDC', 'BUSD', 'FDUSD', 'DAI', 'TUSD']);

/** The fair-price path of a pair: perpetuals follow their spot pair, dollar stablecoins count as USD. */
export function pathKey(base: string, quote: string): number {
  return hash32(`fair:${base}/${USD_LIKE.has(quote) ? 'USD' : quote}`);
}

export class FairPrice {
  private readonly amplitudes: number[];
  private readonly noise: number;
  private readonly dislocation: number;
  private readonly dislocationChance: number;
  /** The last target per venue key. */
  private readonly last = new Map<number, { at: number; path: number; start: number; value: number }>();

  constructor(opts: FairPriceOptions = {}) {
    const vol = opts.dailyVolatility ?? 0.03;
    const noiseBps = opts.venueNoiseBps ?? 0.2;
    const dislocationBps = opts.dislocationBps ?? 1;
    const every = opts.dislocationEverySec ?? 180;
    for (const [name, v] of Object.entries({ dailyVolatility: vol, venueNoiseBps: noiseBps, dislocationBps, dislocationEverySec: every })) {
      if (!(Number.isFinite(v) && v >= 0)) throw new TickworkError('USAGE_INVALID', `simulator: fair price ${name} must be a finite number >= 0, got ${v}`);
    }
    this.amplitudes = OCTAVES.map((p) => (vol * Math.sqrt(p / DAY_MS)) / NOISE_SD / Math.sqrt(OCTAVES.length / 2));
    this.noise = noiseBps / 1e4 / NOISE_SD / Math.sqrt(JITTER_PERIODS.length);
    this.dislocation = dislocationBps / 1e4;
    this.dislocationChance = every > 0 ? Math.min(1, DISLOCATION_SLOT_MS / 1000 / every) : 0;
  }

  /** log(fair / start) of the pair's path at `t` (epoch ms). */
  logFair(path: number, t: number): number {
    let x = 0;
    for (let k = 0; k < OCTAVES.length; k++) x += this.amplitudes[k]! * valueNoise(path + k * 7919, t, OCTAVES[k]!);
    return x;
  }

  /** The venue's relative deviation from the fair price at `t`; `venue` keys its own noise (the market's seed and symbol). */
  deviation(venue: number, t: number): number {
    let d = 0;
    for (let k = 0; k < JITTER_PERIODS.length; k++) d += this.noise * valueNoise(venue + 104_729 * (k + 1), t, JITTER_PERIODS[k]!);
    if (this.dislocationChance === 0) return d;
    const slot = Math.floor(t / DISLOCATION_SLOT_MS);
    for (let s = slot - DISLOCATION_LOOKBACK; s <= slot; s++) {
      const key = venue ^ 0x5bd1e995;
      if (lattice(key, s) >= this.dislocationChance) continue;
      const at = (s + lattice(key + 1, s)) * DISLOCATION_SLOT_MS;
      if (at > t) continue;
      const size = this.dislocation * (1 + 3 * lattice(key + 2, s)) * (lattice(key + 3, s) < 0.5 ? -1 : 1);
      d += size * Math.exp(-(t - at) / DISLOCATION_DECAY_MS);
    }
    return d;
  }

  /**
   * The venue's target price in ticks (not rounded) for a pair starting at `start` ticks, at `t`
   * taken to 10 ms (less than a tick of movement): events of one burst share the computation.
   */
  target(start: number, path: number, venue: number, t: number): number {
    const at = Math.floor(t / TARGET_STEP_MS) * TARGET_STEP_MS;
    const hit = this.last.get(venue);
    if (hit !== undefined && hit.at === at && hit.path === path && hit.start === start) return hit.value;
    const value = start * Math.exp(this.logFair(path, at)) * (1 + this.deviation(venue, at));
    this.last.set(venue, { at, path, start, value });
    return value;
  }
}
