import type * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { overwrittenFloats } from './float-pool.ts';
import { floatValues, makeFloatTensor } from './backend-data.ts';
import type { NativeAddon } from './native.ts';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };
type KernelFunc = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/**
 * Element-wise float32 functions with tfjs's formulas, into recycled arrays (float-pool.ts): tfjs's kernels
 * write a fresh array each (two for |x|), whose first touch costs page faults, and over large maps (a
 * generator's tanh, squared errors, VGG19's L1 distances) the garbage collections they bring cost more
 * than the loop. Each loop is written out so that its function inlines. Other dtypes go to tfjs's kernels.
 * Where the addon loads, tanh is its vectorised polynomial: V8's Math.tanh is a scalar libm call, and a
 * generator's last layer is one over every pixel.
 */
export function unaryKernels(original: (name: string) => KernelFunc, addon: NativeAddon | null): Record<string, KernelFunc> {
  const kernel = (name: string, loop: (x: Float32Array, y: Float32Array) => void): KernelFunc => (args) => {
    const backend = args.backend as MathBackendCPU;
    const x = args.inputs.x as tf.TensorInfo;
    const xv = floatValues(backend, x);
    if (!xv) return original(name)(args);
    const y = overwrittenFloats(backend, xv.length);
    loop(xv, y);
    return makeFloatTensor(backend, [...x.shape], y);
  };
  return {
    Tanh: kernel('Tanh', addon ? (x, y) => addon.tanh(x.length, x, y) : (x, y) => { for (let i = 0; i < x.length; i++) y[i] = Math.tanh(x[i]); }),
    Sigmoid: kernel('Sigmoid', (x, y) => { for (let i = 0; i < x.length; i++) y[i] = 1 / (1 + Math.exp(-x[i])); }),
    Exp: kernel('Exp', (x, y) => { for (let i = 0; i < x.length; i++) y[i] = Math.exp(x[i]); }),
    Sqrt: kernel('Sqrt', (x, y) => { for (let i = 0; i < x.length; i++) y[i] = Math.sqrt(x[i]); }),
    Square: kernel('Square', (x, y) => { for (let i = 0; i < x.length; i++) y[i] = x[i] * x[i]; }),
    Abs: kernel('Abs', (x, y) => { for (let i = 0; i < x.length; i++) y[i] = Math.abs(x[i]); }),
  };
}
