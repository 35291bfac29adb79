/**
 * Small SVG charts for the bench report (horizontal bars with min–max whiskers and target marks;
 * a latency percentile curve), rasterized to PNG by resvg (Rust, prebuilt, no system canvas).
 */
import { Resvg } from '@resvg/resvg-js';

export interface BarRow {
  label: string;
  value: number;
  min: number;
  max: number;
  /** Drawn as a red mark on the row. */
  target?: number;
  /** Text after the bar (default: the value). */
  text?: string;
}

const FONT = 'DejaVu Sans, Liberation Sans, Arial, sans-serif';
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceLogTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) ticks.push(10 ** e);
  return ticks;
}

function niceLinearTicks(hi: number): number[] {
  const step = 10 ** Math.floor(Math.log10(hi / 5 || 1));
  const mult = hi / step > 25 ? 5 : hi / step > 10 ? 2 : 1;
  const ticks: number[] = [];
  for (let t = 0; t <= hi * 1.0001; t += step * mult) ticks.push(t);
  return ticks;
}

export function tickLabel(v: number): string {
  if (v >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  return `${+v.toPrecision(3)}`;
}

/** Horizontal bars (median) with min–max whiskers; `log` for values spanning decades. */
export function barChart(opts: { title: string; unit: string; rows: BarRow[]; log?: boolean; width?: number }): string {
  const width = opts.width ?? 1000;
  const labelW = 330;
  const textW = 150;
  const rowH = 34;
  const top = 60;
  const plotW = width - labelW - textW - 20;
  const height = top + opts.rows.length * rowH + 50;
  const values = opts.rows.flatMap((r) => [r.min, r.max, r.value, r.target ?? r.value]).filter((v) => v > 0 && Number.isFinite(v));
  const hiRaw = Math.max(...values, 1);
  let x: (v: number) => number;
  let ticks: number[];
  if (opts.log) {
    const lo = 10 ** Math.floor(Math.log10(Math.min(...values, hiRaw)));
    const hi = 10 ** Math.ceil(Math.log10(hiRaw));
    const span = Math.log10(hi) - Math.log10(lo) || 1;
    x = (v) => labelW + (plotW * (Math.log10(Math.max(v, lo)) - Math.log10(lo))) / span;
    ticks = niceLogTicks(lo, hi);
  } else {
    ticks = niceLinearTicks(hiRaw * 1.05);
    const hi = ticks[ticks.length - 1]!;
    x = (v) => labelW + (plotW * Math.max(0, v)) / hi;
  }
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="${FONT}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="20" y="32" font-size="20" font-weight="bold">${esc(opts.title)}</text>`,
  ];
  const bottom = top + opts.rows.length * rowH;
  for (const t of ticks) {
    const tx = x(t);
    parts.push(`<line x1="${tx}" y1="${top - 6}" x2="${tx}" y2="${bottom}" stroke="#ddd"/>`);
    parts.push(`<text x="${tx}" y="${bottom + 18}" font-size="12" text-anchor="middle" fill="#444">${tickLabel(t)}</text>`);
  }
  parts.push(`<text x="${labelW + plotW / 2}" y="${bottom + 40}" font-size="13" text-anchor="middle" fill="#222">${esc(opts.unit)}${opts.log ? ' (log scale)' : ''}; bar = median, whisker = min–max, red = target</text>`);
  opts.rows.forEach((r, i) => {
    const y = top + i * rowH;
    const x0 = x(opts.log ? 0 : 0);
    parts.push(`<text x="${labelW - 10}" y="${y + rowH / 2 + 5}" font-size="13" text-anchor="end">${esc(r.label)}</text>`);
    if (Number.isFinite(r.value) && r.value > 0) {
      parts.push(`<rect x="${x0}" y="${y + 7}" width="${Math.max(1, x(r.value) - x0)}" height="${rowH - 14}" fill="#4a7fb5"/>`);
      const cy = y + rowH / 2;
      parts.push(`<line x1="${x(r.min)}" y1="${cy}" x2="${x(r.max)}" y2="${cy}" stroke="#111" stroke-width="1.5"/>`);
      for (const v of [r.min, r.max]) parts.push(`<line x1="${x(v)}" y1="${cy - 6}" x2="${x(v)}" y2="${cy + 6}" stroke="#111" stroke-width="1.5"/>`);
    }
    if (r.target !== undefined) {
      parts.push(`<line x1="${x(r.target)}" y1="${y + 3}" x2="${x(r.target)}" y2="${y + rowH - 3}" stroke="#d62728" stroke-width="3"/>`);
    }
    parts.push(`<text x="${labelW + plotW + 10}" y="${y + rowH / 2 + 5}" font-size="13">${esc(r.text ?? tickLabel(r.value))}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Latency by percentile: x in "nines" (50, 90, 99, 99.9 …), y in ms on a log scale. */
export function percentileChart(opts: { title: string; curve: [number, number][]; target?: { percentile: number; ms: number } }): string {
  const width = 1000;
  const height = 520;
  const left = 90;
  const right = 30;
  const top = 60;
  const bottom = 70;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const nines = (p: number) => (p >= 100 ? Number.NaN : -Math.log10(1 - p / 100));
  const pts = opts.curve.filter(([p]) => p < 100);
  const maxN = Math.max(3, ...pts.map(([p]) => nines(p)));
  const ys = pts.map(([, v]) => v).filter((v) => v > 0);
  if (opts.target) ys.push(opts.target.ms);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...ys, 1)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...ys, 1)));
  const span = Math.log10(hi) - Math.log10(lo) || 1;
  const x = (p: number) => left + (plotW * nines(p)) / maxN;
  const y = (v: number) => top + plotH - (plotH * (Math.log10(Math.max(v, lo)) - Math.log10(lo))) / span;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="${FONT}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="20" y="32" font-size="20" font-weight="bold">${esc(opts.title)}</text>`,
  ];
  for (let e = Math.log10(lo); e <= Math.log10(hi) + 1e-9; e++) {
    const v = 10 ** e;
    parts.push(`<line x1="${left}" y1="${y(v)}" x2="${left + plotW}" y2="${y(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 8}" y="${y(v) + 4}" font-size="12" text-anchor="end">${tickLabel(v)} ms</text>`);
  }
  for (let n = 0; n <= Math.floor(maxN); n++) {
    const p = 100 * (1 - 10 ** -n);
    parts.push(`<line x1="${x(p)}" y1="${top}" x2="${x(p)}" y2="${top + plotH}" stroke="#ddd"/>`);
    parts.push(`<text x="${x(p)}" y="${top + plotH + 18}" font-size="12" text-anchor="middle">p${+p.toFixed(4)}</text>`);
  }
  parts.push(`<text x="${left + plotW / 2}" y="${height - 20}" font-size="13" text-anchor="middle">percentile (run with the median p99)</text>`);
  if (opts.target) {
    const t = opts.target;
    parts.push(`<circle cx="${x(t.percentile)}" cy="${y(t.ms)}" r="6" fill="none" stroke="#d62728" stroke-width="3"/>`);
    parts.push(`<text x="${x(t.percentile) + 10}" y="${y(t.ms) - 8}" font-size="12" fill="#d62728">target p${t.percentile} ≤ ${t.ms} ms</text>`);
  }
  const d = pts.map(([p, v], i) => `${i ? 'L' : 'M'}${x(p).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  parts.push(`<path d="${d}" fill="none" stroke="#4a7fb5" stroke-width="2.5"/>`);
  parts.push('</svg>');
  return parts.join('\n');
}

export function svgToPng(svg: string): Buffer {
  return new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, fitTo: { mode: 'original' } }).render().asPng();
}
