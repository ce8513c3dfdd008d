import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './native.ts';
import { outputFloats, overwrittenFloats } from './float-pool.ts';
import { floatValues, makeFloatTensor, requiredFloats } from './backend-data.ts';
import { LEAKY_RELU_GRAD, registerActivationGradients } from '../activation.ts';
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, registerBatchNormGradient, runningStatsFactors } from '../batch-norm.ts';

/**
 * Fused kernels that replace chains of broadcasting tfjs ops in a training step: batch norm (forward
 * and gradient) and the ReLU / LeakyReLU / Abs gradients. Each is a tfjs kernel with a registered gradient,
 * so autograd sees one op; the activation gradients are themselves differentiable (double backprop).
 */

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

export function registerFusedKernels(addon: NativeAddon): string[] {
  tf.registerKernel({
    kernelName: BATCH_NORM_TRAIN,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }: KernelArgs) => {
      const b = backend as MathBackendCPU;
      const x = inputs.x as tf.TensorInfo;
      const c = x.shape[x.shape.length - 1];
      const rows = x.shape.reduce((p, q) => p * q, 1) / c;
      const y = overwrittenFloats(b, rows * c);
      const mean = outputFloats(b, c);
      const variance = outputFloats(b, c);
      addon.batchNormForward(rows, c, requiredFloats(b, x, 'x'), requiredFloats(b, inputs.gamma, 'gamma'), requiredFloats(b, inputs.beta, 'beta'),
        Number(attrs?.eps), y, mean, variance);
      const { keep, momentum, unbiased } = runningStatsFactors(Number(attrs?.momentum), rows);
      const [runningMean, runningVar] = [requiredFloats(b, inputs.runningMean, 'runningMean'), requiredFloats(b, inputs.runningVar, 'runningVar')];
      const [newMean, newVar] = [overwrittenFloats(b, c), overwrittenFloats(b, c)];
      for (let k = 0; k < c; k++) {
        newMean[k] = keep * runningMean[k] + momentum * mean[k];
        newVar[k] = keep * runningVar[k] + momentum * variance[k] * unbiased;
      }
      return [y, mean, variance, newMean, newVar].map((v, i) => makeFloatTensor(b, i ? [c] : x.shape, v));
    },
  });
  tf.registerKernel({
    kernelName: BATCH_NORM_TRAIN_GRAD,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }: KernelArgs) => {
      const b = backend as MathBackendCPU;
      const x = inputs.x as tf.TensorInfo;
      const c = x.shape[x.shape.length - 1];
      const rows = x.shape.reduce((p, q) => p * q, 1) / c;
      const dx = overwrittenFloats(b, rows * c);
      const dgamma = outputFloats(b, c);
      const dbeta = outputFloats(b, c);
      addon.batchNormBackward(rows, c, requiredFloats(b, inputs.dy, 'dy'), requiredFloats(b, x, 'x'), requiredFloats(b, inputs.gamma, 'gamma'),
        requiredFloats(b, inputs.mean, 'mean'), requiredFloats(b, inputs.variance, 'variance'), Number(attrs?.eps), dx, dgamma, dbeta);
      return [makeFloatTensor(b, x.shape, dx), makeFloatTensor(b, [c], dgamma), makeFloatTensor(b, [c], dbeta)];
    },
  });
  registerBatchNormGradient();

  tf.registerKernel({
    kernelName: LEAKY_RELU_GRAD,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }: KernelArgs) => {
      const b = backend as MathBackendCPU;
      const x = inputs.x as tf.TensorInfo;
      const n = x.shape.reduce((p, q) => p * q, 1);
      const dx = overwrittenFloats(b, n);
      addon.leakyReluGrad(n, requiredFloats(b, inputs.dy, 'dy'), requiredFloats(b, x, 'x'), Number(attrs?.alpha ?? 0), dx);
      return makeFloatTensor(b, x.shape, dx);
    },
  });
  registerActivationGradients();
  const activation = (alphaOf: (attrs?: tf.NamedAttrMap) => number) => ({ inputs, backend, attrs }: KernelArgs) => {
    const b = backend as MathBackendCPU;
    const x = inputs.x as tf.TensorInfo;
    const xv = floatValues(b, x);
    if (!xv) throw new Error('activation input must be float32');
    const y = overwrittenFloats(b, xv.length);
    addon.leakyRelu(xv.length, xv, alphaOf(attrs), y);
    return makeFloatTensor(b, x.shape, y);
  };
  for (const [name, alphaOf] of [['LeakyRelu', (attrs?: tf.NamedAttrMap) => Number(attrs?.alpha)], ['Relu', () => 0]] as const) {
    const original = tf.getKernel(name, 'cpu');
    const fast = activation(alphaOf);
    tf.unregisterKernel(name, 'cpu');
    // Integer inputs (rare) keep tfjs's own kernel.
    tf.registerKernel({ kernelName: name, backendName: 'cpu', kernelFunc: ((args: KernelArgs) => ((args.inputs.x as tf.TensorInfo).dtype === 'float32' ? fast(args) : original!.kernelFunc(args as Parameters<tf.KernelFunc>[0]))) as tf.KernelFunc });
  }
  return [BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, LEAKY_RELU_GRAD, 'LeakyRelu (gradient)', 'Relu (gradient)', 'Abs (gradient)'];
}

/** FusedBatchNorm's per-channel inputs besides x. */
const STATISTICS = ['mean', 'variance', 'scale', 'offset'] as const;

/**
 * Evaluation-mode batch norm (tf.batchNorm, tfjs's FusedBatchNorm): one pass of the addon's per-channel
 * x * scale + shift, the training kernel's formula, where tfjs's is a JavaScript loop. Statistics shaped
 * otherwise than one value per channel, and other dtypes, go to tfjs's kernel.
 */
export function nativeBatchNormKernels(addon: NativeAddon, original: (name: string) => tf.KernelFunc): Record<string, tf.KernelFunc> {
  const kernelFunc = (args: KernelArgs) => {
    const b = args.backend as MathBackendCPU;
    const x = args.inputs.x as tf.TensorInfo;
    const c = x.shape[x.shape.length - 1];
    const stats = STATISTICS.map((name) => args.inputs[name] as tf.TensorInfo | undefined);
    const perChannel = (t: tf.TensorInfo | undefined) => !t || (t.dtype === 'float32' && t.shape.length === 1 && t.shape[0] === c);
    if (x.dtype !== 'float32' || !stats.every(perChannel)) return original('FusedBatchNorm')(args as Parameters<tf.KernelFunc>[0]);
    const [mean, variance, gamma, beta] = stats.map((t, i) => (t ? requiredFloats(b, t, STATISTICS[i]) : null));
    const eps = Number(args.attrs?.varianceEpsilon ?? 0.001);
    const scale = new Float32Array(c), shift = new Float32Array(c);
    for (let k = 0; k < c; k++) {
      scale[k] = (gamma ? gamma[k] : 1) / Math.sqrt(variance![k] + eps);
      shift[k] = (beta ? beta[k] : 0) - mean![k] * scale[k];
    }
    const rows = x.shape.reduce((p, q) => p * q, 1) / c;
    const y = overwrittenFloats(b, rows * c);
    addon.affine(1, rows, c, requiredFloats(b, x, 'x'), scale, shift, y);
    return makeFloatTensor(b, x.shape, y);
  };
  return { FusedBatchNorm: kernelFunc as tf.KernelFunc };
}
