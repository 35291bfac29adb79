import type { Candle } from '../../schemas/candle.js';
import { TIMEFRAMES, type Tf } from '../../schemas/common.js';
import type { Trade } from '../../schemas/trade.js';
import { ExactSum } from '../../runtime/decimal.js';
import { SessionCalendar, UTC_CALENDAR, type BarCalendar } from './calendar.js';
import { CandleSeries, SeriesState, type CandleSeriesSnapshot, type SeriesContext, type Totals } from './candle-series.js';
import { TradeValues, idBefore } from './trade-values.js';
import { DEFAULT_HISTORY_SIZE, DEFAULT_MAX_GAP_BARS, DEFAULT_VWAP_WINDOWS, SessionConfigCheck, WindowsError, configError, type WindowsConfig } from './config.js';
import { RollingVwap, type RollingVwapSnapshot } from './rolling-vwap.js';

const NONE = SeriesState.None;
const OPEN = SeriesState.Open;

/** The trade fields the windows read (a full normalized `Trade` fits). */
export type WindowTrade = Pick<Trade, 'id' | 'price' | 'qty' | 'side' | 'ts' | 'count'>;

/** Counters since creation (carried through snapshots). */
export interface WindowStats {
  /** Trades aggregated (in session). */
  applied: number;
  /** Trades older than some timeframe's open bar (each is a correction or a drop there; counts depend on arrival order). */
  late: number;
  /** Closed candles re-emitted because of late trades (including re-derived gap bars and bars created before the first). */
  corrections: number;
  /** Trades that could not be applied to at least one timeframe: their candle left the history. */
  droppedLate: number;
  /** Trades outside the trading session, ignored. */
  outsideSession: number;
}

export interface WindowsSnapshot<T extends WindowTrade = WindowTrade> {
  v: 1;
  config: WindowsConfig;
  /** Null before the first trade or advance. */
  watermark: number | null;
  priceDigits: number;
  qtyDigits: number;
  stats: WindowStats;
  /** Latest trade by (ts, id). */
  lastTrade: T | null;
  series: CandleSeriesSnapshot[];
  vwap: RollingVwapSnapshot;
}

/**
 * All windows of one venue+symbol: candles per timeframe and rolling VWAPs, in event time.
 *
 * - `apply(trade)` parses the price and quantity once and updates every open bar and the VWAP
 *   ring; it allocates nothing unless a candle closes.
 * - The watermark is the latest of trade times and `advance(ts)` calls (the actor passes its
 *   estimate of event time minus the grace, so a quiet symbol still closes its bars). A bar
 *   closes when the watermark reaches its end; bars without trades are emitted as gap candles
 *   carrying the previous close.
 * - Order-independent: open/close and first/last trade ids follow (ts, id), never arrival, so any
 *   arrival order of the same trades ends in the same candles and VWAPs, as long as no trade comes
 *   more than `historySize` bars after its bar closed.
 * - A trade older than a timeframe's open bar corrects the closed candle it belongs to (re-emitted,
 *   same openTime) while that candle is among the last `historySize`; older ones are dropped
 *   (counted). A trade before the first bar creates the bars back to its own while the history
 *   has room for them (emitted as corrections).
 * - Bounded work per message: a step that would close more than `maxGapBars` bars of a timeframe
 *   is refused (WindowsError `WINDOW_GAP_TOO_LONG`) before anything changes.
 * - Closed candles and corrections queue up in order until `drainClosed()`.
 * - Output digits: volumes get the most fraction digits seen in quantities, quote volumes at least
 *   as many as prices or quantities (more only if exactness needs them), VWAPs the price
 *   precision + 4, rounded half-up. A candle without volume has vwap = its close (gap bars: the
 *   previous close).
 */
