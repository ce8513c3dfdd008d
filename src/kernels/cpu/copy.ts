import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { outputFloats, overwrittenFloats } from './float-pool.ts';
import { floatValues, makeFloatTensor, readableFloats } from './backend-data.ts';
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
 * Copies the box of `size` at srcStart in src (row-major, srcShape) to dstStart in dst (dstShape): a pad
 * (dst larger) or a slice (src larger). The trailing axes the box spans whole on both sides are one
 * contiguous run; the axis before them walks rows (one copyRows call), the axes before that by count.
 */
function copyBox(addon: NativeAddon | null, src: Float32Array, srcShape: readonly number[], srcStart: readonly number[], dst: Float32Array, dstShape: readonly number[], dstStart: readonly number[], size: readonly number[]): void {
  if (size.some((s) => s === 0)) return;
  const rank = size.length;
  if (rank === 0) return copyRows(addon, src, 1, 0, dst, 1, 0, 1, 1);
  let k = rank - 1;
  while (k > 0 && size[k] === srcShape[k] && size[k] === dstShape[k]) k--;
  // Row-major strides of every axis (tfjs's leave out the last, whose stride is 1).
  const srcStrides = [...tf.util.computeStrides(srcShape as number[]), 1];
  const dstStrides = [...tf.util.computeStrides(dstShape as number[]), 1];
  const width = size[k] * srcStrides[k];
  const rows = k > 0 ? size[k - 1] : 1;
  const [srcRow, dstRow] = k > 0 ? [srcStrides[k - 1], dstStrides[k - 1]] : [srcShape[0] * srcStrides[0], dstShape[0] * dstStrides[0]];
  const outer = size.slice(0, Math.max(0, k - 1));
  const count = tf.util.sizeFromShape(outer);
  for (let t = 0; t < count; t++) {
    let rest = t;
    let srcBase = k > 0 ? srcStart[k - 1] * srcStrides[k - 1] : 0;
    let dstBase = k > 0 ? dstStart[k - 1] * dstStrides[k - 1] : 0;
    for (let j = outer.length - 1; j >= 0; j--) {
      const i = rest % outer[j];
      rest = (rest - i) / outer[j];
      srcBase += (srcStart[j] + i) * srcStrides[j];
      dstBase += (dstStart[j] + i) * dstStrides[j];
    }
    copyRows(addon, src.subarray(srcBase), srcRow, srcStart[k] * srcStrides[k], dst.subarray(dstBase), dstRow, dstStart[k] * dstStrides[k], width, rows);
  }
}

/**
 * Kernels that copy blocks of rows, each as one pass of row copies into a recycled array (float-pool.ts):
 * concatenation along any axis (Inception's branch concat, U-Net skips, DF-GAN's rolled batch) and
 * splitting along the last axis (concat's gradient), where tfjs's generic strided versions took seconds per
 * U-Net step; PadV2 (slice's gradient) and non-contiguous Slice, which tfjs walks element by element with
 * index arithmetic; GatherV2 of rows (embedding lookups). tfjs's kernels hand out fresh arrays, whose first
 * touch costs page faults on every step. Other cases (non-float32, batched gathers) go to tfjs's kernels.
 * The rows are copied by the addon where it loads.
 */
