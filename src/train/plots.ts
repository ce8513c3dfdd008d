import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';
import type { MetricsRow } from './metrics.ts';

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

/** Columns of metrics.jsonl that describe the step rather than the model. */
const BOOKKEEPING = new Set(['step', 'imagesPerSec', 'seconds']);

/**
 * The run's plots: plots/losses.svg (every loss) and, for each score (FID, held-out accuracy), a plot of its
 * own, plots/<score>.svg, as their scales differ.
 */
export function writePlots(runDir: string, rows: MetricsRow[], title: string): void {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => !BOOKKEEPING.has(k));
  writeFileAtomic(join(runDir, 'plots', 'losses.svg'), curvesSvg(rows, title, keys.filter((k) => k.startsWith('loss'))));
  for (const score of keys.filter((k) => !k.startsWith('loss'))) writeFileAtomic(join(runDir, 'plots', `${score}.svg`), curvesSvg(rows, title, [score], 'values'));
}

/**
 * Curves of the given metrics as a self-contained SVG: one polyline each, against the step. Losses are
 * drawn from 0 (at least 0 to 1); a score's axis spans its values, whose changes are the point.
 */
export function curvesSvg(rows: MetricsRow[], title: string, keys: string[], axis: 'from-zero' | 'values' = 'from-zero'): string {
  const width = 720;
  const height = 360;
  const pad = { left: 56, right: 120, top: 28, bottom: 36 };
  const finite = rows.flatMap((r) => keys.map((k) => r[k]).filter((v) => Number.isFinite(v)));
  const steps = rows.map((r) => r.step);
  const x0 = Math.min(...steps, 0);
  const x1 = Math.max(...steps, 1);
  const fromZero = axis === 'from-zero';
  const y0 = Math.min(...finite, ...(fromZero ? [0] : []));
  let y1 = Math.max(...finite, ...(fromZero ? [1] : []));
  if (!(y1 - y0 >= 1e-9 * Math.max(1, Math.abs(y0)))) y1 = y0 + Math.max(1e-6, Math.abs(y0) * 0.01);
  const sx = (s: number) => pad.left + ((s - x0) / (x1 - x0 || 1)) * (width - pad.left - pad.right);
  const sy = (v: number) => height - pad.bottom - ((v - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);
  const lines = keys.map((k, i) => {
    const pts = rows.filter((r) => Number.isFinite(r[k])).map((r) => `${sx(r.step).toFixed(1)},${sy(r[k]).toFixed(1)}`).join(' ');
    const colour = COLOURS[i % COLOURS.length];
    return `<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${pts}"/>` +
      `<text x="${width - pad.right + 10}" y="${pad.top + 16 * i + 10}" fill="${colour}" font-size="12">${k}</text>`;
  });
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = y0 + f * (y1 - y0);
    return `<text x="${pad.left - 6}" y="${sy(v) + 4}" font-size="10" text-anchor="end">${v.toPrecision(3)}</text>` +
      `<line x1="${pad.left}" x2="${width - pad.right}" y1="${sy(v)}" y2="${sy(v)}" stroke="#eee"/>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    `<text x="${pad.left}" y="18" font-size="13">${title}</text>` + ticks.join('') +
    `<text x="${(width - pad.right + pad.left) / 2}" y="${height - 8}" font-size="11" text-anchor="middle">step (${x0} to ${x1})</text>` +
    lines.join('') + '</svg>\n';
}
