import {
  CandlestickSeries,
  ColorType,
  LineSeries,
  createChart,
  type IChartApi,
  type ISeriesApi,
  type UTCTimestamp,
} from 'lightweight-charts';
import type { Candle } from './api.js';
import { LabelClearance } from './label-clearance.js';

const time = (c: Candle) => Math.floor(c.openTime / 1000) as UTCTimestamp;
// Display only: prices stay decimal strings everywhere else.
const num = (s: string) => Number.parseFloat(s);
const BACKGROUND = '#0f1419';
const FONT_SIZE = 11;

/** Candlesticks plus each candle's VWAP as a line, fed from history and then live updates. */
export class CandleChart {
  private readonly chart: IChartApi;
  private readonly candles: ISeriesApi<'Candlestick'>;
  private readonly vwap: ISeriesApi<'Line'>;
  private lastTime = 0;
  private lastClose: number | null = null;
  private digits = -1;

  constructor(el: HTMLElement) {
    this.chart = createChart(el, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: BACKGROUND }, textColor: '#c9d1d9', fontSize: FONT_SIZE },
      grid: { vertLines: { color: '#1f2630' }, horzLines: { color: '#1f2630' } },
      timeScale: { timeVisible: true, secondsVisible: false, borderColor: '#1f2630', rightOffset: 3 },
      // Room above and below the candles, so the last-price label sits clear of the top and bottom ticks.
      rightPriceScale: { borderColor: '#1f2630', scaleMargins: { top: 0.12, bottom: 0.12 }, entireTextOnly: true },
    });
    this.candles = this.chart.addSeries(CandlestickSeries, {
      upColor: '#26a69a',
      downColor: '#ef5350',
      borderVisible: false,
      wickUpColor: '#26a69a',
      wickDownColor: '#ef5350',
      priceLineStyle: 2,
    });
    // the label is about 1.6 font sizes tall, a tick label about one: keep 1.4 font sizes clear each side
    this.candles.attachPrimitive(new LabelClearance(() => this.lastClose, BACKGROUND, Math.ceil(FONT_SIZE * 1.4)));
    // No axis label for the VWAP: two labels at nearly the same price would cover each other and the ticks.
    this.vwap = this.chart.addSeries(LineSeries, {
      color: '#f0b429',
      lineWidth: 2,
      priceLineVisible: false,
      lastValueVisible: false,
      crosshairMarkerVisible: false,
    });
  }

  get size(): number {
    return this.candles.data().length;
  }

  /** Axis labels and crosshair at the symbol's precision (fraction digits). */
  setPrecision(digits: number): void {
    if (digits === this.digits) return;
    this.digits = digits;
    const priceFormat = { type: 'price' as const, precision: digits, minMove: 10 ** -digits };
    this.candles.applyOptions({ priceFormat });
    this.vwap.applyOptions({ priceFormat });
  }

  /** Seconds on the time axis only where candles are shorter than a minute. */
  setTimeframe(tf: string): void {
    this.chart.applyOptions({ timeScale: { secondsVisible: tf.endsWith('s') } });
  }

  setHistory(list: Candle[]): void {
    this.candles.setData(list.map((c) => ({ time: time(c), open: num(c.open), high: num(c.high), low: num(c.low), close: num(c.close) })));
    this.vwap.setData(list.filter((c) => c.trades > 0).map((c) => ({ time: time(c), value: num(c.vwap) })));
    const last = list[list.length - 1];
    this.lastTime = last ? time(last) : 0;
    this.lastClose = last ? num(last.close) : null;
    this.chart.timeScale().fitContent();
  }

  /** Applies an open or closed candle; older than the last bar (a late correction) is left to the next reload. */
  update(c: Candle): void {
    const t = time(c);
    if (t < this.lastTime) return;
    this.lastTime = t;
    this.lastClose = num(c.close);
    this.candles.update({ time: t, open: num(c.open), high: num(c.high), low: num(c.low), close: num(c.close) });
    if (c.trades > 0) this.vwap.update({ time: t, value: num(c.vwap) });
  }
}
