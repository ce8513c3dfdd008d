import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setup, tempDir, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { openDataset } from '../../src/data/index.ts';
import { makeBatch } from '../../src/data/sampler.ts';
import { Dcgan, type DcganConfig } from '../../src/models/dcgan.ts';
import type { FamilyInstance } from '../../src/models/family.ts';
import { NO_CONDITION } from '../../src/models/condition.ts';
import { pixelHistogram, wasserstein1 } from '../../src/metrics/pixel-histogram.ts';
import { train } from '../../src/train/trainer.ts';
import { validateRunConfig } from '../../src/train/run-config.ts';
import { openRun } from '../../src/train/run.ts';

await setup();

function generatedHistogram(model: FamilyInstance): Float64Array {
  const nz = (model as Dcgan).config.nz;
  const z = tf.tensor2d(new Rng(99, 'eval-noise').fillNormal(new Float32Array(256 * nz)), [256, nz]);
  const images = model.generate!(z, NO_CONDITION);
  const h = pixelHistogram(images.dataSync() as Float32Array, 256);
  tf.dispose([z, images]);
  return h;
}

/**
 * A short DCGAN training on the real embedded MNIST digits must move the distribution of generated
 * pixel intensities towards the data's. Distance: Wasserstein-1 between 256-bin intensity histograms
 * over [-1, 1] (how far, on average, intensity mass must move). At step 0 the generator's tanh outputs
 * sit near 0 while MNIST is mostly -1 background; after 300 steps the backgrounds are dark grey and
 * strokes bright. Measured (seed 1): 0.953 at step 0, 0.426 after 300 steps. An untrained or broken
 * generator stays near 0.95; the test asks for under 0.6 of the starting distance.
 */
test('DCGAN trained 300 steps on MNIST gets measurably closer to real pixel statistics', async () => {
  const config = validateRunConfig({
    family: 'dcgan', seed: 1, data: 'mnist',
    model: { ngf: 32, ndf: 32 },
    train: { steps: 300, batch: 32, logEvery: 10, sampleEvery: 1000, checkpointEvery: 1000, samples: 16 },
  }, 'test');
  const data = openDataset('mnist', { height: 32, width: 32, channels: 1 });
  const batch = makeBatch(data, new Rng(5).permutation(data.n).subarray(0, 1000));
  const real = pixelHistogram(batch.images.dataSync() as Float32Array, 256);
  batch.images.dispose();
  batch.labels?.dispose();
  const dir = join(tempDir(), 'mnist');
  await train({ outDir: dir, config, quiet: true });
  const run = openRun(dir);
  const initial = new Dcgan(run.config.model as DcganConfig, config.seed); // same seed: the step-0 weights
  const before = wasserstein1(generatedHistogram(initial), real);
  const after = wasserstein1(generatedHistogram(run.model), real);
  initial.dispose();
  run.model.dispose();
  console.log(`pixel-intensity W1 distance to real MNIST: step 0 ${before.toFixed(3)}, step 300 ${after.toFixed(3)}`);
  assert.ok(before > 0.5, `step-0 distance ${before}`);
  assert.ok(after < 0.6 * before, `step-300 distance ${after} is not under 0.6 x step-0 ${before}`);
});
