import assert from 'node:assert/strict';
import { test } from 'node:test';
import { maxAbs, maxAbsDiff, setup } from '../helpers.ts';
import { tf } from '../../src/engine/index.ts';
import { GpuLimitError } from '../../src/gpu/device-guard.ts';
import { computeStats, extractFeatures, halfSplitFid, statsFromFeatures } from '../../src/metrics/evaluate.ts';
import { frechetDistance } from '../../src/metrics/frechet.ts';
import type { FeatureExtractor } from '../../src/metrics/features.ts';

await setup();

/** A stand-in feature network (each image's mean and largest value) that, like a GPU, takes at most `most` images a pass. */
function meanAndMax(most: number, passes: number[]): FeatureExtractor {
  return {
    id: 'mean-max', dim: 2, inputSize: null, inputChannels: null, logits: false,
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

/** A stand-in feature network of `dim` features: each 28x28 image times a fixed seeded matrix. */
function projection(dim: number): FeatureExtractor {
  const w = tf.randomNormal([28 * 28, dim], 0, 0.1, 'float32', 7) as tf.Tensor2D;
  return {
    id: `projection-${dim}`, dim, inputSize: 28, inputChannels: 1, logits: false,
    extract: (images) => ({ features: tf.tidy(() => tf.matMul(tf.reshape(images, [images.shape[0], 28 * 28]), w)) }),
    dispose: () => w.dispose(),
  };
}

test('computeStats: FID statistics accumulate a pass at a time, equal to those of every feature held at once, with 1 MB of memory left; holding every feature of a set too large is refused before an image is drawn, with the fix', async () => {
  const input = { kind: 'data', spec: 'mnist' } as const;
  const extractor = projection(256);
  const o = { n: 600, batch: 50, quiet: true };
  const tensors = tf.memory().numTensors;
  // 600 images of 256-d features: past twice the feature size, so accumulated, never held.
  const streamed = await computeStats(input, extractor, o);
  const held = statsFromFeatures(await extractFeatures(input, extractor, o));
  assert.equal(streamed.n, 600);
  assert.equal(streamed.halfSplitFid, undefined);
  assert.ok(maxAbsDiff(streamed.mu, held.mu) <= 1e-12 * maxAbs(held.mu), 'mu');
  assert.ok(maxAbsDiff(streamed.sigma, held.sigma) <= 1e-10 * maxAbs(held.sigma), 'sigma');
  // Below twice the feature size the features are kept for the small-sample floor, as before.
  const few = { ...o, n: 120 };
  const small = await computeStats(input, extractor, few);
  assert.equal(small.halfSplitFid, statsFromFeatures(await extractFeatures(input, extractor, few)).halfSplitFid);
  assert.ok(small.halfSplitFid! > 0);
  assert.equal(tf.memory().numTensors, tensors);

  // With 1 MB left (GANTRY_MAX_MEMORY_MB above the process's resident memory; the process's memory going down
  // first can only leave more), FID's statistics of 2,000 images (2 MB of features) go through: nothing of that size is asked for.
  const saved = process.env.GANTRY_MAX_MEMORY_MB;
  process.env.GANTRY_MAX_MEMORY_MB = String(process.memoryUsage.rss() / 2 ** 20 + 1);
  try {
    assert.equal((await computeStats(input, extractor, { ...o, n: 2000 })).n, 2000);
    // KID's set of 2,000 features of a network 2^20 wide (8 GB, past any memory left) is refused before an image is drawn.
    const drawn: number[] = [];
    const wide: FeatureExtractor = { ...meanAndMax(Infinity, drawn), id: 'wide', dim: 2 ** 20 };
    await assert.rejects(extractFeatures(input, wide, { ...o, n: 2000 }), /^GantryError: out of memory: .* more would not fit in the .* left \(GANTRY_MAX_MEMORY_MB=.*\): the features of 2000 images are held at once for this score; score fewer images \(--n\)$/);
    assert.deepEqual(drawn, []);
  } finally {
    if (saved === undefined) delete process.env.GANTRY_MAX_MEMORY_MB;
    else process.env.GANTRY_MAX_MEMORY_MB = saved;
  }
  extractor.dispose();
});

test('halfSplitFid: the halves are a random split, so a set in class order (a folder, class after class) does not score its classes against each other', () => {
  const n = 40;
  const dim = 4;
  const features = new Float32Array(n * dim);
  // Two classes, 20 each, one after the other, far apart; within a class a little spread.
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) features[i * dim + j] = (i < 20 ? 0 : 5) + Math.sin(i * 7.1 + j * 3.3);
  const split = halfSplitFid({ features, n, dim });
  // The two classes against each other: the floor that splitting in the middle gave.
  const inOrder = frechetDistance(statsFromFeatures({ features: features.subarray(0, 20 * dim), n: 20, dim }), statsFromFeatures({ features: features.subarray(20 * dim), n: 20, dim }));
  assert.ok(inOrder > 90, `${inOrder}`);
  assert.ok(split < inOrder / 10, `${split} vs ${inOrder}`);
  assert.equal(halfSplitFid({ features, n, dim }), split, 'seeded');
});
