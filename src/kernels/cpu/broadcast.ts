import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { overwrittenFloats } from './float-pool.ts';
import { makeFloatTensor, readableFloats } from './backend-data.ts';
import type { NativeAddon } from './native.ts';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };
type KernelFunc = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/**
 * Float32 Add / Sub / Multiply / RealDiv (broadcasting or not) and Sum and Mean over any axes, as strided loops.
 * tfjs's cpu kernels convert every element's flat index to coordinates and back when shapes differ
 * (19 ms for [64,4,4,128] + [64,1,1,128]), call a closure per element when they do not (20 ms to add two
 * 466K-element gradients), and Sum and Mean transpose the reduced axes innermost first (1.6 s a DF-GAN
 * step in its 2x2 average pools). Results
 * are bit-identical to tfjs's: the same float operations, and for Sum the same order of additions (the
 * reduced elements of each output in row-major order) in a float64 accumulator. Other dtypes and
 * complex numbers go to tfjs. Where the addon loads, every case runs in its threaded loops (strided.cc)
 * on the collapsed shapes: the same operations in the same order, so the same bits.
 */
const OPS = ['Add', 'Sub', 'Multiply', 'RealDiv'] as const;
type Op = (typeof OPS)[number];

/** Element strides of `shape` seen as `outShape` (right-aligned; size-1 dimensions repeat with stride 0). */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const rank = outShape.length;
  const strides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const od = d + rank - shape.length;
    strides[od] = shape[d] === 1 ? 0 : stride;
    stride *= shape[d];
  }
  return strides;
}

function binaryLoop(out: Float32Array, op: Op, a: Float32Array, sa: number[], b: Float32Array, sb: number[], outShape: number[]): Float32Array {
  const rank = outShape.length;
  const size = out.length;
  if (size === 0) return out;
  // Same shapes (the common case: gradients added up) are one flat row.
  const flat = a.length === size && b.length === size;
  const inner = flat ? size : rank ? outShape[rank - 1] : 1;
  const ia = flat ? 1 : rank ? sa[rank - 1] : 0;
  const ib = flat ? 1 : rank ? sb[rank - 1] : 0;
  const index = new Array<number>(Math.max(rank - 1, 0)).fill(0); // odometer over the outer dimensions
  let pa = 0;
  let pb = 0;
  for (let o = 0; o < size; o += inner) {
    let xa = pa;
    let xb = pb;
    switch (op) {
      case 'Add': for (let k = 0; k < inner; k++, xa += ia, xb += ib) out[o + k] = a[xa] + b[xb]; break;
      case 'Sub': for (let k = 0; k < inner; k++, xa += ia, xb += ib) out[o + k] = a[xa] - b[xb]; break;
      case 'Multiply': for (let k = 0; k < inner; k++, xa += ia, xb += ib) out[o + k] = a[xa] * b[xb]; break;
      case 'RealDiv': for (let k = 0; k < inner; k++, xa += ia, xb += ib) out[o + k] = a[xa] / b[xb]; break;
    }
    for (let d = rank - 2; d >= 0; d--) {
      index[d]++;
      pa += sa[d];
      pb += sb[d];
      if (index[d] < outShape[d]) break;
      pa -= sa[d] * outShape[d];
      pb -= sb[d] * outShape[d];
      index[d] = 0;
    }
  }
  return out;
}

/**
 * Sums of x over `axes`, in float64, each output's terms in row-major order (one add at a time, as tfjs);
 * with `divisor`, each term is x / divisor rounded to float32 first (Mean's terms), without an array of them.
 */
function sumLoop(x: Float32Array, shape: number[], axes: number[], divisor = 1): { values: Float32Array; shape: number[] } {
  const rank = shape.length;
  const kept = shape.map((s, d) => (axes.includes(d) ? 1 : s));
  const outStrides = broadcastStrides(kept, shape); // input coordinate -> output element (0 along reduced axes)
  const acc = new Float64Array(kept.reduce((p, s) => p * s, 1));
  const outShape = shape.filter((_, d) => !axes.includes(d));
  if (x.length === 0) return { values: new Float32Array(acc.length), shape: outShape };
  const inner = rank ? shape[rank - 1] : 1;
  const innerStride = rank ? outStrides[rank - 1] : 0;
  const index = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  let po = 0;
  const f = Math.fround;
  for (let i = 0; i < x.length; i += inner) {
    if (innerStride === 0) {
      let t = acc[po];
      if (divisor === 1) for (let k = 0; k < inner; k++) t += x[i + k];
      else for (let k = 0; k < inner; k++) t += f(x[i + k] / divisor);
      acc[po] = t;
    } else if (divisor === 1) {
      for (let k = 0; k < inner; k++) acc[po + k] += x[i + k];
    } else {
      for (let k = 0; k < inner; k++) acc[po + k] += f(x[i + k] / divisor);
    }
    for (let d = rank - 2; d >= 0; d--) {
      index[d]++;
      po += outStrides[d];
      if (index[d] < shape[d]) break;
      po -= outStrides[d] * shape[d];
      index[d] = 0;
    }
  }
  return { values: Float32Array.from(acc), shape: outShape };
}

