import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.ts';
import { writeFileAtomic } from '../../src/io/atomic.ts';
import { appendMetrics, METRICS_FILE, MetricsFollower, readMetrics, trainingSeconds, truncateMetrics, type MetricsRow } from '../../src/train/metrics.ts';

/** A MetricsFollower's sink that keeps what it is given. */
function collector(): { rows: MetricsRow[]; restarts: number; restart(): void; add(row: MetricsRow): void } {
  return {
    rows: [],
    restarts: 0,
    restart() {
      this.rows = [];
      this.restarts++;
    },
    add(row) {
      this.rows.push(row);
    },
  };
}

test('MetricsFollower reads metrics.jsonl as a run writes it: new lines only, a line being written once whole, a file written anew from its start', () => {
  const dir = tempDir();
  const seen = collector();
  const follower = new MetricsFollower(dir, seen);
  follower.poll();
  assert.equal(seen.rows.length, 0, 'no file yet');
  appendMetrics(dir, { step: 10, lossD: 1 });
  appendMetrics(dir, { step: 20, lossD: 0.5 });
  follower.poll();
  assert.deepEqual(seen.rows.map((r) => r.step), [10, 20]);
  // A line cut off mid-write waits for its newline.
  appendFileSync(join(dir, METRICS_FILE), '{"step":30,"lo');
  follower.poll();
  assert.deepEqual(seen.rows.map((r) => r.step), [10, 20]);
  appendFileSync(join(dir, METRICS_FILE), 'ssD":0.25}\n');
  appendMetrics(dir, { step: 40, lossD: 0.125 });
  follower.poll();
  assert.deepEqual(seen.rows.map((r) => [r.step, r.lossD]), [[10, 1], [20, 0.5], [30, 0.25], [40, 0.125]]);
  assert.equal(seen.restarts, 0);
  // A resume from step 20 writes the file anew (a smaller file), then appends past where it was.
  truncateMetrics(dir, 20);
  for (const step of [30, 40, 50, 60]) appendMetrics(dir, { step, lossD: step });
  follower.poll();
  assert.equal(seen.restarts, 1);
  assert.deepEqual(seen.rows.map((r) => [r.step, r.lossD]), [[10, 1], [20, 0.5], [30, 30], [40, 40], [50, 50], [60, 60]]);
  assert.deepEqual(seen.rows, readMetrics(dir), 'what a whole read gives');
  // Written anew at a larger size than was read: still read from the start (the file is another).
  writeFileAtomic(join(dir, METRICS_FILE), Array.from({ length: 9 }, (_, i) => JSON.stringify({ step: i, lossD: -i }) + '\n').join(''));
  follower.poll();
  assert.equal(seen.restarts, 2);
  assert.deepEqual(seen.rows.map((r) => r.step), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
});

test('metrics.jsonl of many megabytes is read a chunk at a time: rows across chunk edges, a torn last line, foreign lines and a line longer than a chunk skipped', () => {
  const dir = tempDir();
  const rows: MetricsRow[] = Array.from({ length: 60_000 }, (_, i) => ({ step: i + 1, lossD: i / 7, lossG: Math.sqrt(i), imagesPerSec: 400 + (i % 13), seconds: i / 3 }));
  const lines = rows.map((r) => JSON.stringify(r));
  // A line of 3 MB (no metrics writer makes one; a damaged file can), a number, and a blank line among the rows.
  lines.splice(30_000, 0, `{"step":1,"junk":"${'x'.repeat(3 << 20)}"}`, '17', '');
  writeFileSync(join(dir, METRICS_FILE), lines.join('\n') + '\n{"step":60001,"lo');
  assert.ok(readFileSync(join(dir, METRICS_FILE)).length > 8 << 20, 'several chunks');
  assert.deepEqual(readMetrics(dir), rows);
  const seen = collector();
  new MetricsFollower(dir, seen).poll();
  assert.deepEqual(seen.rows, rows);
  // Read a megabyte at a time (as the studio reads between requests): the same rows, over several polls that each move on.
  const sliced = collector();
  const follower = new MetricsFollower(dir, sliced);
  const read: number[] = [];
  while (!follower.poll(1 << 20)) read.push(follower.read.bytes);
  assert.ok(read.length >= 8, `${read.length} polls`);
  assert.ok(read.every((bytes, i) => bytes > (read[i - 1] ?? 0) && bytes < follower.read.of), 'each poll moves on, short of the end');
  assert.deepEqual(sliced.rows, rows);
  assert.equal(follower.poll(1 << 20), true, 'nothing new');
  assert.deepEqual(sliced.rows, rows);
  truncateMetrics(dir, 45_000);
  assert.deepEqual(readMetrics(dir), rows.slice(0, 45_000), 'the rows up to the step, and nothing else');
  assert.equal(readFileSync(join(dir, METRICS_FILE), 'utf8'), rows.slice(0, 45_000).map((r) => JSON.stringify(r) + '\n').join(''));
  truncateMetrics(dir, -1);
  assert.equal(readFileSync(join(dir, METRICS_FILE), 'utf8'), '');
});

test('trainingSeconds adds up a run\'s sessions: each counts its seconds from its own start; rows without seconds (scores) are passed over', () => {
  const dir = tempDir();
  assert.equal(trainingSeconds(dir), 0, 'no metrics yet');
  const rows: MetricsRow[] = [{ step: 10, seconds: 2 }, { step: 20, seconds: 4.5 }, { step: 20, fid: 30 }, { step: 30, seconds: 1 }, { step: 40, seconds: 3 }, { step: 50, seconds: 0.5 }];
  for (const row of rows) appendMetrics(dir, row);
  assert.equal(trainingSeconds(dir), 4.5 + 3 + 0.5);
});
