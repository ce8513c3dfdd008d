import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setup, tempDir } from '../helpers.ts';
import { validateRunConfig } from '../../src/train/run-config.ts';
import { readMetrics } from '../../src/train/metrics.ts';
import { fidEarlyAndLate } from '../train/mnist-judge.ts';

await setup();

/**
 * model.r1 on the real digits: DCGAN with R1 (gamma 10) on D still teaches G (FID in a gantry classifier's
 * features falls), and the penalty holds D's gradient on the real digits small: R1 = 5 x mean |grad|^2 stays
 * under 1 over the last 200 steps. G and D at half DCGAN's default width (ngf = ndf = 32), which learn the
 * digits as well here for a quarter of the convolutions' work, at batch 32 (40% less time a step than 64).
 * Measured (seed 1): FID 838.4 at step 250 and 200.6 at step 1,000; R1 0.155-0.172 over the last 200 steps
 * (at batch 64: 808.5 and 179.5, R1 0.14-0.18; at the default width and batch 64: 811.9 and 163.1, R1
 * 0.15-0.20). (The README has the longer runs.)
 */
test('DCGAN with R1 on MNIST: FID falls, and D\'s gradient on the real digits stays small', async () => {
  const dir = join(tempDir(), 'dcgan');
  const config = validateRunConfig({
    family: 'dcgan', seed: 1, data: 'mnist', model: { r1: 10, ngf: 32, ndf: 32 },
    train: { steps: 1000, batch: 32, logEvery: 50, sampleEvery: 10000, checkpointEvery: 10000 },
  }, 'test');
  const { early, late } = await fidEarlyAndLate(dir, config, 250);
  const r1 = readMetrics(dir).filter((r) => r.step > 800).map((r) => r.r1!);
  console.log(`FID (classifier features) with R1: step 250 ${early.toFixed(1)}, step 1000 ${late.toFixed(1)}; R1 over the last 200 steps ${r1.map((v) => v.toFixed(3)).join(' ')}`);
  assert.ok(late < 0.6 * early, `FID ${late} at step 1000 is not under 0.6 x ${early} at step 250`);
  assert.equal(r1.length, 4);
  assert.ok(r1.every((v) => v > 0 && v < 1), `R1 ${r1}`);
});

/**
 * The same with a lazy R1 (model.r1Every 16, StyleGAN2's) at gamma 1: D's own update on the penalty every 16
 * steps still lets G learn, at the same half width and batch 32. Measured (seed 1): FID 903.2 at step 250
 * and 193.0 at step 1,000 (896.8 and 160.0 at batch 64; 745.5 and 124.2 at the default width). At gamma 10,
 * the default width and batch 64 it was 1006.0 and 629.0: the lazy update is 16 times the penalty (the
 * README says to lower gamma).
 */
test('DCGAN with a lazy R1 (gamma 1, every 16 steps) on MNIST: FID falls', async () => {
  const dir = join(tempDir(), 'dcgan');
  const config = validateRunConfig({
    family: 'dcgan', seed: 1, data: 'mnist', model: { r1: 1, r1Every: 16, ngf: 32, ndf: 32 },
    train: { steps: 1000, batch: 32, logEvery: 50, sampleEvery: 10000, checkpointEvery: 10000 },
  }, 'test');
  const { early, late } = await fidEarlyAndLate(dir, config, 250);
  console.log(`FID (classifier features) with a lazy R1: step 250 ${early.toFixed(1)}, step 1000 ${late.toFixed(1)}`);
  assert.ok(late < 0.6 * early, `FID ${late} at step 1000 is not under 0.6 x ${early} at step 250`);
});
