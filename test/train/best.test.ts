import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gantryCli, setup, tempDir } from '../helpers.ts';
import { train, type RunScorer } from '../../src/train/trainer.ts';
import { validateRunConfig } from '../../src/train/run-config.ts';
import { checkpointStep } from '../../src/train/checkpoint.ts';
import { readSafetensors } from '../../src/io/safetensors-file.ts';
import { openRun } from '../../src/train/run.ts';

await setup();

/** FID by the step of the checkpoint scored: the lowest at step 4, then worse, as GAN runs swing. */
const SCRIPT: Record<number, number> = { 2: 50, 4: 30, 6: 40, 8: 35, 10: 45 };
const scorerFor = (): RunScorer => ({ score: async (runDir) => ({ fid: SCRIPT[checkpointStep(runDir)] }), dispose: () => {} });

const config = validateRunConfig({
  family: 'dcgan', seed: 3, data: 'mnist', model: { ngf: 8, ndf: 8 },
  train: { steps: 10, batch: 8, logEvery: 1, sampleEvery: 100, checkpointEvery: 100, samples: 4 },
  eval: { fid: { n: 16 }, every: 2 },
}, 'test config');

const tensors = (file: string) => Object.fromEntries(Object.entries(readSafetensors(file).tensors).map(([k, v]) => [k, v.data]));

test('RUN/best: the checkpoint of the lowest FID so far, a run folder of its own that sample takes as --run; kept across a stop and resume, dropped by a resume from before it', async () => {
  const dir = tempDir();
  const run = join(dir, 'run');
  const lines: string[] = [];
  const result = await train({ outDir: run, config, scorerFor, log: (l) => lines.push(l) });
  assert.deepEqual(result.best, { step: 4, fid: 30 });
  assert.deepEqual(JSON.parse(readFileSync(join(run, 'best', 'best.json'), 'utf8')), { step: 4, fid: 30 });
  assert.deepEqual(lines.filter((l) => l.includes('lowest so far')).map((l) => l.split(':')[0]), ['step 2', 'step 4']);
  // Its checkpoint is the run's at step 4: the same weights as a run stopped there.
  const stopped = join(dir, 'stopped');
  await train({ outDir: stopped, config, scorerFor, quiet: true, stopAtStep: 4 });
  assert.deepEqual(tensors(join(run, 'best', 'checkpoint.safetensors')), tensors(join(stopped, 'checkpoint.safetensors')));
  assert.deepEqual(JSON.parse(readFileSync(join(run, 'best', 'config.json'), 'utf8')), JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')));
  const opened = openRun(join(run, 'best'));
  assert.equal(opened.state.step, 4);
  opened.model.dispose();
  const sample = gantryCli(['sample', '--run', join(run, 'best'), '--n', '4', '--out', join(dir, 'best.png')]);
  assert.equal(sample.code, 0, sample.stderr);
  assert.ok(existsSync(join(dir, 'best.png')));

  // A process killed while it swapped the best folder in leaves its staged folders; the resume clears them.
  for (const left of ['best.tmp-99999', 'best.old.tmp-99999']) {
    mkdirSync(join(stopped, left));
    writeFileSync(join(stopped, left, 'best.json'), '{}');
  }
  // The stopped run resumed to the end keeps the same best; nothing staged is left beside it.
  const resumed = await train({ outDir: stopped, resume: true, scorerFor, quiet: true });
  assert.deepEqual(resumed.best, { step: 4, fid: 30 });
  assert.deepEqual(tensors(join(stopped, 'best', 'checkpoint.safetensors')), tensors(join(run, 'best', 'checkpoint.safetensors')));
  for (const pid of [process.pid, 99999]) assert.ok(!existsSync(join(stopped, `best.tmp-${pid}`)) && !existsSync(join(stopped, `best.old.tmp-${pid}`)), `staged folders of ${pid}`);

  // A best from after the checkpoint a resume starts at goes, as that step's metrics rows do (a roll-back).
  writeFileSync(join(stopped, 'best', 'best.json'), JSON.stringify({ step: 12, fid: 1 }));
  const further = await train({ outDir: stopped, resume: true, scorerFor: () => ({ score: async () => ({ fid: 60 }), dispose: () => {} }), quiet: true, changes: { train: { steps: 12 } } });
  assert.deepEqual(further.best, { step: 12, fid: 60 }, 'the dropped best (fid 1) does not hide the new scores');

  // A run without an eval section keeps none.
  const plain = await train({ outDir: join(dir, 'plain'), config: { ...config, eval: undefined }, quiet: true });
  assert.equal(plain.best, undefined);
  assert.ok(!existsSync(join(dir, 'plain', 'best')));
});
