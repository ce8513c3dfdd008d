import * as tf from '@tensorflow/tfjs-core';

/**
 * tfjs has no gradients for comparison ops. They appear inside the gradients of ReLU, LeakyReLU,
 * max-pool etc., so a second backward pass (gradient penalties: R1, MA-GP, WGAN-GP) fails on them.
 * Their true derivative is zero almost everywhere, which is what we register.
 */
const COMPARISON_KERNELS = ['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual'];

export function registerComparisonGradients(): void {
  for (const kernelName of COMPARISON_KERNELS) {
    if (tf.getGradient(kernelName) !== undefined) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: ['a', 'b'],
      gradFunc: (_dy, saved) => {
        const [a, b] = saved as tf.Tensor[];
        return { a: () => tf.zerosLike(a), b: () => tf.zerosLike(b) };
      },
    });
  }
}

/**
 * Sum's and Mean's gradients with the same values as tfjs's (dy times 1; dy times 1 over the count) but
 * broadcast against a tensor of the reduced axes only: tfjs multiplies by ones of the input's full shape,
 * a fresh array each call (DF-GAN's 2x2 mean pools: 28 MB a step, each a garbage collector's cue).
 */
export function registerReductionGradients(): void {
  const gradient = (kernelName: 'Sum' | 'Mean') => tf.registerGradient({
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as tf.Tensor[];
      const axes = tf.util.parseAxisParam((attrs as unknown as tf.SumAttrs).axis, x.shape);
      const kept = x.shape.map((s, d) => (axes.includes(d) ? 1 : s)); // dy's shape with the reduced axes back as 1
      const reduced = x.shape.map((s, d) => (axes.includes(d) ? s : 1));
      const count = reduced.reduce((p, s) => p * s, 1);
      const expanded = tf.reshape(dy as tf.Tensor, kept);
      return { x: () => (kernelName === 'Mean' ? tf.div(expanded, tf.fill(reduced, count)) : tf.mul(expanded, tf.ones(reduced))) };
    },
  });
  gradient('Sum');
  gradient('Mean');
}

/**
 * AvgPoolGrad's gradient, which tfjs lacks, so a penalty differentiates twice through average pooling
 * (DF-GAN's D under MA-GP). The op is linear in dy, dx = A^T dy with A the pooling, so its gradient by dy
 * is A applied to ddx: the same average pooling; its output depends on the input's shape only.
 */
export function registerAvgPoolGradGradient(): void {
  if (tf.getGradient('AvgPoolGrad') !== undefined) return;
  tf.registerGradient({
    kernelName: 'AvgPoolGrad',
    inputsToSave: ['input'],
    gradFunc: (ddx, saved, attrs) => {
      const [input] = saved as tf.Tensor[];
      const a = attrs as unknown as tf.AvgPoolGradAttrs & { dimRoundingMode?: 'floor' | 'round' | 'ceil' };
      return {
        dy: () => tf.avgPool(ddx as tf.Tensor4D, a.filterSize, a.strides, a.pad as 'valid' | 'same' | number, a.dimRoundingMode),
        input: () => tf.zerosLike(input),
      };
    },
  });
}
