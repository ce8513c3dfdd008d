import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { outputFloats, overwrittenFloats } from './float-pool.ts';
import { floatValues, makeFloatTensor } from './backend-data.ts';
import type { NativeAddon } from './native.ts';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };
type KernelFunc = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/** Input size over output size, tfjs's way: with aligned corners, the spans between the first and last pixels. */
function sizeRatio(inSize: number, outSize: number, alignCorners: boolean): number {
  return (alignCorners && outSize > 1 ? inSize - 1 : inSize) / (alignCorners && outSize > 1 ? outSize - 1 : outSize);
}

/** The input row (or column) each of `outSize` output rows reads, by tfjs's cpu formula for the forward resize. */
function forwardSources(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): Int32Array {
  const ratio = sizeRatio(inSize, outSize, alignCorners);
  return Int32Array.from({ length: outSize }, (_, r) => {
    const frac = halfPixelCenters ? ratio * (r + 0.5) : ratio * r;
    const nearest = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
    return halfPixelCenters ? Math.max(0, nearest) : nearest;
  });
}

/**
 * The input row each dy row sums into, by tfjs's cpu gradient: its own formula (no half-pixel centres) and
 * its search window around each input row; a dy row outside that window is dropped (-1), as tfjs drops it.
 */
function gradientTargets(inSize: number, outSize: number, alignCorners: boolean): Int32Array {
  const scale = sizeRatio(inSize, outSize, alignCorners);
  const inverse = 1 / scale;
  const window = Math.ceil(inverse) * 2 + 2;
  return Int32Array.from({ length: outSize }, (_, dyR) => {
    const r = Math.min(inSize - 1, alignCorners ? Math.round(dyR * scale) : Math.floor(dyR * scale));
    const start = Math.floor(Math.floor(r * inverse) - window / 2);
    return dyR >= start && dyR < start + window ? r : -1;
  });
}

/**
 * dy [n, oh, ow, c] summed back into dx [n, h, w, c]: dx[y][x] gathers the dy[r][q] with rows[r] = y and
 * cols[q] = x, r then q ascending, in double (the addon's loop, strided.cc, in JavaScript).
 */
function resizeGradLoop(n: number, c: number, h: number, w: number, oh: number, ow: number, rows: Int32Array, cols: Int32Array, dy: Float32Array, dx: Float32Array): void {
  const sources = (count: number, size: number, map: Int32Array) => {
    const of = Array.from({ length: size }, () => [] as number[]);
    for (let r = 0; r < count; r++) if (map[r] >= 0) of[map[r]].push(r);
    return of;
  };
  const rowsOf = sources(oh, h, rows);
  const colsOf = sources(ow, w, cols);
  const acc = new Float64Array(c);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        acc.fill(0);
        for (const r of rowsOf[y]) {
          for (const q of colsOf[x]) {
            const at = ((b * oh + r) * ow + q) * c;
            for (let k = 0; k < c; k++) acc[k] += dy[at + k];
          }
        }
        dx.set(acc, ((b * h + y) * w + x) * c);
      }
    }
  }
}

/**
 * ResizeNearestNeighbor and its gradient (NHWC float32), with tfjs's own index formulas computed here.
 * The gradient replaces tfjs's cpu kernel always: that one reads image b's terms at b times the *input's*
 * batch stride in dy, so every image but the first gets another image's gradient (tfjs 4.22; its webgpu
 * kernel is right). Ours sums each image's own terms, in tfjs's order (double accumulators): the same
 * bits as tfjs's for one image. It searched a window per pixel (25 ms for DF-GAN's [16,32,32,64]); the
 * addon, where it loads, runs the gradient and the forward resize threaded. Other dtypes go to tfjs.
 */
export function resizeKernels(original: (name: string) => KernelFunc, addon: NativeAddon | null): Record<string, KernelFunc> {
  const resize: KernelFunc = (args) => {
    const { images } = args.inputs as { images: tf.TensorInfo };
    const { alignCorners, halfPixelCenters, size } = args.attrs as unknown as tf.ResizeNearestNeighborAttrs;
    const backend = args.backend as MathBackendCPU;
    const x = floatValues(backend, images);
    if (!x || !addon) return original('ResizeNearestNeighbor')(args);
    const [n, h, w, c] = images.shape;
    const [oh, ow] = size;
    const out = overwrittenFloats(backend, n * oh * ow * c);
    if (out.length) addon.resizeNearest(false, n, c, h, w, oh, ow, forwardSources(h, oh, alignCorners, halfPixelCenters), forwardSources(w, ow, alignCorners, halfPixelCenters), x, out);
    return makeFloatTensor(backend, [n, oh, ow, c], out);
  };
  const resizeGrad: KernelFunc = (args) => {
    const { images, dy } = args.inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
    const { alignCorners } = args.attrs as unknown as tf.ResizeNearestNeighborGradAttrs;
    const backend = args.backend as MathBackendCPU;
    const g = floatValues(backend, dy);
    if (!g || images.dtype !== 'float32') return original('ResizeNearestNeighborGrad')(args);
    const [n, h, w, c] = images.shape;
    const [, oh, ow] = dy.shape;
    const out = outputFloats(backend, n * h * w * c);
    const rows = gradientTargets(h, oh, alignCorners);
    const cols = gradientTargets(w, ow, alignCorners);
    if (!out.length || !g.length) return makeFloatTensor(backend, images.shape, out);
    if (addon) addon.resizeNearest(true, n, c, h, w, oh, ow, rows, cols, g, out);
    else resizeGradLoop(n, c, h, w, oh, ow, rows, cols, g, out);
    return makeFloatTensor(backend, images.shape, out);
  };
  return { ResizeNearestNeighbor: resize, ResizeNearestNeighborGrad: resizeGrad };
}
