import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setup, tempDir } from '../helpers.ts';
import { readSafetensors, writeSafetensors } from '../../src/io/safetensors-file.ts';
import { train } from '../../src/train/trainer.ts';
import { validateRunConfig } from '../../src/train/run-config.ts';
import { mnistJudge } from './mnist-judge.ts';

await setup();

/** A copy of a run folder whose checkpoint does not say it holds an average: opened, it draws with the last weights. */
function lastWeightsOf(runDir: string, into: string): string {
  mkdirSync(into, { recursive: true });
  copyFileSync(join(runDir, 'config.json'), join(into, 'config.json'));
  const file = readSafetensors(join(runDir, 'checkpoint.safetensors'));
  const state = JSON.parse(file.metadata.gantry);
  assert.equal(state.averaged, true);
  delete state.averaged;
  writeSafetensors(join(into, 'checkpoint.safetensors'), file.tensors, { gantry: JSON.stringify(state) });
  return into;
}

/**
 * train.ema's claim: drawing with the average of the generator's recent weights scores better than drawing
 * with its last weights, whose quality swings from step to step. One DCGAN run on the real digits (its
 * weights are the same with or without the average, tested in trainer.test.ts) at batch 32, where those
 * swings are large; FID of both at five of its later checkpoints, in the features of a gantry classifier
 * trained on the digits. Measured (seed 1, DCGAN's default ngf = ndf = 64, decay 0.99, FID of 1,000 images
 * against 1,000 digits, 2 threads): last weights / average 162.7 / 159.5 at step 1200, 161.4 / 131.3,
 * 137.9 / 111.1, 134.1 / 96.3 and 100.5 / 88.2 at 2000 (means 139.3 / 117.3). With the average drawn as
 * the last weights (a broken swap or load) the two would be equal; with a broken update (no average, or
 * one stuck behind) it would fall behind.
 */
test('DCGAN on MNIST: the weights\' average (train.ema 0.99) draws images with a lower FID than the last weights', async () => {
  const root = tempDir();
  const judge = await mnistJudge();
  const dir = join(root, 'dcgan');
  const config = validateRunConfig({
    family: 'dcgan', seed: 1, data: 'mnist', model: { ngf: 64, ndf: 64 },
    train: { steps: 2000, batch: 32, logEvery: 100, sampleEvery: 10000, checkpointEvery: 10000, ema: 0.99 },
  }, 'test');
  const scores: { step: number; last: number; average: number }[] = [];
  const at = [1200, 1400, 1600, 1800, 2000];
  for (const step of at) {
    await train(step === at[0] ? { outDir: dir, config, quiet: true, stopAtStep: step } : { outDir: dir, resume: true, quiet: true, stopAtStep: step });
    scores.push({ step, average: await judge.fid(dir), last: await judge.fid(lastWeightsOf(dir, join(root, `last-${step}`))) });
  }
  judge.dispose();
  const mean = (k: 'last' | 'average') => scores.reduce((a, s) => a + s[k], 0) / scores.length;
  console.log(`FID (classifier features) of the last weights / their average: ${scores.map((s) => `step ${s.step} ${s.last.toFixed(1)} / ${s.average.toFixed(1)}`).join(', ')}; mean ${mean('last').toFixed(1)} / ${mean('average').toFixed(1)}`);
  assert.ok(mean('average') < 0.92 * mean('last'), `the average's mean FID ${mean('average')} is not under 0.92 x the last weights' ${mean('last')}`);
  assert.ok(scores.filter((s) => s.average < s.last).length >= 4, 'the average is ahead at four of the five checkpoints at least');
});
