import * as tf from '@tensorflow/tfjs-core';
import { GantryError } from '../errors.ts';
import { conditionTensor, stackRows, type ConditionRows, type Generator } from './conditions.ts';

/**
 * Images of latent vectors with their conditions (src/explore/conditions.ts), networks in evaluation mode.
 * Used by the CLI's explore commands and the studio.
 */
export function vectorsToImages(run: Generator, vectors: Float32Array[], conditions: ConditionRows): tf.Tensor4D {
  const generate = run.model.generate?.bind(run.model);
  if (!generate) throw new GantryError(`this run (${run.info.family}) does not generate images`);
  return tf.tidy(() => {
    const z = tf.tensor2d(stackRows(vectors), [vectors.length, run.info.latentDim]);
    return generate(z, conditionTensor(conditions));
  });
}
