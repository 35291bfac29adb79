import type { Candle } from '../../schemas/candle.js';
import { TF_MS, type Tf } from '../../schemas/common.js';
import {
  ExactSum,
  FastDecimal,
  add,
  FAST_LIMIT,
  POW10,
  compare,
  div,
  divScaledHalfUp,
  formatDecimal,
  formatExact,
  formatUnitsExact,
  normalize,
  parseDecimal,
  sub,
  type Decimal,
} from '../../runtime/decimal.js';
import type { Bar, BarCalendar } from './calendar.js';
import { idBefore, type TradeValues } from './trade-values.js';

/** What a series reads from its symbol: identity, calendar, output digits, the output queue. */
export interface SeriesContext {
  readonly venue: string;
  readonly symbol: string;
  readonly calendar: BarCalendar;
  readonly historySize: number;
  /** Fraction digits for volumes (most seen in quantities). */
  qtyDigits: number;
  /** Minimum fraction digits for quote volumes. */
  quoteDigits: number;
  /** Fraction digits of VWAPs (price precision + 4). */
  vwapDigits: number;
  /**
   * Running sums over every trade of the symbol given to the series (added once per trade, before
   * the series see it): a bar's sums are these minus their value when the bar opened.
   */
  readonly totals: Totals;
  emit(c: Candle, correction: boolean): void;
}

export interface Totals {
  readonly volume: ExactSum;
  readonly quote: ExactSum;
  readonly buyVolume: ExactSum;
}

/** A closed candle kept for corrections, with the trade times that decide open and close. */
interface ClosedBar {
  candle: Candle;
  openTs: number;
  closeTs: number;
}

/** Compact closed candle: [openTime, closeTime, open, high, low, close, volume, quoteVolume, vwap, trades, buyVolume, firstTradeId, lastTradeId, openTs, closeTs]. */
export type ClosedBarSnapshot = [number, number, string, string, string, string, string, string, string, number, string, string | null, string | null, number, number];
/** Open bar: [trades, open, high, low, close, openTs, closeTs, firstTradeId, lastTradeId, volume, quoteVolume, buyVolume]. */
export type OpenBarSnapshot = [number, string, string, string, string, number, number, string | null, string | null, string, string, string];

export interface CandleSeriesSnapshot {
  tf: Tf;
  state: SeriesState;
  start: number;
  end: number;
  firstStart: number | null;
  lastClose: string | null;
  bar: OpenBarSnapshot | null;
  history: ClosedBarSnapshot[];
}

/** A series' state (numbers, as they are stored in snapshots). */
export const SeriesState = {
  /** No trade yet. */
  None: 0,
  /** Bar [start, end) is open. */
  Open: 1,
  /** Between sessions: the next bar is [start, end). */
  Waiting: 2,
} as const;
export type SeriesState = (typeof SeriesState)[keyof typeof SeriesState];
const NONE = SeriesState.None;
const OPEN = SeriesState.Open;
const WAITING = SeriesState.Waiting;

export type LateOutcome = 'corrected' | 'dropped';

/** A bar's sums as text (CandleSeries.sumTexts). */
interface SumTexts {
  volume: string;
  quote: string;
  vwap: string;
  buy: string;
}

/**
 * The candles of one timeframe: the open bar, updated in place per trade (O(1): three exact
 * additions and two compares), and a bounded history of closed candles for corrections.
 * open/close follow (trade time, trade id), never arrival, so any arrival order of the same
 * trades gives the same candles.
 */
export class CandleSeries {
  readonly tfMs: number;
  state: SeriesState = NONE;
  start = 0;
  end = 0;
  /** Start of the bar of the first trade: earlier bars never exist. */
  firstStart = Number.NaN;
  /** Close of the newest closed bar (the price gap bars carry). */
  lastClose: string | null = null;

