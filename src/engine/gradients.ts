import * as tf from '@tensorflow/tfjs-core';
import { leakyReluGradient } from '../kernels/activation.ts';

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

/**
 * How gantry's layers run a convolution or a product with its bias (src/nn/layers.ts): as tfjs's fused
 * kernel, which adds the bias, and applies an activation, as it stores the output. tfjs's fused ops wrap
 * the kernel in a custom gradient that computes the gradient of every input, wanted or not (a
 * discriminator's filter gradients while the generator learns), and fuse an activation only outside
 * training. Here the kernel is recorded itself, under two names: FusedConv2D / _FusedMatMul with a bias
 * and no activation, and gantry's aliases of them with an activation (ReLU or LeakyReLU), whose gradient
 * reads the output (which the next layer keeps anyway) where the plain kernels' keep only their inputs.
 * The gradients are the plain product's, each computed only when asked for, after the activation's, and
 * the bias's sum over the leading axes. tfjs records a kernel's saved outputs before the kernel, so a
 * second derivative does not see the activation's mask depend on the layer: exact in value (that
 * derivative is zero), but a variable reached only that way gets no gradient rather than zeros. Networks
 * differentiated twice (DF-GAN's D under MA-GP) apply their activations apart.
 */
export const FUSED_KERNELS = { FusedConv2D: 'GantryFusedConv2D', _FusedMatMul: 'GantryFusedMatMul' } as const;
export type FusedKernel = keyof typeof FUSED_KERNELS;

/** The name a layer runs: the fused kernel itself without an activation, gantry's alias with one. */
export function fusedKernelName(kernel: FusedKernel, activation: string): string {
  registerFusedGradients();
  if (activation === 'linear') return kernel;
  // The alias runs whatever kernel the backend has under the fused name when it is called.
  const backend = tf.getBackend();
  if (!tf.getKernel(FUSED_KERNELS[kernel], backend)) {
    tf.registerKernel({ kernelName: FUSED_KERNELS[kernel], backendName: backend, kernelFunc: (args) => tf.getKernel(kernel, backend)!.kernelFunc(args) });
  }
  return FUSED_KERNELS[kernel];
}

let fusedGradientsRegistered = false;

function registerFusedGradients(): void {
  if (fusedGradientsRegistered) return;
  fusedGradientsRegistered = true;
  const plain = { FusedConv2D: { kernel: 'Conv2D', inputs: ['x', 'filter'] }, _FusedMatMul: { kernel: 'BatchMatMul', inputs: ['a', 'b'] } } as const;
  for (const kernel of ['FusedConv2D', '_FusedMatMul'] as const) {
    const { kernel: product, inputs } = plain[kernel];
    const gradient = (dz: tf.Tensor, [first, second, bias]: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const leading = dz.shape.slice(0, -1).map((_, i) => i);
      return { ...tf.getGradient(product)!.gradFunc(dz, [first, second], attrs), bias: () => tf.reshape(tf.sum(dz, leading), bias.shape) };
    };
    tf.registerGradient({
      kernelName: kernel, inputsToSave: [...inputs, 'bias'],
      gradFunc: (dy, saved, attrs) => {
        if (((attrs as { activation?: string }).activation ?? 'linear') !== 'linear' || saved.length !== 3) {
          throw new Error(`${kernel}'s gradient is registered for a bias and no activation (tfjs's fused ops record their own)`);
        }
        return gradient(dy as tf.Tensor, saved, attrs);
      },
    });
    tf.registerGradient({
      kernelName: FUSED_KERNELS[kernel], inputsToSave: [...inputs, 'bias'], outputsToSave: [true],
      gradFunc: (dy, saved, attrs) => {
        const { activation, leakyreluAlpha } = attrs as { activation?: string; leakyreluAlpha?: number };
        // The output is positive exactly where the activation's input is (alpha >= 0), so it gives the mask.
        const alpha = activation === 'relu' ? 0 : activation === 'leakyrelu' ? Number(leakyreluAlpha) : NaN;
        if (!(alpha >= 0) || saved.length !== 4) throw new Error(`${FUSED_KERNELS[kernel]}'s gradient takes a bias and ReLU or LeakyReLU with alpha >= 0`);
        // Computed here, not in an input's function: tfjs runs each of those in its own tidy.
        return gradient(leakyReluGradient(dy as tf.Tensor, saved[3], alpha), saved, attrs);
      },
    });
  }
}
