import { add, compare, div, formatDecimal, mul, parseDecimal, sub, type Decimal } from '../../runtime/decimal.js';

/**
 * Debounce of one opportunity (a symbol and a buy/sell venue pair, or a funding pair) into
 * episodes. Pure: the owner reports what it sees at each evaluation (`now` from its clock).
 *
 * - An episode becomes a candidate when the opportunity first meets the threshold (`startedAt`)
 *   and OPENS once it has met it continuously for `openAfterMs` (K); a dip below the threshold
 *   before that drops the candidate.
 * - An open episode CLOSES at the first evaluation where the opportunity is below
 *   threshold − hysteresis or gone (a book not live or too old counts as gone); `endedAt` is then.
 * - In between, `update` events are emitted at most every `updateMs`, when the figures changed.
 *
 * Figures: `peak` is the observation with the highest bps, compared exactly (the caller gives the
 * exact value as a ratio); `avgBps` is the time-weighted mean of the reported (4-decimal) bps from
 * `startedAt` to the last evaluation (each observation weighs the time until the next one), rounded
 * half-up to 4 decimals. With no time elapsed yet, it is the first observation's bps.
 */

export interface Observation<D> {
  /** Exact bps as a ratio num/den × 10⁴ (den > 0), for exact comparisons. */
  num: Decimal;
  den: Decimal;
  /** The bps as reported: rounded half-up to 4 decimals. */
  bps: string;
  /** Meets the threshold (exactly): the caller decides, since thresholds may involve more than bps. */
  above: boolean;
  /** At or above threshold − hysteresis (exactly): an open episode stays open. */
  keep: boolean;
  /** What the caller wants to report with the figures (prices, size, net). */
  detail: D;
}

export interface EpisodeEvent<D> {
  event: 'open' | 'update' | 'close';
  /** Deterministic from the key and the start: `<key>:<startedAt>`. */
  id: string;
  startedAt: number;
  /** Null until closed. */
  endedAt: number | null;
  /** When this event was emitted. */
  ts: number;
  peakBps: string;
  avgBps: string;
  /** The latest observation (for close: the last one at or above threshold − hysteresis). */
  last: Observation<D>;
  peak: Observation<D>;
}

export interface EpisodeOptions {
  openAfterMs: number;
  updateMs: number;
}

interface Candidate<D> {
  startedAt: number;
  open: boolean;
  last: Observation<D>;
  lastAt: number;
  peak: Observation<D>;
  /** Σ bps(4 decimals) × ms, exact. */
  weighted: Decimal;
  lastEmitAt: number;
  lastEmitted: Observation<D> | null;
}

const ZERO: Decimal = { units: 0n, scale: 0 };

export class EpisodeTracker<D> {
  private c: Candidate<D> | null = null;

  constructor(
    /** `<SYMBOL>:<buyVenue>:<sellVenue>` (plus the kind for funding pairs). */
    readonly key: string,
    private readonly opts: EpisodeOptions,
    /** Whether two details differ enough to report an update (size, net, prices). */
    private readonly changed: (a: D, b: D) => boolean,
  ) {}

  get isOpen(): boolean {
    return this.c?.open === true;
  }

  /** The current candidate or open episode's start, or null. */
  get startedAt(): number | null {
    return this.c?.startedAt ?? null;
  }

  /** One evaluation: `obs` null when there is no opportunity (or it cannot be computed). */
  observe(now: number, obs: Observation<D> | null, out: EpisodeEvent<D>[]): void {
    const c = this.c;
    if (c === null) {
      if (obs === null || !obs.above) return;
      this.c = { startedAt: now, open: false, last: obs, lastAt: now, peak: obs, weighted: ZERO, lastEmitAt: now, lastEmitted: null };
      if (this.opts.openAfterMs <= 0) this.openNow(now, out);
      return;
    }
    if (!c.open) {
      if (obs === null || !obs.above) {
        this.c = null;
        return;
      }
      this.advance(c, now, obs);
      if (now - c.startedAt >= this.opts.openAfterMs) this.openNow(now, out);
      return;
    }
    if (obs === null || !obs.keep) {
      this.accumulate(c, now);
      out.push(this.event('close', c, now, now));
      this.c = null;
      return;
    }
    this.advance(c, now, obs);
    if (now - c.lastEmitAt >= this.opts.updateMs && (c.lastEmitted === null || c.lastEmitted.bps !== obs.bps || this.changed(c.lastEmitted.detail, obs.detail))) {
      out.push(this.event('update', c, null, now));
      c.lastEmitAt = now;
      c.lastEmitted = obs;
    }
  }

  /** Closes an open episode now (shutdown, or the pair disappeared); a candidate is dropped. */
  close(now: number, out: EpisodeEvent<D>[]): void {
    const c = this.c;
    this.c = null;
    if (c === null || !c.open) return;
    this.accumulate(c, now);
    out.push(this.event('close', c, now, now));
  }

  private openNow(now: number, out: EpisodeEvent<D>[]): void {
    const c = this.c!;
    c.open = true;
    c.lastEmitAt = now;
    c.lastEmitted = c.last;
    out.push(this.event('open', c, null, now));
  }

  private advance(c: Candidate<D>, now: number, obs: Observation<D>): void {
    this.accumulate(c, now);
    c.last = obs;
    c.lastAt = now;
    if (compare(mul(obs.num, c.peak.den), mul(c.peak.num, obs.den)) > 0) c.peak = obs;
  }

  /** The last observation held from its time until `now`. */
  private accumulate(c: Candidate<D>, now: number): void {
    const dt = now - c.lastAt;
    if (dt <= 0) return;
    c.weighted = add(c.weighted, mul(parseDecimal(c.last.bps), { units: BigInt(dt), scale: 0 }));
    c.lastAt = now;
  }

  private event(event: EpisodeEvent<D>['event'], c: Candidate<D>, endedAt: number | null, ts: number): EpisodeEvent<D> {
    const span = c.lastAt - c.startedAt;
    const avg = span > 0 ? formatDecimal(div(c.weighted, { units: BigInt(span), scale: 0 }, 4), 4) : c.last.bps;
    return { event, id: `${this.key}:${c.startedAt}`, startedAt: c.startedAt, endedAt, ts, peakBps: c.peak.bps, avgBps: avg, last: c.last, peak: c.peak };
  }
}

/** `value ≥ threshold` for an exact ratio num/den × 10⁴ against a bps threshold. */
export function ratioAtLeastBps(num: Decimal, den: Decimal, bps: Decimal): boolean {
  return compare(mul(num, { units: 10_000n, scale: 0 }), mul(bps, den)) >= 0;
}

/** threshold − hysteresis (may be negative: then only a loss closes). */
export const keepBelow = (threshold: Decimal, hysteresis: Decimal): Decimal => sub(threshold, hysteresis);