  private trades = 0;
  private open = '';
  private high = '';
  private low = '';
  private close = '';
  /** Values of high and low, for compares. */
  private readonly highValue = new FastDecimal();
  private readonly lowValue = new FastDecimal();
  private openTs = 0;
  private closeTs = 0;
  private firstId: string | null = null;
  private lastId: string | null = null;
  /**
   * The symbol's totals when the bar opened, plus the trades given since that belong to older
   * bars: the bar's volume is totals.volume − baseVolume, and so on (no addition per trade and
   * timeframe).
   */
  private readonly baseVolume = new ExactSum();
  private readonly baseQuote = new ExactSum();
  private readonly baseBuy = new ExactSum();
  private history: ClosedBar[] = [];
  /** VWAP text of the last gap bar, reused while close and digits stay the same. */
  private gapVwapClose = '';
  private gapVwapDigits = -1;
  private gapVwap = '';
  /** JSON text of the open candle up to its `open` field, for the bar, open and first id it was made for. */
  private jsonHead = '';
  private jsonHeadStart = Number.NaN;
  private jsonHeadOpen = '';
  private jsonHeadFirst: string | null = null;
  private readonly bar: Bar = { start: 0, end: 0 };
  private readonly texts: SumTexts = { volume: '', quote: '', vwap: '', buy: '' };

  constructor(
    readonly tf: Tf,
    private readonly ctx: SeriesContext,
  ) {
    this.tfMs = TF_MS[tf];
  }

  /** Next watermark at which `advance` has work: the open bar's end or the awaited bar's start. */
  boundary(): number {
    return this.state === OPEN ? this.end : this.state === WAITING ? this.start : Infinity;
  }

  /**
   * Adds a trade inside the open bar (caller checked state OPEN and ts ≥ start; ts < end holds
   * after advancing). `inRange`: the caller knows the price cannot move high or low. Returns
   * whether the price lies strictly inside the bar's (low, high), so moves no high or low of a
   * larger open bar either.
   */
  applyOpen(v: TradeValues, inRange = false): boolean {
    const p = v.price;
    let inside = inRange;
    if (this.trades === 0) {
      this.open = this.high = this.low = this.close = v.priceText;
      this.highValue.copyFrom(p);
      this.lowValue.copyFrom(p);
      this.openTs = this.closeTs = v.ts;
      this.firstId = this.lastId = v.id;
    } else {
      const ts = v.ts;
      if (v.newest || ts > this.closeTs || (ts === this.closeTs && idBefore(this.lastId!, v.id))) {
        this.close = v.priceText;
        this.closeTs = ts;
        this.lastId = v.id;
      } else if (ts < this.openTs || (ts === this.openTs && idBefore(v.id, this.firstId!))) {
        this.open = v.priceText;
        this.openTs = ts;
        this.firstId = v.id;
      }
      if (!inRange) {
        // Equal prices written differently (0.0001, 0.00010): the one with more fraction digits
        // wins, so the text does not depend on arrival order (and equals PostgreSQL's choice).
        const hi = p.compareTo(this.highValue);
        if (hi > 0 || (hi === 0 && p.digits > this.highValue.digits)) {
          this.high = v.priceText;
          this.highValue.copyFrom(p);
        }
        if (hi <= 0) {
          const lo = p.compareTo(this.lowValue);
          if (lo < 0 || (lo === 0 && p.digits > this.lowValue.digits)) {
            this.low = v.priceText;
            this.lowValue.copyFrom(p);
          }
          inside = hi < 0 && lo > 0;
        }
      }
    }
    this.trades += v.count;
    return inside;
  }

  /** The first trade of this timeframe: its bar becomes the first bar. */
  applyFirst(v: TradeValues, watermark: number): void {
    this.ctx.calendar.barOf(v.ts, this.tfMs, this.bar);
    this.firstStart = this.bar.start;
    this.openBar(this.bar.start, this.bar.end, v.priceText);
    // The totals hold the trade already: the bar's base is the totals before it.
    this.exclude(v, -1);
    this.applyOpen(v);
    this.advance(watermark);
  }

  /** Closes every bar that ends at or before `watermark`, filling gaps with empty bars. */
  advance(watermark: number): void {
    for (;;) {
      if (this.state === OPEN) {
        if (watermark < this.end) return;
        this.closeBar();
        this.ctx.calendar.nextBar(this.end, this.tfMs, this.bar);
        this.state = WAITING;
        this.start = this.bar.start;
        this.end = this.bar.end;
      } else if (this.state === WAITING) {
        if (watermark < this.start) return;
        this.openBar(this.start, this.end, this.lastClose!);
      } else return;
    }
  }