/**
 * A shape with its size-1 dimensions dropped and each run of adjacent dimensions that every stride set
 * walks contiguously (stride[d] = stride[d + 1] * shape[d + 1]) merged into one: the same elements in
 * the same order, in as few loops as possible. Rank 0 becomes [1].
 */
function collapseDims(shape: readonly number[], strideSets: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const out: number[] = [];
  const strides: number[][] = strideSets.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = out.length - 1;
    if (last >= 0 && strideSets.every((s, k) => strides[k][last] === s[d] * shape[d])) {
      out[last] *= shape[d];
      strideSets.forEach((s, k) => (strides[k][last] = s[d]));
    } else {
      out.push(shape[d]);
      strideSets.forEach((s, k) => strides[k].push(s[d]));
    }
  }
  if (!out.length) return { shape: [1], strides: strideSets.map(() => [0]) };
  return { shape: out, strides };
}

/** The addon's loops take up to this many dimensions once collapsed; past it (rare), the JavaScript loops run. */
const NATIVE_MAX_RANK = 8;

function nativeBinary(out: Float32Array, addon: NativeAddon, op: Op, a: Float32Array, sa: number[], b: Float32Array, sb: number[], outShape: number[]): Float32Array {
  if (out.length === 0) return out;
  const c = collapseDims(outShape, [sa, sb]);
  if (c.shape.length > NATIVE_MAX_RANK) return binaryLoop(out, op, a, sa, b, sb, outShape);
  addon.binaryOp(OPS.indexOf(op), Int32Array.from(c.shape), Int32Array.from(c.strides[0]), Int32Array.from(c.strides[1]), a, b, out);
  return out;
}

/** Sum (divisor 1) or Mean over `axes` in the addon: adjacent kept or reduced dimensions merged first. */
function nativeSum(backend: MathBackendCPU, addon: NativeAddon, x: Float32Array, shape: number[], axes: number[], divisor: number): { values: Float32Array; shape: number[] } {
  const outShape = shape.filter((_, d) => !axes.includes(d));
  const values = overwrittenFloats(backend, outShape.reduce((p, s) => p * s, 1));
  if (x.length === 0) return { values, shape: outShape };
  // A reduced dimension gets a negative marker stride so that it never merges with a kept neighbour.
  const kind = shape.map((_, d) => (axes.includes(d) ? 1 : 0));
  // x's own strides (0 on its size-1 dimensions, which collapseDims drops) and the kinds'.
  const c = collapseDims(shape, [broadcastStrides(shape, shape), kindStrides(shape, kind)]);
  if (c.shape.length > NATIVE_MAX_RANK) return sumLoop(x, shape, axes, divisor);
  const reduced = Int32Array.from(c.strides[1], (s) => (s < 0 ? 1 : 0));
  addon.reduceSum(Int32Array.from(c.shape), reduced, divisor, x, values);
  return { values, shape: outShape };
}

/**
 * Strides that merge two neighbours only when both are reduced or both kept: kept dimensions get the
 * row-major strides of the kept shape, reduced ones of the reduced shape, negated.
 */
function kindStrides(shape: readonly number[], reduced: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let kept = 1;
  let gone = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (reduced[d]) {
      strides[d] = -gone;
      gone *= shape[d];
    } else {
      strides[d] = kept;
      kept *= shape[d];
    }
  }
  return strides;
}

export function broadcastKernels(original: (name: string) => KernelFunc, addon: NativeAddon | null): Record<string, KernelFunc> {
  const binary = (op: Op): KernelFunc => (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const backend = args.backend as MathBackendCPU;
    const av = readableFloats(backend, a);
    const bv = readableFloats(backend, b);
    if (!av || !bv) return original(op)(args);
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const out = overwrittenFloats(backend, outShape.reduce((x, y) => x * y, 1));
    const sa = broadcastStrides(a.shape, outShape);
    const sb = broadcastStrides(b.shape, outShape);
    return makeFloatTensor(backend, outShape, addon ? nativeBinary(out, addon, op, av, sa, bv, sb, outShape) : binaryLoop(out, op, av, sa, bv, sb, outShape));
  };
  const reduce = (name: 'Sum' | 'Mean'): KernelFunc => (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
    const backend = args.backend as MathBackendCPU;
    const xv = readableFloats(backend, x);
    if (!xv) return original(name)(args);
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const divisor = name === 'Mean' ? axes.reduce((p, d) => p * x.shape[d], 1) : 1;
    const { values, shape } = addon ? nativeSum(backend, addon, xv, x.shape, axes, divisor) : sumLoop(xv, x.shape, axes, divisor);
    return makeFloatTensor(backend, keepDims ? tf.backend_util.expandShapeToKeepDim(shape, axes) : shape, values);
  };
  return { ...Object.fromEntries(OPS.map((op) => [op, binary(op)])), Sum: reduce('Sum'), Mean: reduce('Mean') };
}
