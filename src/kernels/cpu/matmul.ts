import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './native.ts';
import { overwrittenFloats } from './float-pool.ts';
import { floatValues, makeFloatTensor } from './backend-data.ts';
import { applyBiasActivation, supportsEpilogue } from './epilogue.ts';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };
type KernelFunc = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/** Strides (in matrices) of a batch shape, 0 where a dimension of 1 is broadcast. */
function batchStrides(shape: number[], outShape: number[]): number[] {
  const padded = [...new Array(outShape.length - shape.length).fill(1), ...shape];
  const strides = new Array(outShape.length).fill(0);
  let s = 1;
  for (let i = outShape.length - 1; i >= 0; i--) {
    strides[i] = padded[i] === 1 ? 0 : s;
    s *= padded[i];
  }
  return strides;
}

/**
 * Batched matrix product with broadcasting of the batch dimensions, one native SGEMM per matrix;
 * null when the inputs are not float32 (the caller falls back to tfjs).
 */
function batchMatMul(addon: NativeAddon, backend: MathBackendCPU, a: tf.TensorInfo, b: tf.TensorInfo, transA: boolean, transB: boolean): tf.TensorInfo | null {
  const av = floatValues(backend, a);
  const bv = floatValues(backend, b);
  if (!av || !bv || a.shape.length < 2 || b.shape.length < 2) return null;
  const ra = a.shape.length, rb = b.shape.length;
  const M = transA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transA ? a.shape[ra - 2] : a.shape[ra - 1];
  const K2 = transB ? b.shape[rb - 1] : b.shape[rb - 2];
  const N = transB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (K !== K2) return null; // let tfjs raise its own shape error
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const outBatch = tf.backend_util.assertAndGetBroadcastShape(batchA, batchB);
  const sa = batchStrides(batchA, outBatch);
  const sb = batchStrides(batchB, outBatch);
  const count = outBatch.reduce((x, y) => x * y, 1);
  const out = overwrittenFloats(backend, count * M * N);
  const lda = a.shape[ra - 1];
  const ldb = b.shape[rb - 1];
  const index = new Array(outBatch.length).fill(0);
  for (let i = 0; i < count; i++) {
    let ia = 0, ib = 0;
    for (let d = 0; d < outBatch.length; d++) {
      ia += index[d] * sa[d];
      ib += index[d] * sb[d];
    }
    const aMat = count === 1 ? av : av.subarray(ia * M * K, (ia + 1) * M * K);
    const bMat = count === 1 ? bv : bv.subarray(ib * K * N, (ib + 1) * K * N);
    const cMat = count === 1 ? out : out.subarray(i * M * N, (i + 1) * M * N);
    addon.sgemm(transA, transB, M, N, K, 1, aMat, lda, bMat, ldb, 0, cMat, N);
    for (let d = outBatch.length - 1; d >= 0; d--) {
      if (++index[d] < outBatch[d]) break;
      index[d] = 0;
    }
  }
  return makeFloatTensor(backend, [...outBatch, M, N], out);
}

export function nativeMatMulKernels(addon: NativeAddon, original: (name: string) => KernelFunc): Record<string, KernelFunc> {
  const batchMatMulKernel: KernelFunc = (args) => {
    const a = args.attrs as unknown as tf.BatchMatMulAttrs;
    return batchMatMul(addon, args.backend as MathBackendCPU, args.inputs.a as tf.TensorInfo, args.inputs.b as tf.TensorInfo, a.transposeA, a.transposeB) ?? original('BatchMatMul')(args);
  };
  const fusedMatMulKernel: KernelFunc = (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo; preluActivationWeights?: tf.TensorInfo };
    const attrs = args.attrs as unknown as tf._FusedMatMulAttrs;
    const backend = args.backend as MathBackendCPU;
    const n = attrs.transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
    if (!supportsEpilogue(attrs.activation, bias, preluActivationWeights, n)) return original('_FusedMatMul')(args);
    const y = batchMatMul(addon, backend, a, b, attrs.transposeA, attrs.transposeB);
    if (!y) return original('_FusedMatMul')(args);
    applyBiasActivation(addon, floatValues(backend, y)!, n, bias ? floatValues(backend, bias) : null, attrs.activation, attrs.leakyreluAlpha);
    return y;
  };
  return { BatchMatMul: batchMatMulKernel, _FusedMatMul: fusedMatMulKernel };
}