  /**
   * A trade older than the open bar: corrects the closed candle it belongs to and re-emits it
   * (same openTime, so the same id downstream), then re-derives any gap bars after it.
   * Before the first bar, the bars from the trade's up to the first are created (emitted as
   * corrections) while they fit in the history. Dropped when its bar is older than the history.
   */
  applyLate(v: TradeValues): LateOutcome {
    if (this.state === OPEN) this.exclude(v, 1); // in the totals, not in the open bar
    if (!(v.ts >= this.firstStart)) return this.prepend(v);
    const h = this.history;
    for (let i = h.length - 1; i >= 0; i--) {
      const c = h[i]!.candle;
      if (v.ts < c.openTime) continue;
      if (v.ts > c.closeTime) return 'dropped';
      this.correct(i, v);
      return 'corrected';
    }
    return 'dropped';
  }

  /** The open bar as a Candle (closed:false), or null. */
  openCandle(): Candle | null {
    return this.state === OPEN ? this.toCandle(false) : null;
  }

  /**
   * `JSON.stringify(openCandle())`, written directly: the live state carries every open candle at
   * every flush, and an object per candle plus the generic stringify cost more than the rest of a
   * flush. The part that stays the same while the bar is open (names, times, open) is kept.
   */
  openCandleJson(): string | null {
    if (this.state !== OPEN) return null;
    if (this.trades === 0) return JSON.stringify(this.toCandle(false));
    const ctx = this.ctx;
    if (this.jsonHeadStart !== this.start || this.jsonHeadOpen !== this.open || this.jsonHeadFirst !== this.firstId) {
      this.jsonHeadStart = this.start;
      this.jsonHeadOpen = this.open;
      this.jsonHeadFirst = this.firstId;
      this.jsonHead =
        `{"venue":${JSON.stringify(ctx.venue)},"symbol":${JSON.stringify(ctx.symbol)},"tf":${JSON.stringify(this.tf)},` +
        `"openTime":${this.start},"closeTime":${this.end - 1},"open":"${this.open}"`;
    }
    const t = this.sumTexts();
    return (
      // prices are trade prices (decimal strings, checked on the way in) and our own decimals: nothing to escape
      `${this.jsonHead},"high":"${this.high}","low":"${this.low}","close":"${this.close}",` +
      `"volume":"${t.volume}","quoteVolume":"${t.quote}","vwap":"${t.vwap}","trades":${this.trades},"buyVolume":"${t.buy}",` +
      `"firstTradeId":${JSON.stringify(this.firstId)},"lastTradeId":${JSON.stringify(this.lastId)},"closed":false}`
    );
  }

  /**
   * The bar's volume, quote volume, VWAP and buy volume as text (into a scratch object): from
   * doubles when no sum spilled to bigint since the bar opened and the VWAP's long division stays
   * in range, else through Decimal.
   */
  private sumTexts(): SumTexts {
    const ctx = this.ctx;
    const totals = ctx.totals;
    const tv = totals.volume;
    const tq = totals.quote;
    const bv = this.baseVolume;
    const bq = this.baseQuote;
    const out = this.texts;
    let vwap: string | null = null;
    if (tv.hi === bv.hi && tv.scale === bv.scale && tq.hi === bq.hi && tq.scale === bq.scale) {
      const vu = tv.lo - bv.lo;
      const qu = tq.lo - bq.lo;
      vwap = vwapTextUnits(qu, tq.scale, vu, tv.scale, ctx.vwapDigits);
      if (vwap !== null) {
        out.volume = formatUnitsExact(vu, tv.scale, ctx.qtyDigits);
        out.quote = formatUnitsExact(qu, tq.scale, ctx.quoteDigits);
      }
    }
    if (vwap === null) {
      const v = this.barSum(tv, bv);
      const q = this.barSum(tq, bq);
      out.volume = this.barText(tv, bv, ctx.qtyDigits, v);
      out.quote = this.barText(tq, bq, ctx.quoteDigits, q);
      vwap = vwapText(q, v, this.close, ctx.vwapDigits);
    }
    out.vwap = vwap;
    out.buy = this.barText(totals.buyVolume, this.baseBuy, ctx.qtyDigits);
    return out;
  }

