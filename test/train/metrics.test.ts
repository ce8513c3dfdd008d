import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.ts';
import { writeFileAtomic } from '../../src/io/atomic.ts';
import { appendMetrics, METRICS_FILE, MetricsFollower, readMetrics, truncateMetrics } from '../../src/train/metrics.ts';

test('MetricsFollower reads metrics.jsonl as a run writes it: new lines only, a line being written once whole, a file written anew from its start', () => {
  const dir = tempDir();
  const follower = new MetricsFollower(dir);
  assert.deepEqual(follower.rows(), [], 'no file yet');
  appendMetrics(dir, { step: 10, lossD: 1 });
  appendMetrics(dir, { step: 20, lossD: 0.5 });
  assert.deepEqual(follower.rows().map((r) => r.step), [10, 20]);
  // A line cut off mid-write waits for its newline.
  appendFileSync(join(dir, METRICS_FILE), '{"step":30,"lo');
  assert.deepEqual(follower.rows().map((r) => r.step), [10, 20]);
  appendFileSync(join(dir, METRICS_FILE), 'ssD":0.25}\n');
  appendMetrics(dir, { step: 40, lossD: 0.125 });
  assert.deepEqual(follower.rows().map((r) => [r.step, r.lossD]), [[10, 1], [20, 0.5], [30, 0.25], [40, 0.125]]);
  // A resume from step 20 writes the file anew (a smaller file), then appends past where it was.
  truncateMetrics(dir, 20);
  for (const step of [30, 40, 50, 60]) appendMetrics(dir, { step, lossD: step });
  assert.deepEqual(follower.rows().map((r) => [r.step, r.lossD]), [[10, 1], [20, 0.5], [30, 30], [40, 40], [50, 50], [60, 60]]);
  assert.deepEqual(follower.rows(), readMetrics(dir), 'what a whole read gives');
  // Written anew at a larger size than was read: still read from the start (the file is another).
  writeFileAtomic(join(dir, METRICS_FILE), Array.from({ length: 9 }, (_, i) => JSON.stringify({ step: i, lossD: -i }) + '\n').join(''));
  assert.deepEqual(follower.rows().map((r) => r.step), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
});
