import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';
import { BOOKKEEPING_COLUMNS, type MetricsRow } from './metrics.ts';

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

/** Most points a curve is drawn with: a longer run's logged steps are averaged in that many runs of steps. */
export const MAX_CURVE_POINTS = 1000;

/**
 * The run's plots by name: `losses` (every loss) and, for each score (FID, held-out accuracy), one of
 * its own, as their scales differ.
 */
export function plotNames(rows: MetricsRow[]): string[] {
  const keys = metricKeys(rows);
  return ['losses', ...keys.filter((k) => !k.startsWith('loss'))];
}

/** One of plotNames' plots as a self-contained SVG. */
export function plotSvg(rows: MetricsRow[], title: string, name: string): string {
  return name === 'losses' ? curvesSvg(rows, title, metricKeys(rows).filter((k) => k.startsWith('loss'))) : curvesSvg(rows, title, [name], 'values');
}

/** plots/losses.svg and plots/<score>.svg in the run folder. */
export function writePlots(runDir: string, rows: MetricsRow[], title: string): void {
  for (const name of plotNames(rows)) writeFileAtomic(join(runDir, 'plots', `${name}.svg`), plotSvg(rows, title, name));
}

function metricKeys(rows: MetricsRow[]): string[] {
  return [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => !BOOKKEEPING_COLUMNS.has(k));
}

/**
 * A curve's points, (step, value) for each finite value; past `MAX_CURVE_POINTS`, the means of that many
 * runs of consecutive points, each at its run's last step (a long run's plot stays small, and GAN losses'
 * noise is averaged rather than drawn as a solid band).
 */
export function curvePoints(rows: MetricsRow[], key: string): { points: [number, number][]; per: number } {
  const all = rows.filter((r) => Number.isFinite(r[key])).map((r): [number, number] => [r.step, r[key]]);
  const per = Math.ceil(all.length / MAX_CURVE_POINTS);
  if (per <= 1) return { points: all, per: 1 };
  const points: [number, number][] = [];
  for (let i = 0; i < all.length; i += per) {
    const run = all.slice(i, i + per);
    points.push([run[run.length - 1][0], run.reduce((sum, [, v]) => sum + v, 0) / run.length]);
  }
  return { points, per };
}

/**
 * Curves of the given metrics as a self-contained SVG: one polyline each, against the step. Losses are
 * drawn from 0 (at least 0 to 1); a score's axis spans its values, whose changes are the point.
 */
export function curvesSvg(rows: MetricsRow[], title: string, keys: string[], axis: 'from-zero' | 'values' = 'from-zero'): string {
  const width = 720;
  const height = 360;
  const pad = { left: 56, right: 120, top: 28, bottom: 36 };
  const curves = keys.map((k) => curvePoints(rows, k));
  const finite = curves.flatMap((c) => c.points.map(([, v]) => v));
  // Loops, not Math.min(...xs): a long run's hundred thousand rows would pass the arguments' limit.
  const x0 = rows.reduce((m, r) => Math.min(m, r.step), 0);
  const x1 = rows.reduce((m, r) => Math.max(m, r.step), 1);
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
