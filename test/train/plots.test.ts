import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.ts';
import { writePlots } from '../../src/train/plots.ts';
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
