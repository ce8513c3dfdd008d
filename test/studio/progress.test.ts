import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.ts';
import { LISTED_GRIDS, sampleGrids } from '../../src/studio/progress.ts';

const gridsAt = (steps: number[]) => {
  const dir = tempDir();
  mkdirSync(join(dir, 'samples'));
  for (const step of steps) writeFileSync(join(dir, 'samples', `step-${String(step).padStart(6, '0')}.png`), '');
  writeFileSync(join(dir, 'samples', 'notes.txt'), '');
  return dir;
};

test('sampleGrids: every grid of a short run, by step; a long run\'s spread evenly from the first to the newest, at most a slider\'s worth', () => {
  assert.deepEqual(sampleGrids(tempDir()), [], 'no samples/ yet');
  assert.deepEqual(sampleGrids(gridsAt([500, 0, 1000])), [0, 500, 1000].map((step) => ({ step, file: `step-${String(step).padStart(6, '0')}.png` })));
  const steps = Array.from({ length: 5001 }, (_, i) => i * 100); // a run of 500,000 steps sampled every 100
  const listed = sampleGrids(gridsAt(steps)).map((g) => g.step);
  assert.equal(listed.length, LISTED_GRIDS);
  assert.deepEqual([listed[0], listed.at(-1)], [0, 500_000], 'the first and the newest');
  const gaps = listed.slice(1).map((step, i) => step - listed[i]);
  assert.ok(Math.min(...gaps) >= 2500 && Math.max(...gaps) <= 2600, `even gaps: ${Math.min(...gaps)} to ${Math.max(...gaps)} steps`);
});
