import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf, maxAbsDiff } from '../helpers.ts';
import type { Rng } from '../../src/engine/rng.ts';
import { readTorchStateDict } from '../../src/io/torch.ts';
import { loadTorchWeights } from '../../src/nn/torch-weights.ts';
import { Dfgan, dfganSchema } from '../../src/models/dfgan.ts';
import { networkState, paramValues } from './torch-files.ts';

const here = dirname(fileURLToPath(import.meta.url));

interface Step { levels: number[]; sentences: number[]; noise: number[]; lossD: number; lossG: number; maGp: number }
const golden: { config: Record<string, unknown> & { imageSize: number; channels: number; nz: number; embedDim: number }; batch: number; steps: Step[] } =
  JSON.parse(readFileSync(join(here, 'dfgan_step.json'), 'utf8'));

function loadNetworks(model: Dfgan, file: string): void {
  const state = readTorchStateDict(join(here, file));
  for (const net of ['G', 'D']) loadTorchWeights(model.networks[net], networkState(state, net), file);
}


/**
 * DF-GAN's training steps from the same weights, batches, sentence vectors and noise as its authors' code
 * run by PyTorch (test/golden/make_dfgan_step.py): each step's D loss (hinge on real, mismatched and fake
 * pairs with MA-GP's double backward), MA-GP, G's loss, and every weight of G and D after three steps,
 * within a fraction of what Adam moves a weight (about its lr a step, whatever the gradient's size). The
 * caption encoder is fixed during DF-GAN's steps; its sentence vectors are the file's.
 */
export async function checkDfganStepsAgainstPyTorch(): Promise<void> {
  const { config, batch: n, steps } = golden;
  const model = new Dfgan(dfganSchema.parse({ ...config, textSteps: 0, vocabulary: ['a', 'caption'] }), 0);
  loadNetworks(model, 'dfgan_step_init.pth');
  const { imageSize: size, channels, nz, embedDim } = config;
  for (const [i, step] of steps.entries()) {
    const images = tf.tidy(() => tf.sub(tf.div(tf.tensor4d(step.levels, [n, size, size, channels]), 127.5), 1) as tf.Tensor4D);
    // The fixed encoder's sentence vectors and the step's noise, as the file has them.
    model.text.stepVectors = () => tf.tensor2d(step.sentences, [n, embedDim]);
    const rng = { fillNormal: (out: Float32Array) => (out.set(step.noise.slice(0, n * nz)), out) } as unknown as Rng;
    const losses = model.trainStep({ images, captions: Array(n).fill('a caption') }, { step: i, rng });
    const got = Object.fromEntries(await Promise.all(Object.entries(losses).map(async ([k, t]) => [k, (await t.data())[0]] as const)));
    tf.dispose([images, ...Object.values(losses)]);
    for (const k of ['lossD', 'lossG', 'maGp'] as const) {
      assert.ok(Math.abs(got[k] - step[k]) < 1e-4 * Math.max(1, Math.abs(step[k])), `step ${i} ${k} ${got[k]} vs PyTorch ${step[k]}`);
    }
  }
  const expected = new Dfgan(model.config, 1);
  loadNetworks(expected, 'dfgan_step_final.pth');
  const lr: Record<string, number> = { G: model.config.lrG, D: model.config.lrD };
  for (const net of ['G', 'D']) {
    const [mine, want] = await Promise.all([paramValues(model.networks[net]), paramValues(expected.networks[net])]);
    for (const [name, got] of mine) {
      const err = maxAbsDiff(got, want.get(name)!) / (steps.length * lr[net]);
      assert.ok(err < 0.005, `${net}/${name} after ${steps.length} steps: off by ${(err * 100).toFixed(2)}% of Adam's largest move`);
    }
  }
  model.dispose();
  expected.dispose();
}
