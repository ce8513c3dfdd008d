import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { outputFloats } from './float-pool.ts';
import { makeFloatTensor } from './backend-data.ts';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };
type KernelFunc = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/** A recycled float32 array of n elements, each `value`. */
function filledFloats(backend: MathBackendCPU, n: number, value: number): Float32Array {
  const out = outputFloats(backend, n);
  return value === 0 ? out : out.fill(value);
}

/** A float32 tensor of `shape` holding `value`, in a recycled array. */
function filled(backend: MathBackendCPU, shape: number[], value: number): tf.TensorInfo {
  return makeFloatTensor(backend, shape, filledFloats(backend, tf.util.sizeFromShape(shape), value));
}

/**
 * Float32 constants of a shape (Fill: tf.zeros, tf.ones, tf.fill; ZerosLike, OnesLike: the zero gradients a
 * second derivative returns for DF-GAN's activation and pooling masks) and OneHot (pix2pixHD's label maps)
 * in recycled arrays (float-pool.ts) rather than tfjs's fresh ones: a fresh array's first touch costs page
 * faults on every step (DF-GAN's step made 11 MB of zeros a step). The same values; other dtypes go to tfjs.
 */
export function fillKernels(original: (name: string) => KernelFunc): Record<string, KernelFunc> {
  const fill: KernelFunc = (args) => {
    const { shape, value, dtype } = args.attrs as unknown as tf.FillAttrs;
    if (dtype !== 'float32' || typeof value !== 'number') return original('Fill')(args);
    return filled(args.backend as MathBackendCPU, shape, value);
  };
  const like = (name: 'ZerosLike' | 'OnesLike', value: number): KernelFunc => (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    return x.dtype === 'float32' ? filled(args.backend as MathBackendCPU, [...x.shape], value) : original(name)(args);
  };
  const oneHot: KernelFunc = (args) => {
    const indices = args.inputs.indices as tf.TensorInfo;
    const { dtype, depth, onValue, offValue } = args.attrs as unknown as tf.OneHotAttrs;
    const backend = args.backend as MathBackendCPU;
    const ids = backend.data.get(indices.dataId).values;
    if (dtype !== 'float32' || !(ids instanceof Int32Array)) return original('OneHot')(args);
    const out = filledFloats(backend, ids.length * depth, offValue);
    for (let i = 0; i < ids.length; i++) if (ids[i] >= 0 && ids[i] < depth) out[i * depth + ids[i]] = onValue;
    return makeFloatTensor(backend, [...indices.shape, depth], out);
  };
  return { Fill: fill, ZerosLike: like('ZerosLike', 0), OnesLike: like('OnesLike', 1), OneHot: oneHot };
}