export class SymbolWindows<T extends WindowTrade = WindowTrade> {
  readonly config: WindowsConfig;
  readonly stats: WindowStats = { applied: 0, late: 0, corrections: 0, droppedLate: 0, outsideSession: 0 };
  private readonly series: CandleSeries[];
  private readonly vwap: RollingVwap;
  /** Whether any VWAP window is configured (the batch path has none: no ring work per trade). */
  private readonly vwapOn: boolean;
  private readonly ctx: Context;
  private readonly values = new TradeValues();
  private readonly sessions: boolean;
  private readonly maxGapBars: number;
  private wm = -Infinity;
  /** Smallest watermark at which some series has a bar to close or open. */
  private nextBoundary = Infinity;
  private priceDigits = 0;
  private last: T | null = null;
  /** Session containing the latest in-session trade (session symbols only). */
  private sessionOpen = 0;
  private sessionClose = 0;

  constructor(config: WindowsConfig) {
    const tfs = config.timeframes ?? TIMEFRAMES;
    for (const tf of tfs) if (!TIMEFRAMES.includes(tf)) throw configError(`unknown timeframe ${JSON.stringify(tf)}`);
    if (config.session && !SessionConfigCheck.Check(config.session)) {
      const e = SessionConfigCheck.Errors(config.session).First();
      throw configError(`bad session config for ${config.venue}/${config.symbol}: ${e?.path} ${e?.message}`);
    }
    const historySize = config.historySize ?? DEFAULT_HISTORY_SIZE;
    if (!Number.isInteger(historySize) || historySize < 0) throw configError(`bad historySize ${historySize} (expected an integer ≥ 0)`);
    if (config.pricePrecision !== undefined && !(Number.isInteger(config.pricePrecision) && config.pricePrecision >= 0)) {
      throw configError(`bad pricePrecision ${config.pricePrecision} (expected an integer ≥ 0)`);
    }
    this.config = config;
    this.maxGapBars = config.maxGapBars ?? DEFAULT_MAX_GAP_BARS;
    if (!(Number.isInteger(this.maxGapBars) && this.maxGapBars >= 1)) throw configError(`bad maxGapBars ${config.maxGapBars} (expected an integer ≥ 1)`);
    this.sessions = !!config.session;
    const calendar: BarCalendar = config.session ? new SessionCalendar(config.session) : UTC_CALENDAR;
    this.ctx = new Context(config.venue, config.symbol, calendar, historySize, this.stats);
    this.ctx.vwapDigits = (config.pricePrecision ?? 0) + 4;
    // Sorted by length so the series list reads naturally in outputs.
    const ordered = TIMEFRAMES.filter((tf) => tfs.includes(tf));
    this.series = ordered.map((tf) => new CandleSeries(tf, this.ctx));
    this.vwap = new RollingVwap(config.vwapWindows ?? DEFAULT_VWAP_WINDOWS);
    this.vwapOn = this.vwap.labels.length > 0;
  }

  get timeframes(): readonly Tf[] {
    return this.series.map((s) => s.tf);
  }

  /** Latest event time seen (trade ts or advance); −Infinity before anything. */
  get watermark(): number {
    return this.wm;
  }

  /** Latest trade applied by (ts, id), whatever the arrival order. */
  get lastTrade(): T | null {
    return this.last;
  }