  toSnapshot(): CandleSeriesSnapshot {
    return {
      tf: this.tf,
      state: this.state,
      start: this.start,
      end: this.end,
      firstStart: Number.isNaN(this.firstStart) ? null : this.firstStart,
      lastClose: this.lastClose,
      bar:
        this.state === OPEN
          ? [
              this.trades,
              this.open,
              this.high,
              this.low,
              this.close,
              this.openTs,
              this.closeTs,
              this.firstId,
              this.lastId,
              formatDecimal(normalize(this.barSum(this.ctx.totals.volume, this.baseVolume))),
              formatDecimal(normalize(this.barSum(this.ctx.totals.quote, this.baseQuote))),
              formatDecimal(normalize(this.barSum(this.ctx.totals.buyVolume, this.baseBuy))),
            ]
          : null,
      history: this.history.map(({ candle: c, openTs, closeTs }) => [
        c.openTime,
        c.closeTime,
        c.open,
        c.high,
        c.low,
        c.close,
        c.volume,
        c.quoteVolume,
        c.vwap,
        c.trades,
        c.buyVolume,
        c.firstTradeId,
        c.lastTradeId,
        openTs,
        closeTs,
      ]),
    };
  }

  restore(s: CandleSeriesSnapshot): void {
    this.state = s.state;
    this.start = s.start;
    this.end = s.end;
    this.firstStart = s.firstStart ?? Number.NaN;
    this.lastClose = s.lastClose;
    if (s.bar !== null) {
      const [trades, open, high, low, close, openTs, closeTs, firstId, lastId, volume, quote, buy] = s.bar;
      this.trades = trades;
      this.open = open;
      this.close = close;
      this.high = high;
      this.low = low;
      this.highValue.parse(high);
      this.lowValue.parse(low);
      this.openTs = openTs;
      this.closeTs = closeTs;
      this.firstId = firstId;
      this.lastId = lastId;
      // base = totals − the bar's sums (the totals of a restored symbol start again from its bars)
      const totals = this.ctx.totals;
      this.baseVolume.setDecimal(sub(totals.volume.toDecimal(), parseDecimal(volume)));
      this.baseQuote.setDecimal(sub(totals.quote.toDecimal(), parseDecimal(quote)));
      this.baseBuy.setDecimal(sub(totals.buyVolume.toDecimal(), parseDecimal(buy)));
    }
    const { venue, symbol } = this.ctx;
    this.history = s.history.map(([openTime, closeTime, open, high, low, close, volume, quoteVolume, vwap, trades, buyVolume, firstTradeId, lastTradeId, openTs, closeTs]) => ({
      candle: { venue, symbol, tf: this.tf, openTime, closeTime, open, high, low, close, volume, quoteVolume, vwap, trades, buyVolume, firstTradeId, lastTradeId, closed: true },
      openTs,
      closeTs,
    }));
  }

  private openBar(start: number, end: number, price: string): void {
    this.state = OPEN;
    this.start = start;
    this.end = end;
    this.trades = 0;
    this.open = this.high = this.low = this.close = price;
    this.openTs = this.closeTs = start;
    this.firstId = this.lastId = null;
    const totals = this.ctx.totals;
    this.baseVolume.copyFrom(totals.volume);
    this.baseQuote.copyFrom(totals.quote);
    this.baseBuy.copyFrom(totals.buyVolume);
  }

  /** Moves a trade out of (sign 1) or back into (−1) the open bar's sums. */
  private exclude(v: TradeValues, sign: 1 | -1): void {
    if (sign === 1) {
      this.baseVolume.addValue(v.qty);
      this.baseQuote.addValue(v.quote);
      if (v.buy) this.baseBuy.addValue(v.qty);
    } else {
      this.baseVolume.subValue(v.qty);
      this.baseQuote.subValue(v.quote);
      if (v.buy) this.baseBuy.subValue(v.qty);
    }
  }

