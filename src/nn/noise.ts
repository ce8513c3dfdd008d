import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/rng.ts';
import { hostInput } from '../engine/host-input.ts';

/** n latent vectors (or any [n, dim] noise) drawn from N(0, I) with the given stream. */
export function sampleLatent(rng: Rng, n: number, dim: number): tf.Tensor2D {
  return tf.tensor2d(rng.fillNormal(new Float32Array(n * dim)), [n, dim]);
}

/**
 * sampleLatent inside a train step: drawn from the step's own stream as a host input, so a replayed
 * WebGPU step draws the next step's noise (the same numbers as sampleLatent(ctx.rng, n, dim)).
 */
export function stepLatent(ctx: { rng: Rng }, n: number, dim: number): tf.Tensor2D {
  return hostInput(ctx, (c) => c.rng.fillNormal(new Float32Array(n * dim)), [n, dim]) as tf.Tensor2D;
}
