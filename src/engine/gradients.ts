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
