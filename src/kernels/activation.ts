import * as tf from '@tensorflow/tfjs-core';
import { ownKernel } from './registry.ts';

/**
 * ReLU's and LeakyReLU's gradient as one kernel, dx = x > 0 ? dy : alpha * dy (inputs dy, x; attribute
 * alpha, 0 for ReLU), itself differentiable: d(dx)/d(dy) is the same mask, d(dx)/dx zero almost
 * everywhere, so gradient penalties (R1, MA-GP) differentiate through it. The cpu backend has it in the
 * addon (cpu/fused.ts), webgpu in WGSL (gpu/tfjs-kernels.ts); elsewhere the gradients below are tfjs's
 * op form, where(x > 0, dy, alpha * dy), which the comparison ops' gradients (engine/gradients.ts) make
 * twice differentiable.
 */
export const LEAKY_RELU_GRAD = 'GantryLeakyReluGrad';

let registered = false;

/** x > 0 ? dy : alpha * dy: the kernel where the backend has it, else tfjs's ops. */
export function leakyReluGradient(dy: tf.Tensor, x: tf.Tensor, alpha: number): tf.Tensor {
  if (!ownKernel(LEAKY_RELU_GRAD)) return tf.where(tf.greater(x, 0), dy, tf.mul(dy, alpha));
  return tf.engine().runKernel(LEAKY_RELU_GRAD, { dy, x }, { alpha }) as tf.Tensor;
}

/** ReLU's, LeakyReLU's, |x|'s and the kernel's own gradients (backend-independent; once, by whichever backend registers the kernel). */
export function registerActivationGradients(): void {
  if (registered) return;
  registered = true;
  const activationGrad = (alphaOf: (attrs: tf.NamedAttrMap) => number) => (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const [x] = saved;
    if (x.dtype !== 'float32') return { x: () => tf.zerosLike(x) };
    return { x: () => leakyReluGradient(dy as tf.Tensor, x, alphaOf(attrs)) };
  };
  tf.registerGradient({ kernelName: 'LeakyRelu', inputsToSave: ['x'], gradFunc: activationGrad((attrs) => Number(attrs.alpha)) });
  tf.registerGradient({ kernelName: 'Relu', inputsToSave: ['x'], gradFunc: activationGrad(() => 0) });
  // |x|'s gradient as tfjs defines it, dy * step(x, -1) (-dy at 0, too), is the leaky gradient with alpha -1:
  // one pass instead of Step and Multiply over L1 losses' large feature maps (VGG19's, feature matching's).
  tf.registerGradient({
    kernelName: 'Abs', inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      if (!ownKernel(LEAKY_RELU_GRAD) || x.dtype !== 'float32') return { x: () => tf.mul(dy as tf.Tensor, tf.step(tf.cast(x, 'float32'), -1)) };
      return { x: () => tf.engine().runKernel(LEAKY_RELU_GRAD, { dy: dy as tf.Tensor, x }, { alpha: -1 }) as tf.Tensor };
    },
  });
  tf.registerGradient({
    kernelName: LEAKY_RELU_GRAD,
    inputsToSave: ['x'],
    gradFunc: (ddx, saved, attrs) => {
      const [x] = saved;
      return {
        dy: () => tf.engine().runKernel(LEAKY_RELU_GRAD, { dy: ddx as tf.Tensor, x }, attrs) as tf.Tensor,
        x: () => tf.zerosLike(x),
      };
    },
  });
}
