import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gantryCli, tempDir } from '../helpers.ts';
import { readMetrics } from '../../src/train/metrics.ts';


function gantry(...args: string[]) {
  const r = gantryCli(args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/**
 * NVIDIA's global generator (ngf 64, nDown 4, nBlocks 9: 182 M weights) with its Adam moments makes a
 * 2.26 GB checkpoint, more than one write or read call takes (2 GiB): the README's Cityscapes command
 * stopped with an internal error at its first checkpoint until files went a tensor at a time. Small
 * images keep the steps short; the checkpoint's size is the weights'.
 */
test('pix2pixHD\'s official network trains, checkpoints (2.26 GB) and resumes', () => {
  const dir = tempDir();
  const run = join(dir, 'run');
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ model: { height: 64, width: 128, ngf: 64, nDown: 4, nBlocks: 9, ndf: 64 } }));
  try {
    gantry('train', 'pix2pixhd', '--data', 'shapes:8', '--config', config, '--batch', '1', '--steps', '1', '--out', run, '--quiet');
    assert.ok(statSync(join(run, 'checkpoint.safetensors')).size > 2 ** 31, 'past 2 GiB');
    assert.match(gantry('train', '--resume', '--out', run, '--steps', '2', '--quiet'), /step 2 lossD=\d/);
    const rows = readMetrics(run);
    assert.deepEqual(rows.map((r) => r.step), [1, 2]);
    assert.ok(rows.every((r) => Number.isFinite(r.lossG) && Number.isFinite(r.lossD)), JSON.stringify(rows));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