export function copyKernels(original: (name: string) => KernelFunc, addon: NativeAddon | null): Record<string, KernelFunc> {
  const concat: KernelFunc = (args) => {
    const inputs = Object.values(args.inputs) as tf.TensorInfo[];
    const backend = args.backend as MathBackendCPU;
    const rank = inputs[0]?.shape.length ?? 0;
    const axis = tf.util.parseAxisParam((args.attrs as unknown as tf.ConcatAttrs).axis, inputs[0]?.shape ?? [])[0];
    const values = inputs.map((t) => floatValues(backend, t));
    if (rank < 1 || values.some((v) => !v) || inputs.some((t) => t.shape.length !== rank)) return original('Concat')(args);
    const sameBesideAxis = (t: tf.TensorInfo) => t.shape.every((d, j) => j === axis || d === inputs[0].shape[j]);
    if (!inputs.every(sameBesideAxis)) return original('Concat')(args);
    const lead = inputs[0].shape.slice(0, axis);
    const rows = tf.util.sizeFromShape(lead);
    const widths = inputs.map((t) => tf.util.sizeFromShape(t.shape.slice(axis)));
    const total = widths.reduce((a, b) => a + b, 0);
    const out = overwrittenFloats(backend, rows * total);
    let offset = 0;
    inputs.forEach((_, k) => {
      if (widths[k] > 0) copyRows(addon, values[k]!, widths[k], 0, out, total, offset, widths[k], rows);
      offset += widths[k];
    });
    const shape = [...inputs[0].shape];
    shape[axis] = inputs.reduce((a, t) => a + t.shape[axis], 0);
    return makeFloatTensor(backend, shape, out);
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
  const padV2: KernelFunc = (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const backend = args.backend as MathBackendCPU;
    const { paddings, constantValue } = args.attrs as unknown as tf.PadV2Attrs;
    // readable: a cast mask (pix2pixHD's instance boundaries) holds a bool array under the float32 dtype.
    const xv = readableFloats(backend, x);
    if (!xv || paddings.length !== x.shape.length || paddings.some(([before, after]) => before < 0 || after < 0)) return original('PadV2')(args);
    const shape = x.shape.map((d, j) => paddings[j][0] + d + paddings[j][1]);
    const n = tf.util.sizeFromShape(shape);
    const out = constantValue === 0 ? outputFloats(backend, n) : overwrittenFloats(backend, n).fill(constantValue);
    copyBox(addon, xv, x.shape, x.shape.map(() => 0), out, shape, paddings.map(([before]) => before), x.shape);
    return makeFloatTensor(backend, shape, out);
  };
  const slice: KernelFunc = (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const backend = args.backend as MathBackendCPU;
    const { begin, size } = args.attrs as unknown as tf.SliceAttrs;
    const xv = floatValues(backend, x);
    if (!xv) return original('Slice')(args);
    const [start, extent] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    tf.slice_util.assertParamsValid(x as tf.Tensor, start, extent);
    // Contiguous slices are tfjs's views of the input's array, with no copy.
    if (tf.slice_util.isSliceContinous(x.shape, start, extent)) return original('Slice')(args);
    const out = overwrittenFloats(backend, tf.util.sizeFromShape(extent));
    copyBox(addon, xv, x.shape, start, out, extent, extent.map(() => 0), extent);
    return makeFloatTensor(backend, extent, out);
  };
  const gatherV2: KernelFunc = (args) => {
    const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const backend = args.backend as MathBackendCPU;
    const { axis, batchDims } = args.attrs as unknown as tf.GatherV2Attrs;
    const xv = floatValues(backend, x);
    const ids = backend.data.get(indices.dataId).values;
    if (!xv || (batchDims ?? 0) !== 0 || !(ids instanceof Int32Array)) return original('GatherV2')(args);
    const ax = tf.util.parseAxisParam(axis, x.shape)[0];
    const dim = x.shape[ax];
    for (const index of ids) if (!(index >= 0 && index <= dim - 1)) throw new Error(`GatherV2: the index value ${index} is not in [0, ${dim - 1}]`);
    const outer = tf.util.sizeFromShape(x.shape.slice(0, ax));
    const slice = tf.util.sizeFromShape(x.shape.slice(ax + 1));
    const out = overwrittenFloats(backend, outer * ids.length * slice);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < ids.length; i++) {
        // One row each, in JavaScript: a call into the addon per row would cost more than the copy.
        copyRows(null, xv, slice, (o * dim + ids[i]) * slice, out, slice, (o * ids.length + i) * slice, slice, 1);
      }
    }
    return makeFloatTensor(backend, [...x.shape.slice(0, ax), ...indices.shape, ...x.shape.slice(ax + 1)], out);
  };
  return { Concat: concat, SplitV: splitV, PadV2: padV2, Slice: slice, GatherV2: gatherV2 };
}
