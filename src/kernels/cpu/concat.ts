import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { floatValues, makeFloatTensor } from './backend-data.ts';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };
type KernelFunc = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/**
 * Concatenation of float32 tensors along their last axis (Inception's branch concat, NHWC) as one row
 * copy per input per row; other cases go to tfjs's kernel.
 */
export function concatKernels(original: (name: string) => KernelFunc): Record<string, KernelFunc> {
  const concat: KernelFunc = (args) => {
    const inputs = Object.values(args.inputs) as tf.TensorInfo[];
    const backend = args.backend as MathBackendCPU;
    const rank = inputs[0]?.shape.length ?? 0;
    const axis = tf.util.parseAxisParam((args.attrs as unknown as tf.ConcatAttrs).axis, inputs[0]?.shape ?? [])[0];
    const values = inputs.map((t) => floatValues(backend, t));
    if (rank < 2 || axis !== rank - 1 || values.some((v) => !v) || inputs.some((t) => t.shape.length !== rank)) return original('Concat')(args);
    const lead = inputs[0].shape.slice(0, -1);
    if (inputs.some((t) => !tf.util.arraysEqual(t.shape.slice(0, -1), lead))) return original('Concat')(args);
    const rows = lead.reduce((a, b) => a * b, 1);
    const widths = inputs.map((t) => t.shape[rank - 1]);
    const total = widths.reduce((a, b) => a + b, 0);
    const out = new Float32Array(rows * total);
    let offset = 0;
    inputs.forEach((_, k) => {
      const v = values[k]!;
      const w = widths[k];
      for (let r = 0; r < rows; r++) out.set(v.subarray(r * w, (r + 1) * w), r * total + offset);
      offset += w;
    });
    return makeFloatTensor(backend, [...lead, total], out);
  };
  return { Concat: concat };
}
