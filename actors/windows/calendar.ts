import { configError, type SessionConfig } from './config.js';

/** A bar's half-open interval [start, end) in epoch ms; reused as an out-parameter. */
export interface Bar {
  start: number;
  end: number;
}

/** Where bars of a timeframe lie in time. Only consulted at bar boundaries, never per trade. */
export interface BarCalendar {
  /** Whether trades at `ts` are aggregated at all. */
  inSession(ts: number): boolean;
  /** The bar containing `ts` (which must be in session). */
  barOf(ts: number, tfMs: number, out: Bar): void;
  /** The bar following the one that ends at `end`. */
  nextBar(end: number, tfMs: number, out: Bar): void;
}

/** 24/7 markets: bars are UTC epoch multiples of the timeframe (1d = UTC day), as exchange klines. */
export const UTC_CALENDAR: BarCalendar = {
  inSession: () => true,
  barOf(ts, tfMs, out) {
    out.start = ts - (ts % tfMs);
    out.end = out.start + tfMs;
  },
  nextBar(end, tfMs, out) {
    out.start = end;
    out.end = end + tfMs;
  },
};

interface Session {
  open: number;
  close: number;
}

const DAY = 86_400_000;
/** How far ahead to look for the next session before deciding the config has none. */
const MAX_SEARCH_DAYS = 800;

/**
 * Session calendar: sessions open on configured local weekdays that are not holidays; bars run
 * from the session open in steps of the timeframe (elapsed time, so a 4h bar across a DST
 * change is still 4 h long) and the last one is cut at the close.
 * A local open/close time that does not exist (DST gap) moves forward by the gap; one that
 * exists twice (DST overlap) means its first occurrence.
 */
export class SessionCalendar implements BarCalendar {
  private readonly fmt: Intl.DateTimeFormat;
  private readonly openMin: number;
  private readonly closeMin: number;
  private readonly weekdays: ReadonlySet<number>;
  private readonly holidays: ReadonlySet<number>;
  private readonly byDay = new Map<number, Session | null>();
  /** Last session looked up: almost every call hits it. */
  private cur: Session = { open: 0, close: 0 };

  constructor(cfg: SessionConfig) {
    try {
      this.fmt = new Intl.DateTimeFormat('en-US', {
        timeZone: cfg.timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw configError(`bad session time zone ${JSON.stringify(cfg.timeZone)} (expected an IANA zone such as America/New_York)`);
    }
    this.openMin = hhmm(cfg.open);
    this.closeMin = hhmm(cfg.close);
    this.weekdays = new Set(cfg.weekdays ?? [1, 2, 3, 4, 5]);
    this.holidays = new Set((cfg.holidays ?? []).map((d) => Date.parse(d + 'T00:00:00Z') / DAY));
    if (this.weekdays.size === 0) throw configError('session has no weekdays');
  }

  inSession(ts: number): boolean {
    if (ts >= this.cur.open && ts < this.cur.close) return true;
    return this.sessionAt(ts) !== null;
  }

  barOf(ts: number, tfMs: number, out: Bar): void {
    const s = this.sessionAt(ts);
    if (s === null) throw configError(`no session at ${new Date(ts).toISOString()} (the calendar was asked for a bar outside its sessions)`);
    out.start = s.open + Math.floor((ts - s.open) / tfMs) * tfMs;
    out.end = Math.min(out.start + tfMs, s.close);
  }

  nextBar(end: number, tfMs: number, out: Bar): void {
    const s = this.sessionAt(end) ?? this.sessionFrom(end);
    out.start = Math.max(end, s.open);
    out.end = Math.min(out.start + tfMs, s.close);
  }

  /** The session containing `ts`, or null. */
  sessionAt(ts: number): Session | null {
    if (ts >= this.cur.open && ts < this.cur.close) return this.cur;
    const day = this.localDay(ts);
    for (let d = day - 1; d <= day; d++) {
      const s = this.sessionOfDay(d);
      if (s !== null && ts >= s.open && ts < s.close) return (this.cur = s);
    }
    return null;
  }

  /** The first session opening at or after `ts`. */
  sessionFrom(ts: number): Session {
    const day = this.localDay(ts);
    for (let d = day - 1; d <= day + MAX_SEARCH_DAYS; d++) {
      const s = this.sessionOfDay(d);
      if (s !== null && s.open >= ts) return s;
    }
    throw configError(`session config has no session within ${MAX_SEARCH_DAYS} days of ${new Date(ts).toISOString()}`);
  }

  /** The session opening on local day number `day` (days since 1970-01-01), or null. */
  private sessionOfDay(day: number): Session | null {
    const hit = this.byDay.get(day);
    if (hit !== undefined) return hit;
    let s: Session | null = null;
    const isoWeekday = ((((day + 3) % 7) + 7) % 7) + 1; // 1970-01-01 was a Thursday
    if (this.weekdays.has(isoWeekday) && !this.holidays.has(day)) {
      const closeDay = this.closeMin <= this.openMin ? day + 1 : day;
      s = { open: this.localToUtc(day * DAY + this.openMin * 60_000), close: this.localToUtc(closeDay * DAY + this.closeMin * 60_000) };
    }
    if (this.byDay.size > 512) this.byDay.clear();
    this.byDay.set(day, s);
    return s;
  }

  private localDay(ts: number): number {
    return Math.floor((ts + this.offsetAt(ts)) / DAY);
  }

  /** Local wall time (as epoch ms read in UTC) → instant. */
  private localToUtc(wall: number): number {
    const before = this.offsetAt(wall - DAY);
    const after = this.offsetAt(wall + DAY);
    let best = Infinity;
    for (const o of [before, after]) {
      const u = wall - o;
      if (this.offsetAt(u) === o && u < best) best = u;
    }
    return best !== Infinity ? best : wall - Math.min(before, after);
  }

  /** Zone offset (local − UTC, ms) in effect at instant `ts`. */
  private offsetAt(ts: number): number {
    const secs = Math.floor(ts / 1000) * 1000;
    const p: Record<string, number> = {};
    for (const part of this.fmt.formatToParts(secs)) if (part.type !== 'literal') p[part.type] = Number(part.value);
    return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) - secs;
  }
}

function hhmm(s: string): number {
  const m = /^([0-9]{2}):([0-9]{2})$/.exec(s);
  if (!m) throw configError(`bad session time ${JSON.stringify(s)} (expected HH:MM)`);
  return Number(m[1]) * 60 + Number(m[2]);
}
