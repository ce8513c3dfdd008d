import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { floatValues, makeFloatTensor } from './backend-data.ts';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };
type KernelFunc = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/**
 * UnsortedSegmentSum (the gradient of gather: word-embedding tables) as one pass that adds each row of
 * x to its segment's row. tfjs's cpu kernel builds a mask per segment, O(segments x rows): 0.4 s per
 * text-encoder step for a 20-word vocabulary, and growing with the vocabulary. Other cases go to tfjs.
 */
export function segmentSumKernels(original: (name: string) => KernelFunc): Record<string, KernelFunc> {
  const unsortedSegmentSum: KernelFunc = (args) => {
    const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
    const backend = args.backend as MathBackendCPU;
    const { numSegments } = args.attrs as unknown as tf.UnsortedSegmentSumAttrs;
    const xv = floatValues(backend, x);
    const ids = backend.data.get(segmentIds.dataId).values;
    if (!xv || !(ids instanceof Int32Array) || x.shape.length < 1 || ids.length !== x.shape[0]) return original('UnsortedSegmentSum')(args);
    const inner = x.shape[0] ? xv.length / x.shape[0] : 0;
    const out = new Float64Array(numSegments * inner); // float64 sums, as tfjs's Sum behind its version
    for (let r = 0; r < ids.length; r++) {
      const s = ids[r];
      if (s < 0 || s >= numSegments) continue; // as TensorFlow: out-of-range ids are dropped
      const src = r * inner;
      const dst = s * inner;
      for (let k = 0; k < inner; k++) out[dst + k] += xv[src + k];
    }
    return makeFloatTensor(backend, [numSegments, ...x.shape.slice(1)], Float32Array.from(out));
  };
  return { UnsortedSegmentSum: unsortedSegmentSum };
}
