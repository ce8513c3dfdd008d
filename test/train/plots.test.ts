import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.ts';
import { MAX_CURVE_POINTS, MetricsCurves, plotNames, plotSvg, writePlots } from '../../src/train/plots.ts';
import type { MetricsRow } from '../../src/train/metrics.ts';

function curvesOf(rows: MetricsRow[]): MetricsCurves {
  const curves = new MetricsCurves();
  for (const row of rows) curves.add(row);
  return curves;
}

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
  writePlots(dir, curvesOf(rows), 'run');
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

test('a long run\'s curve: at most MAX_CURVE_POINTS points, each the mean of a run of `per` consecutive values at its last step, exactly as averaging the whole list would give', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (const n of [1, 999, MAX_CURVE_POINTS, MAX_CURVE_POINTS + 1, 2001, 4000, 12_345, 100_000]) {
    // Some rows lack the value or hold a non-finite one (a score's rows, a JSON null): those are not points.
    const rows: MetricsRow[] = Array.from({ length: n }, (_, i) => (i % 97 === 5 ? { step: 3 * i, fid: 1 } : { step: 3 * i, lossD: i % 89 === 3 ? NaN : random() }) as MetricsRow);
    const { points, per } = curvesOf(rows).curvePoints('lossD');
    const values = rows.filter((r) => Number.isFinite(r.lossD));
    const expected: [number, number][] = [];
    for (let i = 0; i < values.length; i += per) {
      const run = values.slice(i, i + per);
      expected.push([run.at(-1)!.step, run.reduce((sum, r) => sum + r.lossD, 0) / run.length]);
    }
    assert.ok(points.length <= MAX_CURVE_POINTS, `${n} rows: ${points.length} points`);
    assert.equal(per, values.length <= MAX_CURVE_POINTS ? 1 : 2 ** Math.ceil(Math.log2(values.length / MAX_CURVE_POINTS)), `${n} rows: the smallest power of two that keeps to the limit`);
    assert.equal(points.length, expected.length, `${n} rows`);
    points.forEach(([step, mean], i) => {
      assert.equal(step, expected[i][0]);
      assert.ok(Math.abs(mean - expected[i][1]) < 1e-12, `${n} rows, point ${i}: ${mean} against ${expected[i][1]}`);
    });
  }
});

test('a long run\'s plot: 200,000 rows draw a small SVG that says it averages; names are escaped', () => {
  const rows: MetricsRow[] = Array.from({ length: 200_000 }, (_, i) => ({ step: 10 * (i + 1), lossD: i % 2, lossG: 1 + (i % 4) }));
  const curves = curvesOf(rows);
  const { points, per } = curves.curvePoints('lossD');
  assert.equal(per, 256);
  assert.deepEqual(points[0], [2560, 0.5], 'the first 256 rows: their mean at the last one\'s step');
  assert.deepEqual(points.at(-1), [2_000_000, 0.5], 'the last, shorter run still ends the curve');
  assert.deepEqual(curves.steps(), [0, 2_000_000]);
  const svg = plotSvg(curves, 'a & b <run>', 'losses');
  assert.ok(svg.length < 100_000, `the SVG stays small (${svg.length} characters)`);
  assert.equal((svg.match(/<polyline/g) ?? []).length, 2);
  assert.match(svg, /a &amp; b &lt;run&gt;/);
  assert.match(svg, /each point the mean of 256 logged values/);
  assert.deepEqual(plotNames(curvesOf([...rows.slice(0, 3), { step: 30, fid: 12 }])), ['losses', 'fid']);
});