  /**
   * Aggregates one trade. Throws DecimalError (malformed price/qty) or WindowsError (a jump past
   * `maxGapBars`) before changing any state, so the caller may dead-letter the trade.
   */
  apply(trade: T): void {
    const v = this.values;
    const ts = trade.ts;
    v.ts = ts;
    if (this.sessions && !(ts >= this.sessionOpen && ts < this.sessionClose) && !this.enterSession(v)) {
      if (ts > this.wm) this.advance(ts);
      this.stats.outsideSession++;
      return;
    }
    v.load(trade.price, trade.qty); // throws on malformed input before any state changes
    v.newest = ts > this.wm;
    if (v.newest) this.moveWatermark(v);
    else if (this.series.length > 0 && this.series[0]!.state === NONE) this.checkFirst(v);
    v.id = trade.id;
    v.buy = trade.side === 'buy';
    v.count = trade.count ?? 1;
    if (v.price.digits > this.priceDigits || v.qty.digits > this.ctx.qtyDigits) this.noteDigits(v);

    let late = false;
    let dropped = false;
    let reshaped = false;
    const series = this.series;
    // Open bars nest (every timeframe divides the next, and a larger open bar holds every trade
    // of the smaller one inside it), so a price strictly inside one open bar's (low, high) moves
    // no high or low of the larger open bars after it: the compares stop at the first such bar
    // (usually the second smallest) instead of running for every timeframe.
    // Once into the symbol's totals (nothing below throws): every bar's sums derive from them.
    const totals = this.ctx.totals;
    totals.volume.addValue(v.qty);
    totals.quote.addValue(v.quote);
    if (v.buy) totals.buyVolume.addValue(v.qty);
    let inRange = false;
    for (let i = 0; i < series.length; i++) {
      const s = series[i]!;
      if (s.state === OPEN && ts >= s.start) inRange = s.applyOpen(v, inRange);
      else {
        inRange = false;
        if (s.state === NONE) {
          s.applyFirst(v, this.wm);
          reshaped = true;
        } else {
          late = true;
          if (s.applyLate(v) === 'dropped') dropped = true;
        }
      }
    }
    if (reshaped) this.recomputeBoundary();
    if (late) this.stats.late++;
    if (dropped) this.stats.droppedLate++;
    if (this.vwapOn) this.vwap.add(v);
    this.stats.applied++;
    const last = this.last;
    if (last === null || ts > last.ts || (ts === last.ts && idBefore(last.id, trade.id))) this.last = trade;
  }

  /** Moves event time to `watermarkTs` (no-op if not later): closes due bars, slides VWAP windows. Throws WindowsError like `apply`. */
  advance(watermarkTs: number): void {
    if (!(watermarkTs > this.wm)) return;
    if (watermarkTs >= this.nextBoundary) this.checkGap(watermarkTs);
    this.wm = watermarkTs;
    this.vwap.advance(watermarkTs);
    if (watermarkTs >= this.nextBoundary) this.closeDue();
  }

  /**
   * Moves event time toward `watermarkTs` as far as one step may (maxGapBars bars of any
   * timeframe); true once there. Lets a caller cross a long real gap (a replayed symbol quiet for
   * days) in bounded work per message instead of refusing the trade after it.
   */
  advanceToward(watermarkTs: number): boolean {
    let target = watermarkTs;
    for (const s of this.series) {
      const from = s.boundary();
      if (from !== Infinity) target = Math.min(target, from + this.maxGapBars * s.tfMs - 1);
    }
    this.advance(target);
    return target === watermarkTs;
  }

  /** Closed candles and corrections emitted since the last call, in emission order. */
  drainClosed(): readonly Candle[] {
    const out = this.ctx.out;
    if (out.length === 0) return EMPTY;
    this.ctx.out = [];
    return out;
  }

  /** Open bar per timeframe (closed:false); a timeframe between sessions or before its first trade has none. */
  openCandles(): Candle[] {
    const out: Candle[] = [];
    for (const s of this.series) {
      const c = s.openCandle();
      if (c !== null) out.push(c);
    }
    return out;
  }

  /** `JSON.stringify` of the open candles keyed by timeframe (the live state's `candles`), written directly. */
  openCandlesJson(): string {
    let out = '';
    for (const s of this.series) {
      const c = s.openCandleJson();
      if (c !== null) out += `${out === '' ? '{' : ','}"${s.tf}":${c}`;
    }
    return out === '' ? '{}' : `${out}}`;
  }

  /** Rolling VWAP per window label (`1m`, `5m`, …); null when the window has no volume. */
  vwaps(): Record<string, string | null> {
    return this.vwap.values(this.ctx.vwapDigits);
  }

  toSnapshot(): WindowsSnapshot<T> {
    return {
      v: 1,
      config: this.config,
      watermark: this.wm === -Infinity ? null : this.wm,
      priceDigits: this.priceDigits,
      qtyDigits: this.ctx.qtyDigits,
      stats: { ...this.stats },
      lastTrade: this.last,
      series: this.series.map((s) => s.toSnapshot()),
      vwap: this.vwap.toSnapshot(),
    };
  }

