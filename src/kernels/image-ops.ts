import * as tf from '@tensorflow/tfjs-core';

/**
 * pix2pixHD's per-image ops as single kernels, NHWC, each with its gradient as a kernel: reflection
 * padding, the 3x3 stride-2 average pooling that does not count padded pixels, instance norm
 * (affine-free). The cpu backend runs them in the native addon or JavaScript (cpu/image-ops.ts), the
 * webgpu backend in WGSL (gpu/kernels/image-ops.ts); the gradients below are the same for both. On webgpu
 * also the feature encoder's instance means (INSTANCE_MEANS). src/nn/pix2pixhd.ts keeps the tfjs-op forms
 * for backends without them and as the reference.
 */
export const REFLECTION_PAD = 'GantryReflectionPad';
export const REFLECTION_PAD_GRAD = 'GantryReflectionPadGrad';
export const AVG_POOL_3X3S2 = 'GantryAvgPool3x3s2';
export const AVG_POOL_3X3S2_GRAD = 'GantryAvgPool3x3s2Grad';
export const INSTANCE_NORM = 'GantryInstanceNorm';
export const INSTANCE_NORM_GRAD = 'GantryInstanceNormGrad';
/**
 * The feature encoder's instance-wise average pooling: x [n, H, W, C] with ids [n, H, W] (int32, below
 * INSTANCE_IDS), each pixel's features replaced by their mean over the pixels of its image with its id.
 * Linear and self-adjoint (an average over each instance), so its gradient is the op on dy. A webgpu
 * kernel only: on the cpu, tfjs's segment sums already add in one order.
 */
export const INSTANCE_MEANS = 'GantryInstanceMeans';
/** Instance ids run below this: 16-bit instance maps hold them (the WebGPU kernel's table per image). */
export const INSTANCE_IDS = 65536;

export const IMAGE_OP_KERNELS = [REFLECTION_PAD, REFLECTION_PAD_GRAD, AVG_POOL_3X3S2, AVG_POOL_3X3S2_GRAD, INSTANCE_NORM, INSTANCE_NORM_GRAD] as const;

/** Output size of the 3x3 / 2 pooling with padding 1. */
export const pooledSize = (size: number) => Math.floor((size - 1) / 2) + 1;

let gradientsRegistered = false;

/** The ops' gradients (backend-independent; registered once, by whichever backend registers the kernels). */
export function registerImageOpGradients(): void {
  if (gradientsRegistered) return;
  gradientsRegistered = true;
  const run = (name: string, inputs: tf.NamedTensorMap, attrs?: tf.NamedAttrMap) => tf.engine().runKernel(name, inputs, attrs) as tf.Tensor;
  // Both are linear: each one's gradient is the other.
  tf.registerGradient({ kernelName: REFLECTION_PAD, gradFunc: (dy, _saved, attrs) => ({ x: () => run(REFLECTION_PAD_GRAD, { dy: dy as tf.Tensor }, attrs) }) });
  tf.registerGradient({ kernelName: REFLECTION_PAD_GRAD, gradFunc: (ddx, _saved, attrs) => ({ dy: () => run(REFLECTION_PAD, { x: ddx as tf.Tensor }, attrs) }) });
  tf.registerGradient({
    kernelName: AVG_POOL_3X3S2, inputsToSave: ['x'],
    gradFunc: (dy, saved) => ({ x: () => run(AVG_POOL_3X3S2_GRAD, { dy: dy as tf.Tensor }, { height: saved[0].shape[1]!, width: saved[0].shape[2]! }) }),
  });
  tf.registerGradient({ kernelName: AVG_POOL_3X3S2_GRAD, gradFunc: (ddx) => ({ dy: () => run(AVG_POOL_3X3S2, { x: ddx as tf.Tensor }) }) });
  tf.registerGradient({
    kernelName: INSTANCE_MEANS, inputsToSave: ['ids'],
    gradFunc: (dy, saved) => ({ x: () => run(INSTANCE_MEANS, { x: dy as tf.Tensor, ids: saved[0] }), ids: () => tf.zerosLike(saved[0]) }),
  });
  tf.registerGradient({
    kernelName: INSTANCE_NORM, outputsToSave: [true, true],
    gradFunc: (dys, saved) => {
      // Only y carries a gradient: invStd is the backward pass's own input.
      const dy = Array.isArray(dys) ? dys[0] : dys;
      const [y, invStd] = saved;
      return { x: () => run(INSTANCE_NORM_GRAD, { dy, y, invStd }) };
    },
  });
}
