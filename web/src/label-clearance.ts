import type {
  IPrimitivePaneRenderer,
  IPrimitivePaneView,
  ISeriesApi,
  ISeriesPrimitive,
  SeriesAttachedParameter,
  SeriesType,
  Time,
} from 'lightweight-charts';

type Target = Parameters<IPrimitivePaneRenderer['draw']>[0];

/**
 * Clears the price-axis tick labels under a series' last-value label: lightweight-charts draws
 * the label over the ticks, so a tick a few pixels away shows half-covered. This paints the axis
 * background over the label's band after the ticks and before the label (the `normal` layer of
 * the price axis sits between the two), as trading terminals hide the ticks next to the price.
 */
export class LabelClearance implements ISeriesPrimitive<Time> {
  private series: ISeriesApi<SeriesType> | null = null;
  private readonly views: readonly IPrimitivePaneView[];

  /** `halfHeight`: CSS pixels kept clear above and below the label's centre (half the label plus half a tick label). */
  constructor(
    private readonly lastValue: () => number | null,
    private readonly background: string,
    private readonly halfHeight: number,
  ) {
    const renderer: IPrimitivePaneRenderer = { draw: (target) => this.draw(target) };
    this.views = [{ zOrder: () => 'normal', renderer: () => renderer }];
  }

  attached(param: SeriesAttachedParameter<Time>): void {
    this.series = param.series;
  }

  detached(): void {
    this.series = null;
  }

  priceAxisPaneViews(): readonly IPrimitivePaneView[] {
    return this.views;
  }

  private draw(target: Target): void {
    const value = this.lastValue();
    const y = value === null ? null : this.series?.priceToCoordinate(value);
    if (y == null) return;
    target.useBitmapCoordinateSpace(({ context, bitmapSize, verticalPixelRatio }) => {
      context.fillStyle = this.background;
      const top = Math.round((y - this.halfHeight) * verticalPixelRatio);
      context.fillRect(0, top, bitmapSize.width, Math.round(2 * this.halfHeight * verticalPixelRatio));
    });
  }
}
