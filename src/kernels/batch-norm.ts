import * as tf from '@tensorflow/tfjs-core';
import { ownKernel } from './registry.ts';

/**
 * Training-mode batch norm over every axis but the last as one kernel, as PyTorch's BatchNorm2d forward
 * (and cuDNN's) runs it: inputs x, gamma, beta, runningMean, runningVar, attributes eps, momentum; outputs
 * y = gamma * (x - mean) / sqrt(variance + eps) + beta, the batch's mean and biased variance ([c] each),
 * and the running estimates moved towards them (runningStatsFactors), which the layer assigns. Its
 * gradient is one kernel too: inputs dy, x, gamma, mean, variance; outputs dx, dgamma = sum(dy * xhat),
 * dbeta = sum(dy). The cpu backend has both in the addon (cpu/fused.ts), webgpu in WGSL
 * (gpu/kernels/batch-norm.ts); elsewhere BatchNorm2d builds the op from tfjs ops (nn/layers.ts), the
 * reference in tests. First order only: inside twiceDifferentiable (engine/backward.ts: R1's pass of the
 * real images) BatchNorm2d runs tfjs's ops instead.
 */
export const BATCH_NORM_TRAIN = 'GantryBatchNormTrain';
export const BATCH_NORM_TRAIN_GRAD = 'GantryBatchNormTrainGrad';
export const BATCH_NORM_KERNELS = [BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD] as const;

let gradientRegistered = false;

/** The gradient of BATCH_NORM_TRAIN (backend-independent; registered once, by whichever backend registers the kernels). */
export function registerBatchNormGradient(): void {
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAIN,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true, true, false, false],
    gradFunc: (dys, saved, attrs) => {
      // Only y carries a gradient: the statistics feed the running estimates, never a loss.
      const dy = Array.isArray(dys) ? dys[0] : dys;
      const [x, gamma, mean, variance] = saved;
      // One kernel gives all three, run here: tfjs calls each input's function in its own tidy, which
      // would dispose the other two if they were made inside one of them.
      const [dx, dgamma, dbeta] = tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, { dy, x, gamma, mean, variance }, attrs) as tf.Tensor[];
      return { x: () => dx, gamma: () => dgamma, beta: () => dbeta, runningMean: () => tf.zerosLike(mean), runningVar: () => tf.zerosLike(variance) };
    },
  });
}

/**
 * PyTorch's update of the running estimates after a batch of `rows` rows, which every backend's kernel
 * computes as new = keep * running + momentum * statistic, the variance first multiplied by `unbiased`.
 */
export function runningStatsFactors(momentum: number, rows: number): { keep: number; momentum: number; unbiased: number } {
  return { keep: 1 - momentum, momentum, unbiased: rows / Math.max(rows - 1, 1) };
}

export interface BatchNormTrainResult {
  y: tf.Tensor;
  mean: tf.Tensor;
  variance: tf.Tensor;
  runningMean: tf.Tensor;
  runningVar: tf.Tensor;
}

/** Training-mode batch norm as the one kernel, or null where the running backend has none. */
export function fusedBatchNormTrain(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, running: { mean: tf.Tensor; variance: tf.Tensor }, eps: number, momentum: number): BatchNormTrainResult | null {
  if (!ownKernel(BATCH_NORM_TRAIN) || x.dtype !== 'float32') return null;
  const inputs = { x, gamma, beta, runningMean: running.mean, runningVar: running.variance };
  const [y, mean, variance, runningMean, runningVar] = tf.engine().runKernel(BATCH_NORM_TRAIN, inputs, { eps, momentum }) as tf.Tensor[];
  return { y, mean, variance, runningMean, runningVar };
}
