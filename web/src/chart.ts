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

const time = (c: Candle) => Math.floor(c.openTime / 1000) as UTCTimestamp;
// Display only: prices stay decimal strings everywhere else.
const num = (s: string) => Number.parseFloat(s);

/** Candlesticks plus each candle's VWAP as a line, fed from history and then live updates. */
export class CandleChart {
  private readonly chart: IChartApi;
  private readonly candles: ISeriesApi<'Candlestick'>;
  private readonly vwap: ISeriesApi<'Line'>;
  private lastTime = 0;

  constructor(el: HTMLElement) {
    this.chart = createChart(el, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: '#0f1419' }, textColor: '#c9d1d9' },
      grid: { vertLines: { color: '#1f2630' }, horzLines: { color: '#1f2630' } },
      timeScale: { timeVisible: true, secondsVisible: true },
    });
    this.candles = this.chart.addSeries(CandlestickSeries, {
      upColor: '#26a69a',
      downColor: '#ef5350',
      borderVisible: false,
      wickUpColor: '#26a69a',
      wickDownColor: '#ef5350',
    });
    this.vwap = this.chart.addSeries(LineSeries, { color: '#f0b429', lineWidth: 2, title: 'VWAP', priceLineVisible: false });
  }

  get size(): number {
    return this.candles.data().length;
  }

  setHistory(list: Candle[]): void {
    this.candles.setData(list.map((c) => ({ time: time(c), open: num(c.open), high: num(c.high), low: num(c.low), close: num(c.close) })));
    this.vwap.setData(list.filter((c) => c.trades > 0).map((c) => ({ time: time(c), value: num(c.vwap) })));
    this.lastTime = list.length ? time(list[list.length - 1]!) : 0;
    this.chart.timeScale().fitContent();
  }

  /** Applies an open or closed candle; older than the last bar (a late correction) is left to the next reload. */
  update(c: Candle): void {
    const t = time(c);
    if (t < this.lastTime) return;
    this.lastTime = t;
    this.candles.update({ time: t, open: num(c.open), high: num(c.high), low: num(c.low), close: num(c.close) });
    if (c.trades > 0) this.vwap.update({ time: t, value: num(c.vwap) });
  }
}
