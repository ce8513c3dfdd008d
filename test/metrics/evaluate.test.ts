import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setup } from '../helpers.ts';
import { tf } from '../../src/engine/index.ts';
import { GpuLimitError } from '../../src/gpu/device-guard.ts';
import { extractFeatures } from '../../src/metrics/evaluate.ts';
import type { FeatureExtractor } from '../../src/metrics/features.ts';

await setup();

/** A stand-in feature network (each image's mean and largest value) that, like a GPU, takes at most `most` images a pass. */
function meanAndMax(most: number, passes: number[]): FeatureExtractor {
  return {
    id: 'mean-max', dim: 2, inputSize: null, inputChannels: null,
    extract(images) {
      passes.push(images.shape[0]);
      if (images.shape[0] > most) throw new GpuLimitError(`WebGPU: a tensor of ${images.shape[0]} images`, 'use fewer');
      return { features: tf.tidy(() => tf.stack([tf.mean(images, [1, 2, 3]), tf.max(images, [1, 2, 3])], 1) as tf.Tensor2D) };
    },
    dispose() {},
  };
}

test('extractFeatures: a batch too large for the GPU at once is taken in passes that fit, with the same features; the next batches start at the size that fitted; tensors flat', async () => {
  const input = { kind: 'data', spec: 'mnist' } as const;
  const whole = await extractFeatures(input, meanAndMax(Infinity, []), { n: 120, batch: 50, quiet: true });
  const tensors = tf.memory().numTensors;
  const passes: number[] = [];
  const split = await extractFeatures(input, meanAndMax(20, passes), { n: 120, batch: 50, quiet: true });
  assert.deepEqual(passes, [50, 25, 13, 13, 13, 11, 13, 13, 13, 11, 13, 7]);
  assert.deepEqual(split.features, whole.features);
  assert.ok(whole.features.some((v, i) => i % 2 === 1 && v > 0.9), 'the digits were read');
  assert.equal(tf.memory().numTensors, tensors);
});
