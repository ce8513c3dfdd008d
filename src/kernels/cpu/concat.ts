import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { overwrittenFloats } from './float-pool.ts';
import { floatValues, makeFloatTensor } from './backend-data.ts';
import type { NativeAddon } from './native.ts';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };
type KernelFunc = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/** rows of `width` values from src (row length srcRow, starting at srcOffset) to dst (dstRow, dstOffset). */
function copyRows(addon: NativeAddon | null, src: Float32Array, srcRow: number, srcOffset: number, dst: Float32Array, dstRow: number, dstOffset: number, width: number, rows: number): void {
  if (addon) return addon.copyRows(rows, width, src, srcRow, srcOffset, dst, dstRow, dstOffset);
  // Narrow rows (a label map's channels beside an image's three) by element: a subarray per row costs more.
  if (width < 32) {
    for (let r = 0; r < rows; r++) {
      const [s, d] = [r * srcRow + srcOffset, r * dstRow + dstOffset];
      for (let k = 0; k < width; k++) dst[d + k] = src[s + k];
    }
    return;
  }
  for (let r = 0; r < rows; r++) dst.set(src.subarray(r * srcRow + srcOffset, r * srcRow + srcOffset + width), r * dstRow + dstOffset);
}

/**
 * Concatenation along the last axis (Inception's branch concat, U-Net skips; NHWC) and its inverse,
 * splitting along the last axis (concat's gradient), as one row copy per part per row. tfjs's generic
 * strided versions took seconds per U-Net step. Other cases go to tfjs's kernels. The rows are copied by
 * the addon where it loads.
 */
export function concatKernels(original: (name: string) => KernelFunc, addon: NativeAddon | null): Record<string, KernelFunc> {
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
    const out = overwrittenFloats(backend, rows * total);
    let offset = 0;
    inputs.forEach((_, k) => {
      const v = values[k]!;
      const w = widths[k];
      copyRows(addon, v, w, 0, out, total, offset, w, rows);
      offset += w;
    });
    return makeFloatTensor(backend, [...lead, total], out);
  };
  const splitV: KernelFunc = (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const backend = args.backend as MathBackendCPU;
    const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs;
    const rank = x.shape.length;
    const ax = tf.util.parseAxisParam(axis, x.shape)[0];
    const xv = floatValues(backend, x);
    if (!xv || rank < 2 || ax !== rank - 1) return original('SplitV')(args);
    const total = x.shape[rank - 1];
    const widths = typeof numOrSizeSplits === 'number' ? new Array(numOrSizeSplits).fill(total / numOrSizeSplits) : [...numOrSizeSplits];
    const known = widths.filter((w) => w !== -1).reduce((a, b) => a + b, 0);
    const filled = widths.map((w) => (w === -1 ? total - known : w));
    const rows = xv.length / total;
    const lead = x.shape.slice(0, -1);
    let offset = 0;
    return filled.map((w) => {
      const out = overwrittenFloats(backend, rows * w);
      copyRows(addon, xv, total, offset, out, w, 0, w, rows);
      offset += w;
      return makeFloatTensor(backend, [...lead, w], out);
    });
  };
  return { Concat: concat, SplitV: splitV };
}
