import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { overwrittenFloats } from './float-pool.ts';
import { makeFloatTensor, requiredFloats } from './backend-data.ts';
import type { NativeAddon } from './native.ts';
import { AFFINE, AFFINE_GRAD, AFFINE_KERNELS, registerAffineGradient } from '../affine.ts';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };

/** y = x * gamma + beta, rounded as the broadcasting multiply then add round it. */
function affineLoop(n: number, area: number, c: number, x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array): void {
  for (let r = 0; r < n * area; r++) {
    const s = Math.floor(r / area) * c;
    for (let k = 0; k < c; k++) y[r * c + k] = Math.fround(x[r * c + k] * gamma[s + k]) + beta[s + k];
  }
}

/** dx = dy * gamma; dgamma, dbeta: per image and channel, sums of dy * x (float32 products) and of dy, in double. */
function affineGradLoop(n: number, area: number, c: number, dy: Float32Array, x: Float32Array, gamma: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array): void {
  const sg = new Float64Array(c);
  const sb = new Float64Array(c);
  for (let s = 0; s < n; s++) {
    sg.fill(0);
    sb.fill(0);
    for (let p = 0; p < area; p++) {
      const at = (s * area + p) * c;
      for (let k = 0; k < c; k++) {
        dx[at + k] = dy[at + k] * gamma[s * c + k];
        sg[k] += Math.fround(dy[at + k] * x[at + k]);
        sb[k] += dy[at + k];
      }
    }
    dgamma.set(sg, s * c);
    dbeta.set(sb, s * c);
  }
}

/**
 * DF-GAN's Affine and its gradient (src/kernels/affine.ts) on the cpu backend: the addon's threaded loops,
 * or the same loops in JavaScript; both give the broadcasting ops' bits.
 */
export function registerAffineKernels(addon: NativeAddon | null): string[] {
  const forward = addon ? addon.affine.bind(addon) : affineLoop;
  const backward = addon ? addon.affineGrad.bind(addon) : affineGradLoop;
  tf.registerKernel({
    kernelName: AFFINE, backendName: 'cpu',
    kernelFunc: ((args: KernelArgs) => {
      const b = args.backend as MathBackendCPU;
      const x = args.inputs.x as tf.TensorInfo;
      const [n, h, w, c] = x.shape;
      const y = overwrittenFloats(b, n * h * w * c);
      forward(n, h * w, c, requiredFloats(b, x, 'x'), requiredFloats(b, args.inputs.gamma as tf.TensorInfo, 'gamma'), requiredFloats(b, args.inputs.beta as tf.TensorInfo, 'beta'), y);
      return makeFloatTensor(b, x.shape, y);
    }) as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: AFFINE_GRAD, backendName: 'cpu',
    kernelFunc: ((args: KernelArgs) => {
      const b = args.backend as MathBackendCPU;
      const x = args.inputs.x as tf.TensorInfo;
      const [n, h, w, c] = x.shape;
      const dx = overwrittenFloats(b, n * h * w * c);
      const dgamma = overwrittenFloats(b, n * c);
      const dbeta = overwrittenFloats(b, n * c);
      backward(n, h * w, c, requiredFloats(b, args.inputs.dy as tf.TensorInfo, 'dy'), requiredFloats(b, x, 'x'), requiredFloats(b, args.inputs.gamma as tf.TensorInfo, 'gamma'), dx, dgamma, dbeta);
      return [makeFloatTensor(b, x.shape, dx), makeFloatTensor(b, [n, c], dgamma), makeFloatTensor(b, [n, c], dbeta)];
    }) as tf.KernelFunc,
  });
  registerAffineGradient();
  return [...AFFINE_KERNELS];
}