  /** A sum of the open bar: the totals' minus the base's. */
  private barSum(total: ExactSum, base: ExactSum): Decimal {
    if (total.hi === base.hi && total.scale === base.scale) return { units: BigInt(total.lo - base.lo), scale: total.scale };
    return sub(total.toDecimal(), base.toDecimal());
  }

  /** `formatExact` of a sum of the open bar (`sum`: that sum, when already computed); without bigint work when no spill happened since the bar opened. */
  private barText(total: ExactSum, base: ExactSum, minScale: number, sum?: Decimal): string {
    if (total.hi === base.hi && total.scale === base.scale) return formatUnitsExact(total.lo - base.lo, total.scale, minScale);
    return formatExact(sum ?? this.barSum(total, base), minScale);
  }

  private closeBar(): void {
    const candle = this.toCandle(true);
    this.ctx.emit(candle, false);
    const h = this.history;
    h.push({ candle, openTs: this.openTs, closeTs: this.closeTs });
    if (h.length > this.ctx.historySize) h.shift();
    this.lastClose = this.close;
  }

  private toCandle(closed: boolean): Candle {
    // gap bars are frequent for quiet symbols: no decimal work for them
    if (this.trades === 0) return this.gapCandle(this.start, this.end, this.close, closed);
    const ctx = this.ctx;
    const t = this.sumTexts();
    return {
      venue: ctx.venue,
      symbol: ctx.symbol,
      tf: this.tf,
      openTime: this.start,
      closeTime: this.end - 1,
      open: this.open,
      high: this.high,
      low: this.low,
      close: this.close,
      volume: t.volume,
      quoteVolume: t.quote,
      vwap: t.vwap,
      trades: this.trades,
      buyVolume: t.buy,
      firstTradeId: this.firstId,
      lastTradeId: this.lastId,
      closed,
    };
  }

  /**
   * A trade before the first bar (it arrived after later ones): its bar and the gap bars up to
   * the first bar become the oldest closed bars, if the history has room for them all.
   */
  private prepend(v: TradeValues): LateOutcome {
    const ctx = this.ctx;
    const room = ctx.historySize - this.history.length;
    const bar = this.bar;
    ctx.calendar.barOf(v.ts, this.tfMs, bar);
    const added: ClosedBar[] = [];
    while (bar.start < this.firstStart) {
      if (added.length === room) return 'dropped';
      // gap bars carrying the trade's price: the close they will have once it is applied
      added.push({ candle: this.gapCandle(bar.start, bar.end, v.priceText, true), openTs: bar.start, closeTs: bar.start });
      ctx.calendar.nextBar(bar.end, this.tfMs, bar);
    }
    if (this.history.length === 0) this.lastClose = v.priceText;
    this.firstStart = added[0]!.candle.openTime;
    this.history = added.concat(this.history);
    this.correct(0, v);
    for (let i = 1; i < added.length; i++) ctx.emit(added[i]!.candle, true);
    return 'corrected';
  }

  /** A bar without trades: open = high = low = close = `close`, volumes zero. */
  private gapCandle(start: number, end: number, close: string, closed: boolean): Candle {
    const ctx = this.ctx;
    if (this.gapVwapClose !== close || this.gapVwapDigits !== ctx.vwapDigits) {
      this.gapVwapClose = close;
      this.gapVwapDigits = ctx.vwapDigits;
      this.gapVwap = vwapText(null, null, close, ctx.vwapDigits);
    }
    const volume = zeros(ctx.qtyDigits);
    return {
      venue: ctx.venue,
      symbol: ctx.symbol,
      tf: this.tf,
      openTime: start,
      closeTime: end - 1,
      open: close,
      high: close,
      low: close,
      close,
      volume,
      quoteVolume: zeros(ctx.quoteDigits),
      vwap: this.gapVwap,
      trades: 0,
      buyVolume: volume,
      firstTradeId: null,
      lastTradeId: null,
      closed,
    };
  }

