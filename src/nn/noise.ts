import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/rng.ts';

/** n latent vectors (or any [n, dim] noise) drawn from N(0, I) with the given stream. */
export function sampleLatent(rng: Rng, n: number, dim: number): tf.Tensor2D {
  return tf.tensor2d(rng.fillNormal(new Float32Array(n * dim)), [n, dim]);
}
