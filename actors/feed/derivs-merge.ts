import { DERIV_FIELD_NAMES, type DerivFields, type DerivTicker, type SettledFunding } from '../../schemas/deriv.js';
import type { DerivPatch } from '../../venues/kit/derivs.js';

/**
 * The derivative ticker of each symbol of one venue, merged from partial updates (Bybit ticker
 * deltas omit unchanged fields; OKX sends mark, index, funding and open interest on separate
 * channels; Binance open interest comes by REST), the way tardis-node's PendingTickerInfoHelper
 * does. Pure: the owner feeds patches in and, on its timer, takes the tickers that are due.
 *
 * Emitted on change, at most once per `minIntervalMs` per symbol. A ticker whose
 * `nextFundingTime` moved forward carries `settled`: the last rate announced for the settlement it
 * moved past (what the venue charged there), with the interval it applied to.
 */

export interface DerivsMergeOptions {
  venue: string;
  /** Least time between two emissions of one symbol (1000: at most one per second). */
  minIntervalMs: number;
  /** Assumed until the venue states the interval or two settlements show it (Binance: 8 h). */
  defaultFundingIntervalMs?: number;
}

interface Entry {
  current: DerivTicker;
  /** The venue stated the interval (OKX, Bybit `fundingIntervalHour`): never overridden by observation. */
  intervalStated: boolean;
  changed: boolean;
  lastEmitAt: number;
  /** `ts` of the last emission (ours strictly increase). */
  lastTs: number;
  newestTs: number;
  newestRecvTs: number;
  settled: SettledFunding[];
}

export class DerivsMerger {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly opts: DerivsMergeOptions) {}

  /** The merged ticker of `symbol` as it stands (not yet emitted changes included), or undefined. */
  current(symbol: string): DerivTicker | undefined {
    return this.entries.get(symbol)?.current;
  }

  apply(p: DerivPatch): void {
    let e = this.entries.get(p.symbol);
    if (e === undefined) {
      e = this.create(p);
      this.entries.set(p.symbol, e);
    }
    const cur = e.current as unknown as Record<keyof DerivFields, unknown>;
    const v = p.values;
    this.detectSettlement(e, v.nextFundingTime);
    if (v.fundingIntervalMs !== undefined && v.fundingIntervalMs !== null) e.intervalStated = true;
    for (const k of DERIV_FIELD_NAMES) {
      const x = v[k];
      if (x === undefined || cur[k] === x) continue;
      cur[k] = x;
      e.changed = true;
    }
    e.current.venueSymbol = p.venueSymbol;
    if (p.ts > e.newestTs) e.newestTs = p.ts;
    if (p.recvTs > e.newestRecvTs) e.newestRecvTs = p.recvTs;
  }

  /**
   * Resumes `symbol` from the last ticker a previous run published (Redis `deriv:*`), before any
   * patch: our `ts` continues above its (a ticker of the new run never reuses a message id of the
   * old one), and with `withValues` its fields are the starting point, so a settlement the venue
   * passed while no feed ran (a restart across a funding time) is still detected, with the last
   * rate announced before. Nothing is emitted until the venue says something new.
   */
  resume(t: DerivTicker, withValues: boolean): void {
    if (t.venue !== this.opts.venue || this.entries.has(t.symbol)) return;
    const e = this.create({ venue: t.venue, symbol: t.symbol, venueSymbol: t.venueSymbol, values: {}, ts: t.ts, recvTs: t.recvTs });
    if (withValues) {
      const cur = e.current as unknown as Record<keyof DerivFields, unknown>;
      for (const k of DERIV_FIELD_NAMES) cur[k] = t[k];
    }
    e.lastTs = t.ts;
    this.entries.set(t.symbol, e);
  }

  /** Appends the tickers due at `now` (changed, and `minIntervalMs` after their last emission). */
  due(now: number, out: DerivTicker[]): void {
    for (const e of this.entries.values()) {
      if (!e.changed || now - e.lastEmitAt < this.opts.minIntervalMs) continue;
      const ts = Math.max(e.newestTs, e.lastTs + 1);
      const t: DerivTicker = { ...e.current, ts, recvTs: e.newestRecvTs };
      const s = e.settled.shift();
      if (s !== undefined) t.settled = s;
      out.push(t);
      e.lastEmitAt = now;
      e.lastTs = ts;
      // a second settlement before an emission (hours apart: only after a long outage) goes next time
      e.changed = e.settled.length > 0;
    }
  }

  private create(p: DerivPatch): Entry {
    const current: DerivTicker = {
      venue: this.opts.venue,
      symbol: p.symbol,
      venueSymbol: p.venueSymbol,
      markPrice: null,
      indexPrice: null,
      lastPrice: null,
      fundingRate: null,
      nextFundingTime: null,
      fundingIntervalMs: this.opts.defaultFundingIntervalMs ?? null,
      predictedFundingRate: null,
      openInterest: null,
      openInterestValue: null,
      venueOpenInterest: null,
      ts: 0,
      recvTs: 0,
    };
    return { current, intervalStated: false, changed: false, lastEmitAt: -Infinity, lastTs: -1, newestTs: 0, newestRecvTs: 0, settled: [] };
  }

  /** `nextFundingTime` moving forward past a known one: the rate announced for that one settled. */
  private detectSettlement(e: Entry, next: number | null | undefined): void {
    const prev = e.current.nextFundingTime;
    if (next === undefined || next === null || prev === null || next <= prev) return;
    if (!e.intervalStated) e.current.fundingIntervalMs = next - prev;
    const rate = e.current.fundingRate;
    if (rate !== null) e.settled.push({ fundingRate: rate, fundingTime: prev, fundingIntervalMs: e.current.fundingIntervalMs });
    e.changed = true;
  }
}
