import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';
import { BOOKKEEPING_COLUMNS, type MetricsRow } from './metrics.ts';

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

/** Most points a curve is drawn with: a longer run's logged values are averaged in runs of consecutive values. */
export const MAX_CURVE_POINTS = 1000;

/**
 * One metric's curve, (step, value) for each finite value, held as at most `MAX_CURVE_POINTS` points
 * however long the run: past that, each point is the mean of a run of `per` consecutive values (a power
 * of two) at its run's last step. Each time the points would pass the limit, neighbours are merged in
 * pairs and `per` doubles. A long run's plot stays small, and GAN losses' noise is averaged rather than
 * drawn as a solid band.
 */
class Curve {
  per = 1;
  /** Whole runs of `per` values: [last step, mean]. */
  private readonly done: [number, number][] = [];
  /** The run being filled. */
  private step = 0;
  private sum = 0;
  private count = 0;

  add(step: number, value: number): void {
    this.step = step;
    this.sum += value;
    this.count++;
    if (this.count === this.per) {
      this.done.push([step, this.sum / this.per]);
      this.sum = 0;
      this.count = 0;
    }
    if (this.done.length + (this.count > 0 ? 1 : 0) > MAX_CURVE_POINTS) this.halve();
  }

  private halve(): void {
    const pairs = Math.floor(this.done.length / 2);
    for (let i = 0; i < pairs; i++) {
      const [a, b] = [this.done[2 * i], this.done[2 * i + 1]];
      this.done[i] = [b[0], (a[1] + b[1]) / 2];
    }
    if (this.done.length % 2) {
      // The odd one out begins the run being filled (which is empty: the points just passed the limit by a whole one).
      const [step, mean] = this.done[this.done.length - 1];
      [this.step, this.sum, this.count] = [step, mean * this.per, this.per];
    }
    this.done.length = pairs;
    this.per *= 2;
  }

  points(): [number, number][] {
    return this.count ? [...this.done, [this.step, this.sum / this.count]] : [...this.done];
  }
}

/**
 * A run's metrics as its plots need them, fed a row at a time: a curve for each loss and score, and the
 * steps' span. Its memory does not grow with the run's length.
 */
export class MetricsCurves {
  private readonly curves = new Map<string, Curve>();
  private firstStep = 0;
  private lastStep = 1;

  add(row: MetricsRow): void {
    this.firstStep = Math.min(this.firstStep, row.step);
    this.lastStep = Math.max(this.lastStep, row.step);
    for (const [key, value] of Object.entries(row)) {
      if (BOOKKEEPING_COLUMNS.has(key)) continue;
      let curve = this.curves.get(key);
      if (!curve) this.curves.set(key, (curve = new Curve()));
      if (Number.isFinite(value)) curve.add(row.step, value);
    }
  }

  /** The metrics logged, in the order they first came. */
  keys(): string[] {
    return [...this.curves.keys()];
  }

  /** A metric's points and how many logged values each averages (1: every value as it is). */
  curvePoints(key: string): { points: [number, number][]; per: number } {
    const curve = this.curves.get(key);
    return { points: curve?.points() ?? [], per: curve?.per ?? 1 };
  }

  /** The logged steps' span, from at most 0 to at least 1. */
  steps(): [number, number] {
    return [this.firstStep, this.lastStep];
  }
}

/**
 * The run's plots by name: `losses` (every loss) and, for each score (FID, held-out accuracy), one of
 * its own, as their scales differ.
 */
export function plotNames(curves: MetricsCurves): string[] {
  return ['losses', ...curves.keys().filter((k) => !k.startsWith('loss'))];
}

/** One of plotNames' plots as a self-contained SVG. */
export function plotSvg(curves: MetricsCurves, title: string, name: string): string {
  return name === 'losses' ? curvesSvg(curves, title, curves.keys().filter((k) => k.startsWith('loss'))) : curvesSvg(curves, title, [name], 'values');
}

/** plots/losses.svg and plots/<score>.svg in the run folder. */
export function writePlots(runDir: string, curves: MetricsCurves, title: string): void {
  for (const name of plotNames(curves)) writeFileAtomic(join(runDir, 'plots', `${name}.svg`), plotSvg(curves, title, name));
}

/**
 * Curves of the given metrics as a self-contained SVG: one polyline each, against the step. Losses are
 * drawn from 0 (at least 0 to 1); a score's axis spans its values, whose changes are the point.
 */
export function curvesSvg(metrics: MetricsCurves, title: string, keys: string[], axis: 'from-zero' | 'values' = 'from-zero'): string {
  const width = 720;
  const height = 360;
  const pad = { left: 56, right: 120, top: 28, bottom: 36 };
  const curves = keys.map((k) => metrics.curvePoints(k));
  const finite = curves.flatMap((c) => c.points.map(([, v]) => v));
  const [x0, x1] = metrics.steps();
  const fromZero = axis === 'from-zero';
  const y0 = finite.reduce((m, v) => Math.min(m, v), fromZero ? 0 : Infinity);
  let y1 = finite.reduce((m, v) => Math.max(m, v), fromZero ? 1 : -Infinity);
  if (!(y1 - y0 >= 1e-9 * Math.max(1, Math.abs(y0)))) y1 = y0 + Math.max(1e-6, Math.abs(y0) * 0.01);
  const sx = (s: number) => pad.left + ((s - x0) / (x1 - x0 || 1)) * (width - pad.left - pad.right);
  const sy = (v: number) => height - pad.bottom - ((v - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);
  const lines = keys.map((k, i) => {
    const pts = curves[i].points.map(([step, v]) => `${sx(step).toFixed(1)},${sy(v).toFixed(1)}`).join(' ');
    const colour = COLOURS[i % COLOURS.length];
    return `<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${pts}"/>` +
      `<text x="${width - pad.right + 10}" y="${pad.top + 16 * i + 10}" fill="${colour}" font-size="12">${xmlText(k)}</text>`;
  });
  const averaged = Math.max(1, ...curves.map((c) => c.per));
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = y0 + f * (y1 - y0);
    return `<text x="${pad.left - 6}" y="${sy(v) + 4}" font-size="10" text-anchor="end">${v.toPrecision(3)}</text>` +
      `<line x1="${pad.left}" x2="${width - pad.right}" y1="${sy(v)}" y2="${sy(v)}" stroke="#eee"/>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    `<text x="${pad.left}" y="18" font-size="13">${xmlText(title)}</text>` + ticks.join('') +
    `<text x="${(width - pad.right + pad.left) / 2}" y="${height - 8}" font-size="11" text-anchor="middle">step (${x0} to ${x1})${averaged > 1 ? `; each point the mean of ${averaged} logged values` : ''}</text>` +
    lines.join('') + '</svg>\n';
}

/** Text for an SVG element: a run folder's name may hold & or <. */
function xmlText(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
