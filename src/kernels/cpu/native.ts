/** The functions of the C++ addon (src/native/addon.cc). */
export interface NativeAddon {
  sgemm(transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number, A: Float32Array, lda: number,
    B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number): void;
  /** geometry: [n, h, w, c, kh, kw, oc, oh, ow, sh, sw, dh, dw, padTop, padLeft] */
  conv2dForward(geometry: Int32Array, x: Float32Array, filter: Float32Array, y: Float32Array): void;
  conv2dBackpropInput(geometry: Int32Array, dy: Float32Array, filter: Float32Array, dx: Float32Array): void;
  conv2dBackpropFilter(geometry: Int32Array, x: Float32Array, dy: Float32Array, dw: Float32Array): void;
  batchNormForward(rows: number, channels: number, x: Float32Array, gamma: Float32Array, beta: Float32Array, eps: number,
    y: Float32Array, mean: Float32Array, variance: Float32Array): void;
  batchNormBackward(rows: number, channels: number, dy: Float32Array, x: Float32Array, gamma: Float32Array, mean: Float32Array,
    variance: Float32Array, eps: number, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array): void;
  leakyRelu(n: number, x: Float32Array, alpha: number, y: Float32Array): void;
  leakyReluGrad(n: number, dy: Float32Array, x: Float32Array, alpha: number, dx: Float32Array): void;
  /** y = tanh(x) within a few float ulps (a vectorised polynomial; NaN stays NaN). */
  tanh(n: number, x: Float32Array, y: Float32Array): void;
  adamUpdate(n: number, p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number, beta1: number, beta2: number,
    eps: number, bc1: number, bc2: number, pOut: Float32Array, mOut: Float32Array, vOut: Float32Array): void;
  accumulateOuter(rows: number, d: number, x: Float32Array, shift: Float64Array, sum: Float64Array, outer: Float64Array): void;
  cholesky(n: number, a: Float64Array, l: Float64Array): boolean;
  congruence(n: number, l: Float64Array, s: Float64Array, r: Float64Array): void;
  symmetricEigen(n: number, a: Float64Array, values: Float64Array, vectors: boolean): boolean;
  /** geometry: [n, h, w, c, kh, kw, oh, ow, sh, sw, padTop, padLeft] */
  pool2d(isMax: boolean, geometry: Int32Array, x: Float32Array, y: Float32Array): void;
  /** In place y = act(y + bias); act: 0 linear, 1 relu, 2 relu6, 3 leakyrelu, 4 elu, 5 sigmoid. */
  biasActivation(rows: number, channels: number, y: Float32Array, bias: Float32Array | null, act: number, alpha: number): void;
  /** DF-GAN's Affine (NHWC): y = x * gamma + beta, gamma and beta [n, c]; the gradient's sums in double. */
  affine(n: number, area: number, channels: number, x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array): void;
  affineGrad(n: number, area: number, channels: number, dy: Float32Array, x: Float32Array, gamma: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array): void;
  /** pix2pixHD's per-image ops (NHWC); adjoint forms write into a zeroed dst. */
  instanceNorm(n: number, area: number, channels: number, x: Float32Array, eps: number, y: Float32Array, invStd: Float32Array): void;
  instanceNormGrad(n: number, area: number, channels: number, dy: Float32Array, y: Float32Array, invStd: Float32Array, dx: Float32Array): void;
  /** h, w: the unpadded size */
  reflectionPad(adjoint: boolean, n: number, h: number, w: number, c: number, pad: number, src: Float32Array, dst: Float32Array): void;
  /** The 3x3 / 2 average pooling's gradient (pool2d's average forward); h, w: the unpooled size; dx zeroed. */
  avgPool3x3s2Grad(n: number, h: number, w: number, c: number, dy: Float32Array, dx: Float32Array): void;
  /** AvgPool's gradient where stride = window and no padding; geometry: [n, h, w, c, fh, fw, oh, ow]; dx written whole. */
  avgPoolTilesGrad(geometry: Int32Array, dy: Float32Array, dx: Float32Array): void;
  /** out (shape, row-major) = a op b (0 add, 1 sub, 2 mul, 3 div), each read at sum(index[d] * strides[d]); rank <= 8. */
  binaryOp(op: number, shape: Int32Array, stridesA: Int32Array, stridesB: Int32Array, a: Float32Array, b: Float32Array, out: Float32Array): void;
  /** Sums of x over the dimensions with reduced[d] = 1 (double, row-major order), terms x / divisor in float32 unless it is 1. */
  reduceSum(shape: Int32Array, reduced: Int32Array, divisor: number, x: Float32Array, out: Float32Array): void;
  /**
   * Nearest-neighbour resize of [n, h, w, c] to [n, oh, ow, c], output row r from input row rows[r] and column q
   * from cols[q]; grad: dy [n, oh, ow, c] summed back into dx [n, h, w, c] (r then q ascending, in double).
   */
  resizeNearest(grad: boolean, n: number, c: number, h: number, w: number, oh: number, ow: number, rows: Int32Array, cols: Int32Array, src: Float32Array, dst: Float32Array): void;
  /** rows of `width` floats from src (rows srcRow apart, from srcOffset) to dst (dstRow, dstOffset) */
  copyRows(rows: number, width: number, src: Float32Array, srcRow: number, srcOffset: number, dst: Float32Array, dstRow: number, dstOffset: number): void;
  /** geometry as pool2d's */
  maxPoolGrad(geometry: Int32Array, x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  /**
   * kernel: sgemm's micro-kernel, 'avx512', 'avx2-fma', 'neon' or 'portable'; avx512: whether the convolutions run their
   * AVX-512 tiles (the CPU has AVX-512F and forceAvx2 is off).
   */
  info(): { threads: number; kernel: string; avx512: boolean };
  forcePortable(on: boolean): void;
  /** Keeps the convolutions on their AVX2 tiles where the CPU has AVX-512 (tests compare the two). */
  forceAvx2(on: boolean): void;
  /** Runs small maps' filter gradients on the in-place tiles too (by default they unfold into sgemm; tests compare both). */
  forceInPlaceFilterGrad(on: boolean): void;
}

let cached: { addon: NativeAddon | null; error: string | null } | null = null;
let loader: (() => NativeAddon) | null = null;

/**
 * Where the addon comes from: Node's engine gives the loader of build/Release/gantry_native.node
 * (native-node.ts); in the browser there is none and every kernel keeps its JavaScript path. This module
 * stays free of Node's modules so the browser bundle can hold the kernels that ask for the addon.
 */
export function setNativeAddonLoader(load: () => NativeAddon): void {
  loader ??= load;
}

/** Turns every native path off for this process (initEngine({ nativeKernels: false }), GANTRY_NATIVE=0). */
export function disableNativeAddon(why: string): void {
  cached = { addon: null, error: why };
}

/** The addon, loaded once; on failure remembers why (for one warning). */
export function loadNativeAddon(): { addon: NativeAddon | null; error: string | null } {
  if (cached) return cached;
  if (!loader) return { addon: null, error: 'this platform has no native addon' };
  try {
    cached = { addon: loader(), error: null };
  } catch (err) {
    cached = { addon: null, error: (err as Error).message };
  }
  return cached;
}
