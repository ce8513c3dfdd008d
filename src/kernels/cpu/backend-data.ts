import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

/** The float32 values of a cpu-backend tensor, without a copy; null when it is not float32. */
export function floatValues(backend: MathBackendCPU, t: tf.TensorInfo): Float32Array | null {
  if (t.dtype !== 'float32') return null;
  const values = backend.data.get(t.dataId).values;
  return values instanceof Float32Array ? values : null;
}

/** floatValues of a kernel input that must be float32: throws naming it otherwise. */
export function requiredFloats(backend: MathBackendCPU, t: tf.TensorInfo | undefined, what: string): Float32Array {
  const v = t ? floatValues(backend, t) : null;
  if (!v) throw new Error(`${what} must be a float32 tensor`);
  return v;
}

export function makeFloatTensor(backend: MathBackendCPU, shape: number[], values: Float32Array): tf.TensorInfo {
  return backend.makeTensorInfo(shape, 'float32', values);
}

/**
 * The values of a float32 tensor as a Float32Array to read: its own array, or a copy where tfjs's Cast
 * left a bool or int32 array under the float32 dtype (a mask from notEqual, cast: tfjs shares the
 * array instead of converting it). Null when not float32, or for integers a float32 cannot hold exactly.
 */
export function readableFloats(backend: MathBackendCPU, t: tf.TensorInfo): Float32Array | null {
  if (t.dtype !== 'float32') return null;
  const values = backend.data.get(t.dataId).values;
  if (values instanceof Float32Array) return values;
  if (values instanceof Uint8Array) return Float32Array.from(values);
  if (values instanceof Int32Array && values.every((v) => Math.abs(v) <= 2 ** 24)) return Float32Array.from(values);
  return null;
}