  /** Slow path (rare): rebuilds closed candle `i` with one more trade. */
  private correct(i: number, v: TradeValues): void {
    const ctx = this.ctx;
    const { candle: c, openTs: oTs, closeTs: cTs } = this.history[i]!;
    let { open, high, low, close, firstTradeId, lastTradeId } = c;
    let openTs = oTs;
    let closeTs = cTs;
    if (c.trades === 0) {
      open = high = low = close = v.priceText;
      openTs = closeTs = v.ts;
      firstTradeId = lastTradeId = v.id;
    } else {
      if (v.ts > closeTs || (v.ts === closeTs && idBefore(lastTradeId!, v.id))) {
        close = v.priceText;
        closeTs = v.ts;
        lastTradeId = v.id;
      } else if (v.ts < openTs || (v.ts === openTs && idBefore(v.id, firstTradeId!))) {
        open = v.priceText;
        openTs = v.ts;
        firstTradeId = v.id;
      }
      const price = parseDecimal(v.priceText);
      const h = parseDecimal(high);
      const l = parseDecimal(low);
      const hi = compare(price, h);
      const lo = compare(price, l);
      // Ties: more fraction digits win, as in applyOpen.
      if (hi > 0 || (hi === 0 && price.scale > h.scale)) high = v.priceText;
      if (lo < 0 || (lo === 0 && price.scale > l.scale)) low = v.priceText;
    }
    const qty = v.qty.toDecimal();
    const volume = add(parseDecimal(c.volume), qty);
    const quote = add(parseDecimal(c.quoteVolume), v.quote.toDecimal());
    const buy = v.buy ? add(parseDecimal(c.buyVolume), qty) : parseDecimal(c.buyVolume);
    const next: Candle = {
      ...c,
      open,
      high,
      low,
      close,
      volume: formatExact(volume, ctx.qtyDigits),
      quoteVolume: formatExact(quote, ctx.quoteDigits),
      vwap: vwapText(quote, volume, close, ctx.vwapDigits),
      trades: c.trades + v.count,
      buyVolume: formatExact(buy, ctx.qtyDigits),
      firstTradeId,
      lastTradeId,
    };
    this.history[i] = { candle: next, openTs, closeTs };
    ctx.emit(next, true);
    if (close !== c.close) this.carryClose(i + 1, close);
  }

  /** Gap bars from history index `from` on carried the old close: give them the new one. */
  private carryClose(from: number, close: string): void {
    const h = this.history;
    for (let j = from; j < h.length; j++) {
      const e = h[j]!;
      if (e.candle.trades !== 0) return;
      const next: Candle = { ...e.candle, open: close, high: close, low: close, close, vwap: vwapText(null, null, close, this.ctx.vwapDigits) };
      h[j] = { candle: next, openTs: e.openTs, closeTs: e.closeTs };
      this.ctx.emit(next, true);
    }
    this.lastClose = close;
    if (this.state === OPEN && this.trades === 0) this.open = this.high = this.low = this.close = close;
  }
}

const ZEROS: string[] = [];
/** "0" with `digits` fraction digits, cached. */
function zeros(digits: number): string {
  return (ZEROS[digits] ??= digits === 0 ? '0' : '0.' + '0'.repeat(digits));
}

/**
 * `vwapText` of a bar whose sums are safe-integer units (`qu × 10^-qs`, `vu × 10^-vs`), with no
 * bigint; null when the division leaves that range or the volume is not positive (then `vwapText`).
 */
function vwapTextUnits(qu: number, qs: number, vu: number, vs: number, digits: number): string | null {
  if (!(vu > 0) || qu < 0) return null;
  const e = digits + vs - qs;
  let units: number | null;
  if (e >= 0) units = divScaledHalfUp(qu, vu, e);
  else {
    const den = -e < POW10.length ? vu * POW10[-e]! : Infinity;
    units = den <= FAST_LIMIT ? divScaledHalfUp(qu, den, 0) : null;
  }
  return units === null ? null : formatUnitsExact(units, digits, digits);
}

/** quote / volume rounded half-up to `digits`; with no volume, the candle's close at those digits. */
export function vwapText(quote: Decimal | null, volume: Decimal | null, close: string, digits: number): string {
  if (volume === null || quote === null || volume.units === 0n) return formatDecimal(parseDecimal(close), digits);
  return formatDecimal(div(quote, volume, digits));
}
