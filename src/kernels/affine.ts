import * as tf from '@tensorflow/tfjs-core';

/**
 * DF-GAN's Affine modulation as one kernel, NHWC: y = x * gamma + beta, gamma and beta one value per
 * image and channel ([n, c]). Its gradient is one kernel too: dx = dy * gamma, and per image and channel
 * dgamma = sum over pixels of dy * x, dbeta = sum of dy. The tfjs-op form (src/nn/dfgan-blocks.ts,
 * broadcasting multiply and add) runs where these are not registered and is their reference. First
 * order only: DF-GAN's gradient penalty differentiates D twice, never G.
 */
export const AFFINE = 'GantryAffine';
export const AFFINE_GRAD = 'GantryAffineGrad';
export const AFFINE_KERNELS = [AFFINE, AFFINE_GRAD] as const;

let gradientRegistered = false;

/** The gradient of AFFINE (backend-independent; registered once, by whichever backend registers the kernels). */
export function registerAffineGradient(): void {
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: AFFINE, inputsToSave: ['x', 'gamma'],
    gradFunc: (dy, saved) => {
      const [x, gamma] = saved;
      // One kernel gives all three, run here: tfjs calls each input's function in its own tidy, which
      // would dispose the other two if they were made inside one of them.
      const [dx, dgamma, dbeta] = tf.engine().runKernel(AFFINE_GRAD, { dy: dy as tf.Tensor, x, gamma }) as tf.Tensor[];
      return { x: () => dx, gamma: () => dgamma, beta: () => dbeta };
    },
  });
}
