import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/rng.ts';

/** Weight initialisers, all drawn from gantry's seeded streams (never tfjs's global RNG). */
export type Init =
  | { kind: 'normal'; mean?: number; std: number }
  | { kind: 'uniform'; bound: number }
  | { kind: 'constant'; value: number };

export function initTensor(shape: number[], init: Init, rng: Rng): tf.Tensor {
  const size = tf.util.sizeFromShape(shape);
  const values = new Float32Array(size);
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
