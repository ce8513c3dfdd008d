import assert from 'node:assert/strict';
import { tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { openDataset } from '../../src/data/index.ts';
import { BatchSampler } from '../../src/data/sampler.ts';
import { sumSquaredError } from '../../src/losses/vae.ts';
import type { FamilyInstance } from '../../src/models/family.ts';

/**
 * An auto-encoder's squared pixel error on 256 held MNIST digits (evaluation mode), before and after
 * `steps` training steps of batch 32, with the tensor count checked flat over the steps (from the 6th).
 */
export function mnistReconstructionError(model: FamilyInstance & { reconstruct(images: tf.Tensor4D): tf.Tensor4D }, steps = 150): { before: number; after: number } {
  const data = openDataset('mnist', { height: 32, width: 32, channels: 1 });
  const sampler = new BatchSampler(data, 32, 1);
  const held = new BatchSampler(data, 256, 99).batchAt(0);
  const reconError = () => tf.tidy(() => sumSquaredError(model.reconstruct(held.images), held.images).dataSync()[0]);
  const before = reconError();
  const counts: number[] = [];
  for (let step = 0; step < steps; step++) {
    const batch = sampler.batchAt(step);
    const losses = model.trainStep(batch, { step, rng: new Rng(1, 'step', step) });
    tf.dispose([batch.images, batch.labels ?? [], ...Object.values(losses)]);
    if (step >= 5) counts.push(tf.memory().numTensors);
  }
  const after = reconError();
  assert.ok(counts.every((c) => c === counts[0]), 'tensor count grew');
  tf.dispose([held.images, held.labels ?? []]);
  return { before, after };
}
