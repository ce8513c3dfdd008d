import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { gantryCli, tempDir } from '../helpers.ts';
import { forEachMetricsRow, METRICS_FILE } from '../../src/train/metrics.ts';
import { RunProgress } from '../../src/studio/progress.ts';
import { startStudio } from '../../src/studio/server.ts';

function gantry(...args: string[]) {
  const r = gantryCli(args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * A run logged for long enough (5 million rows: `logEvery` 1 for 5 million steps) has a metrics.jsonl
 * of 600 MB, past the longest string V8 makes (512 MiB): reading it whole stopped both the resume and
 * the studio with an internal error, and below that size they held every row (about 140 bytes each).
 * Both now read it a chunk at a time and keep only what they show; the studio reads it in slices
 * between its answers.
 */
test('a metrics.jsonl of 600 MB: the run resumes and plots, and the studio reads it in the background in a few MB of heap', async () => {
  const dir = tempDir();
  const run = join(dir, 'run');
  try {
    gantry('train', 'dcgan', '--steps', '4', '--batch', '8', '--out', run, '--quiet');
    // Rows at the run's own steps (1 to 4), so the resume keeps them all.
    const rows = Array.from({ length: 8192 }, (_, i) => JSON.stringify({ step: 1 + (i % 4), lossD: 0.5 + Math.sin(i) / 10, lossG: 2 + Math.cos(i) / 10, imagesPerSec: 400 + Math.sin(i / 3), seconds: i / 10 + Math.cos(i / 5) }) + '\n');
    const block = Buffer.from(rows.join(''));
    const blocks = Math.ceil((600 << 20) / block.length);
    const fd = openSync(join(run, METRICS_FILE), 'w');
    for (let i = 0; i < blocks; i++) writeSync(fd, block);
    closeSync(fd);
    const written = blocks * rows.length;
    assert.ok(statSync(join(run, METRICS_FILE)).size > 2 ** 29, 'past the longest string');

    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const progress = new RunProgress(run);
    // The first answer comes after one slice; the rest is read in the background, between answers.
    const first = progress.now();
    assert.ok(first.reading !== null && first.reading > 0 && first.reading < 0.1, `read ${first.reading} of the file at first`);
    assert.ok(first.rows > 0 && first.rows < written);
    let now = first;
    let answers = 1;
    while (now.reading !== null) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const next = progress.now();
      assert.ok(next.reading === null || next.reading >= now.reading, 'reading moves on');
      now = next;
      answers++;
    }
    assert.ok(answers > 5, `${answers} answers while reading`);
    assert.equal(now.rows, written);
    assert.equal(now.step, 4);
    assert.match(progress.plot('losses') ?? '', /each point the mean of \d+ logged values/);
    gc();
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    assert.ok(heapGrowth < 32 << 20, `the studio's heap grew by ${(heapGrowth / 2 ** 20).toFixed(1)} MB for ${written} rows`);

    // The studio answers while it reads, and closes while it reads.
    const studio = await startStudio(run, 0);
    const opened = await (await fetch(studio.url + 'progress.json')).json();
    assert.equal((await fetch(studio.url + 'explorer.css')).status, 200);
    const later = await (await fetch(studio.url + 'progress.json')).json();
    assert.ok(opened.reading > 0 && later.reading >= opened.reading && later.reading < 1, `read ${opened.reading}, then ${later.reading}`);
    await studio.close();

    assert.match(gantry('train', '--resume', '--out', run, '--steps', '6', '--quiet'), /step 6 lossD=\d/);
    let count = 0;
    const tail: number[] = [];
    forEachMetricsRow(run, (row) => {
      count++;
      if (count > written) tail.push(row.step);
    });
    assert.equal(count, written + 1, 'the logged rows kept, and the new last step\'s');
    assert.deepEqual(tail, [6]);
    assert.match(readFileSync(join(run, 'plots', 'losses.svg'), 'utf8'), /each point the mean of \d+ logged values/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
