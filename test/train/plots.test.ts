import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.ts';
import { curvePoints, MAX_CURVE_POINTS, plotNames, plotSvg, writePlots } from '../../src/train/plots.ts';
import type { MetricsRow } from '../../src/train/metrics.ts';

test('writePlots: the losses together from 0, and each score on an axis of its own values', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'plots'));
  const rows: MetricsRow[] = [
    { step: 10, lossD: 1.2, lossG: 0.8, imagesPerSec: 100, seconds: 1 },
    { step: 20, lossD: 0.9, lossG: 1.1, imagesPerSec: 110, seconds: 2 },
    { step: 20, fid: 180.5 },
    { step: 40, lossD: 0.7, lossG: 1.4, imagesPerSec: 120, seconds: 3 },
    { step: 40, fid: 120.25 },
  ];
  writePlots(dir, rows, 'run');
  assert.deepEqual(readdirSync(join(dir, 'plots')).sort(), ['fid.svg', 'losses.svg']);
  const losses = readFileSync(join(dir, 'plots', 'losses.svg'), 'utf8');
  assert.equal((losses.match(/<polyline/g) ?? []).length, 2);
  assert.match(losses, />0\.00</, 'losses start at 0');
  const fid = readFileSync(join(dir, 'plots', 'fid.svg'), 'utf8');
  assert.equal((fid.match(/<polyline/g) ?? []).length, 1);
  assert.match(fid, />120</);
  assert.match(fid, />181</);
  assert.doesNotMatch(fid, />0\.00</, 'a score\'s axis spans its values');
});

test('a long run\'s plot: at most MAX_CURVE_POINTS points a curve, each the mean of its run of logged values; 200,000 rows draw; names are escaped', () => {
  const rows: MetricsRow[] = Array.from({ length: 200_000 }, (_, i) => ({ step: 10 * (i + 1), lossD: i % 2, lossG: 1 + (i % 4) }));
  const { points, per } = curvePoints(rows, 'lossD');
  assert.equal(per, 200);
  assert.equal(points.length, MAX_CURVE_POINTS);
  assert.deepEqual(points[0], [2000, 0.5], 'the first 200 rows: their mean at the last one\'s step');
  assert.deepEqual(points.at(-1), [2_000_000, 0.5]);
  assert.deepEqual(curvePoints(rows.slice(0, 1000), 'lossD').points.length, 1000, 'up to the limit, every point');
  assert.equal(curvePoints(rows.slice(0, 1001), 'lossD').points.at(-1)![0], 10010, 'past it, the last run (one row) still ends the curve');
  const svg = plotSvg(rows, 'a & b <run>', 'losses');
  assert.ok(svg.length < 100_000, `the SVG stays small (${svg.length} characters)`);
  assert.equal((svg.match(/<polyline/g) ?? []).length, 2);
  assert.match(svg, /a &amp; b &lt;run&gt;/);
  assert.match(svg, /each point the mean of 200 logged values/);
  assert.deepEqual(plotNames([...rows.slice(0, 3), { step: 30, fid: 12 }]), ['losses', 'fid']);
});
