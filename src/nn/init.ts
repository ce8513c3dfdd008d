import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/rng.ts';
import { floatsForTensor } from '../kernels/cpu/float-pool.ts';

/** Weight initialisers, all drawn from gantry's seeded streams (never tfjs's global RNG). */
export type Init =
  | { kind: 'normal'; mean?: number; std: number }
  | { kind: 'uniform'; bound: number }
  | { kind: 'constant'; value: number };

let placeholderDepth = 0;

/**
 * Runs build with every weight made as zeros instead of drawn: for networks whose weights are read from a
 * file straight after (a run's checkpoint, an export, NVIDIA's .pth), where the draws would be thrown
 * away (9 s for the 183 M weights of NVIDIA's label2city generator, longer in a page). Whoever builds this
 * way must then set every weight that is used.
 */
export function withPlaceholderWeights<T>(build: () => T): T {
  placeholderDepth++;
  try {
    return build();
  } finally {
    placeholderDepth--;
  }
}

export function initTensor(shape: number[], init: Init, rng: Rng): tf.Tensor {
  if (placeholderDepth > 0) return tf.zeros(shape);
  const size = tf.util.sizeFromShape(shape);
  const values = floatsForTensor(size);
  switch (init.kind) {
    case 'normal':
      rng.fillNormal(values, init.mean ?? 0, init.std);
      break;
    case 'uniform':
      for (let i = 0; i < size; i++) values[i] = (2 * rng.uniform() - 1) * init.bound;
      break;
    case 'constant':
      values.fill(init.value);
      break;
  }
  return tf.tensor(values, shape);
}

/** PyTorch's default for conv and linear weights: U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
export function torchDefaultInit(fanIn: number): Init {
  return { kind: 'uniform', bound: 1 / Math.sqrt(fanIn) };
}