  /** Rebuilds the exact state of `toSnapshot()` (also after a JSON round trip). */
  static fromSnapshot<T extends WindowTrade = WindowTrade>(snap: WindowsSnapshot<T>): SymbolWindows<T> {
    if (snap.v !== 1) throw new WindowsError('WINDOW_SNAPSHOT_INVALID', `unknown windows snapshot version ${String(snap.v)}`);
    const w = new SymbolWindows<T>(snap.config);
    w.wm = snap.watermark ?? -Infinity;
    w.priceDigits = snap.priceDigits;
    w.ctx.qtyDigits = snap.qtyDigits;
    w.updateDigits();
    Object.assign(w.stats, snap.stats);
    w.last = snap.lastTrade;
    for (const s of snap.series) {
      const target = w.series.find((x) => x.tf === s.tf);
      if (target === undefined) throw new WindowsError('WINDOW_SNAPSHOT_INVALID', `snapshot has timeframe ${s.tf} the config lacks`);
      target.restore(s);
    }
    w.vwap.restore(snap.vwap);
    w.recomputeBoundary();
    return w;
  }

  /** Per-trade watermark move; the VWAP ring slides itself on `add`. */
  private moveWatermark(v: TradeValues): void {
    if (v.ts >= this.nextBoundary) {
      this.checkGap(v.ts);
      this.wm = v.ts;
      this.closeDue();
    } else this.wm = v.ts;
  }

  /** Refuses (before changing anything) a step that would close more than maxGapBars bars of one timeframe. */
  private checkGap(watermark: number): void {
    for (const s of this.series) {
      const from = s.boundary();
      if (watermark >= from && (watermark - from) / s.tfMs >= this.maxGapBars) {
        throw new WindowsError(
          'WINDOW_GAP_TOO_LONG',
          `${this.config.venue}/${this.config.symbol}: moving event time from ${new Date(from).toISOString()} to ${new Date(watermark).toISOString()} would close more than ${this.maxGapBars} ${s.tf} bars`,
        );
      }
    }
  }

  /** The first trade, older than the watermark, will gap-fill from its bar up to the watermark. */
  private checkFirst(v: TradeValues): void {
    for (const s of this.series) {
      if ((this.wm - v.ts) / s.tfMs >= this.maxGapBars) {
        throw new WindowsError('WINDOW_GAP_TOO_LONG', `${this.config.venue}/${this.config.symbol}: first trade at ${new Date(v.ts).toISOString()} is more than ${this.maxGapBars} ${s.tf} bars behind the watermark`);
      }
    }
  }

  private closeDue(): void {
    for (const s of this.series) s.advance(this.wm);
    this.recomputeBoundary();
  }

  /** Slow path of the session check: caches the session containing the trade, if any. */
  private enterSession(v: TradeValues): boolean {
    const s = (this.ctx.calendar as SessionCalendar).sessionAt(v.ts);
    if (s === null) return false;
    this.sessionOpen = s.open;
    this.sessionClose = s.close;
    return true;
  }

  private noteDigits(v: TradeValues): void {
    if (v.price.digits > this.priceDigits) this.priceDigits = v.price.digits;
    if (v.qty.digits > this.ctx.qtyDigits) this.ctx.qtyDigits = v.qty.digits;
    this.updateDigits();
  }

  private updateDigits(): void {
    const ctx = this.ctx;
    ctx.quoteDigits = Math.max(this.priceDigits, ctx.qtyDigits);
    ctx.vwapDigits = (this.config.pricePrecision ?? this.priceDigits) + 4;
  }

  private recomputeBoundary(): void {
    let b = Infinity;
    for (const s of this.series) b = Math.min(b, s.boundary());
    this.nextBoundary = b;
  }
}

const EMPTY: readonly Candle[] = Object.freeze([]);

class Context implements SeriesContext {
  qtyDigits = 0;
  quoteDigits = 0;
  vwapDigits = 4;
  out: Candle[] = [];
  readonly totals: Totals = { volume: new ExactSum(), quote: new ExactSum(), buyVolume: new ExactSum() };

  constructor(
    readonly venue: string,
    readonly symbol: string,
    readonly calendar: BarCalendar,
    readonly historySize: number,
    private readonly stats: WindowStats,
  ) {}

  emit(c: Candle, correction: boolean): void {
    this.out.push(c);
    if (correction) this.stats.corrections++;
  }
}
