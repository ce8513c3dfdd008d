import type { Dispatch, GpuContext, Region } from '../context.ts';
import { gemm, rowMajorByK, rowMajorByOuter, type GemmGroup, type GemmTuning } from './gemm.ts';
import { winogradConv, winogradFilterGrad, winogradFilterGradPays, winogradFits, winogradPays, type WinogradConv } from './winograd.ts';

/**
 * A 2-D convolution y = conv(x, w) in NHWC with a [kh, kw, inC, outC] filter (tfjs's layout), any
 * strides and zero padding, no dilation. Its three products are implicit GEMMs:
 *   forward          y[n,oh,ow,co]  = sum_{kh,kw,ci} x[n, oh*sh-pt+kh, ow*sw-pl+kw, ci] w[kh,kw,ci,co]
 *   input gradient   dx[n,ih,iw,ci] = sum_{kh,kw,co} dy[n, (ih+pt-kh)/sh, (iw+pl-kw)/sw, co] w[kh,kw,ci,co]
 *   filter gradient  dw[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*sh-pt+kh, ow*sw-pl+kw, ci] dy[n,oh,ow,co]
 * A transposed convolution is the input gradient of the convolution that maps its output to its
 * input, so the same three serve ConvTranspose2d (weights [kh, kw, outC, inC]).
 */
export interface ConvGeometry {
  batch: number;
  /** Input height, width and channels. */
  h: number;
  w: number;
  inC: number;
  outC: number;
  /** Filter height and width (Inception's 1x7 and 7x1, the caption encoder's 1x3). */
  kh: number;
  kw: number;
  /** Strides down and across. */
  sh: number;
  sw: number;
  /**
   * Zero rows above and below the input, columns left and right of it. Only the top and left ones move
   * taps; the bottom and right ones set the output's size, the taps past the input reading zeros.
   */
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
}

export function outSize(g: ConvGeometry): { oh: number; ow: number } {
  return { oh: Math.floor((g.h + g.padTop + g.padBottom - g.kh) / g.sh) + 1, ow: Math.floor((g.w + g.padLeft + g.padRight - g.kw) / g.sw) + 1 };
}

/** The geometry as module-scope WGSL constants (all i32). */
function constants(g: ConvGeometry): string {
  const { oh, ow } = outSize(g);
  return `const H = ${g.h}; const W = ${g.w}; const CI = ${g.inC}; const CO = ${g.outC}; const KH = ${g.kh}; const KW = ${g.kw};
const SH = ${g.sh}; const SW = ${g.sw}; const PT = ${g.padTop}; const PL = ${g.padLeft}; const OH = ${oh}; const OW = ${ow};`;
}

/** An output pixel (n, oy, ox) of the convolution: [x offset of its top-left tap, iy0, ix0, 0]. */
const PIXEL = `let p = i32(i); let ox = p % OW; let t = p / OW; let oy = t % OH; let n = t / OH;
      let iy0 = oy * SH - PT; let ix0 = ox * SW - PL;
      return vec4<i32>(((n * H + iy0) * W + ix0) * CI, iy0, ix0, 0);`;
/** A filter tap (kh, kw, ci), ci fastest: [x offset from the top-left tap, kh, kw, 0]. */
const TAP = `let q = i32(k); let ci = q % CI; let t = q / CI; let kw = t % KW; let kh = t / KW;
      return vec4<i32>((kh * W + kw) * CI + ci, kh, kw, 0);`;
/** x at pixel + tap, 0 in the padding (symmetric in its two arguments). */
const GATHER_X = `let iy = o.y + i.y; let ix = o.z + i.z;
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) { return 0.0; }
      return X[u32(o.x + i.x)];`;

/** A convolution's three products. */
export type ConvProduct = 'forward' | 'input gradient' | 'filter gradient';

/**
 * How a product is computed: its GEMM's tile and K-split (gemmPlan's where absent), and for a 3x3 stride-1
 * convolution whether by Winograd (./winograd.ts): false, the implicit GEMM; 2 or 4, F(2x2, 3x3) or
 * F(4x4, 3x3); absent, as winogradPays chooses. The K-split does not apply to Winograd's products.
 */
export interface ConvTuning extends GemmTuning {
  winograd?: false | 2 | 4;
}

/**
 * A product of a 3x3 stride-1 convolution as a Winograd convolution, where the tuning asks for it or it
 * pays (F(2x2) at most on the matrix tile), and the device binds its filter's transform. The input
 * gradient is dy convolved with the filter turned round, padded 2 - p: so its padding at most 2. The
 * filter gradient is the forward's, run backwards (winogradFilterGrad).
 */
export function winogradOf(ctx: GpuContext, g: ConvGeometry, product: ConvProduct, tuning: ConvTuning = {}): WinogradConv | null {
  if (g.kh !== 3 || g.kw !== 3 || g.sh !== 1 || g.sw !== 1 || tuning.winograd === false) return null;
  const { oh, ow } = outSize(g);
  const shape = product === 'input gradient'
    ? { batch: g.batch, h: oh, w: ow, inC: g.outC, outC: g.inC, oh: g.h, ow: g.w, padTop: 2 - g.padTop, padLeft: 2 - g.padLeft, flipped: true }
    : { batch: g.batch, h: g.h, w: g.w, inC: g.inC, outC: g.outC, oh, ow, padTop: g.padTop, padLeft: g.padLeft, flipped: false };
  const chosen = product === 'filter gradient' ? winogradFilterGradPays(shape) : winogradPays(shape);
  // F(4x4)'s transforms (coefficients up to 8) magnify the matrix tile's 16-bit rounding 20-fold, F(2x2)'s
  // less than 2-fold (bench/winograd-accuracy.ts). F(2x2) has more tiles, so it pays where F(4x4) does.
  const m = tuning.winograd ?? (tuning.tile === 'matrix' && chosen === 4 ? 2 : chosen);
  if (shape.padTop < 0 || shape.padLeft < 0 || !m) return null;
  const s = { ...shape, m };
  return winogradFits(ctx, s) ? s : null;
}

/** y = act(conv(x, w) + bias): x as A (im2col rows gathered), w as B; the bias and activation are optional. */
export function convForward(ctx: GpuContext, label: string, g: ConvGeometry, x: Region, w: Region, y: Region, epilogue: { bias?: Region; activation?: string } = {}, tuning: ConvTuning = {}): Dispatch[] {
  const winograd = winogradOf(ctx, g, 'forward', tuning);
  if (winograd) return winogradConv(ctx, `${label}.fwd`, winograd, x, w, y, epilogue, tuning);
  const { oh, ow } = outSize(g);
  return gemm(ctx, {
    label: `${label}.fwd`, M: g.batch * oh * ow, N: g.outC, K: g.kh * g.kw * g.inC, constants: constants(g),
    // m = output pixel, k = (kh, kw, ci): neighbouring k are neighbouring floats of x
    a: { outer: PIXEL, inner: TAP, load: GATHER_X, kFast: true },
    b: rowMajorByOuter(g.outC),
    activation: epilogue.activation,
  }, x, w, y, { ...tuning, bias: epilogue.bias });
}

/**
 * Whether the convolution's output is one pixel whose filter covers the whole input, unpadded: its input
 * gradient (DCGAN's z -> 4x4 layer) is then one plain matrix product.
 */
export function spreadOverImage(g: ConvGeometry): boolean {
  const { oh, ow } = outSize(g);
  return oh === 1 && ow === 1 && g.padTop === 0 && g.padLeft === 0 && g.h === g.kh && g.w === g.kw;
}

/**
 * The filter taps that reach input pixels (iy, ix) with iy % sh = ry and ix % sw = rx: taps
 * kh = kh0 + sh * th (th < tapsH) reach input row iy = yq * sh + ry from output row oy = yq + dy0 - th
 * (and the same across).
 */
function residueTaps(g: ConvGeometry, ry: number, rx: number): { kh0: number; kw0: number; tapsH: number; tapsW: number } {
  const kh0 = (ry + g.padTop) % g.sh;
  const kw0 = (rx + g.padLeft) % g.sw;
  return { kh0, kw0, tapsH: Math.max(0, Math.ceil((g.kh - kh0) / g.sh)), tapsW: Math.max(0, Math.ceil((g.kw - kw0) / g.sw)) };
}

/**
 * The input gradient's residue classes as grouped GEMMs: rows (n, yq, xq), K the class's taps times the
 * output channels, and the values its WGSL reads. Classes without pixels are left out, and so, when the
 * gradient accumulates, are those no tap reaches (their pixels' gradient stays as it was).
 */
export function residueClasses(g: ConvGeometry, accumulate = false): GemmGroup[] {
  const groups: GemmGroup[] = [];
  for (let ry = 0; ry < g.sh; ry++) {
    for (let rx = 0; rx < g.sw; rx++) {
      const hq = Math.ceil((g.h - ry) / g.sh);
      const wq = Math.ceil((g.w - rx) / g.sw);
      if (hq <= 0 || wq <= 0) continue;
      const { kh0, kw0, tapsH, tapsW } = residueTaps(g, ry, rx);
      if (accumulate && tapsH * tapsW === 0) continue;
      groups.push({
        M: g.batch * hq * wq, K: tapsH * tapsW * g.outC,
        // TH and TW at least 1: WGSL refuses a constant division by 0 even where K = 0 never decodes a tap
        values: { TH: Math.max(1, tapsH), TW: Math.max(1, tapsW), HQ: hq, WQ: wq, RY: ry, RX: rx, KH0: kh0, KW0: kw0, DY0: (ry + g.padTop - kh0) / g.sh, DX0: (rx + g.padLeft - kw0) / g.sw },
      });
    }
  }
  return groups;
}

/**
 * dx = input gradient of conv(x, w) at dy. Split by the residues of (ih, iw) modulo the strides: within
 * one class the taps that reach an input pixel are fixed (2x2 of the 4x4 kernel for stride 2; 2x2, 2x1,
 * 1x2 or 1x1 of a 3x3 kernel), so no multiply is wasted on taps that fall between output pixels or past
 * the kernel's edge. Each class is a GEMM, its K that class's taps times the output channels; they run
 * as the groups of one dispatch.
 */
export function convInputGrad(ctx: GpuContext, label: string, g: ConvGeometry, dy: Region, w: Region, dx: Region, accumulate = false, tuning: ConvTuning = {}): Dispatch[] {
  if (spreadOverImage(g)) {
    // dx[n, (kh, kw, ci)] = sum_co dy[n, co] w[(kh, kw, ci), co].
    return gemm(ctx, { label: `${label}.dgrad`, M: g.batch, N: g.kh * g.kw * g.inC, K: g.outC, a: rowMajorByK(g.outC), b: rowMajorByK(g.outC), accumulate }, dy, w, dx, tuning);
  }
  const winograd = winogradOf(ctx, g, 'input gradient', tuning);
  if (winograd) return winogradConv(ctx, `${label}.dgrad`, winograd, dy, w, dx, { accumulate }, tuning);
  const groups = residueClasses(g, accumulate);
  // k = (th, tw, co), co fastest; m = (n, yq, xq) of the class
  const tap = 'let q = i32(k); let co = q % CO; let t = q / CO; let tw = t % TW; let th = t / TW; let kh = KH0 + SH * th; let kw = KW0 + SW * tw;';
  return gemm(ctx, {
    label: `${label}.dgrad`, M: groups.reduce((t, c) => t + c.M, 0), N: g.inC, K: Math.max(...groups.map((c) => c.K)), constants: constants(g),
    groups,
    a: {
      outer: `let p = i32(i); let xq = p % WQ; let t = p / WQ; let yq = t % HQ; let n = t / HQ;
        let oy0 = yq + DY0; let ox0 = xq + DX0;
        return vec4<i32>(((n * OH + oy0) * OW + ox0) * CO, oy0, ox0, 0);`,
      inner: `${tap} return vec4<i32>((-th * OW - tw) * CO + co, -th, -tw, 0);`,
      load: `let oy = o.y + i.y; let ox = o.z + i.z;
        if (oy < 0 || oy >= OH || ox < 0 || ox >= OW) { return 0.0; }
        return X[u32(o.x + i.x)];`,
      kFast: true,
    },
    b: {
      outer: 'return vec4<i32>(i32(i) * CO, 0, 0, 0);',
      inner: `${tap} return vec4<i32>((kh * KW + kw) * CI * CO + co, 0, 0, 0);`,
      load: 'return X[u32(o.x + i.x)];',
      kFast: true,
    },
    storeIndex: `let p = i32(m); let xq = p % WQ; let t = p / WQ; let yq = t % HQ; let b = t / HQ;
      return u32(((b * H + yq * SH + RY) * W + xq * SW + RX) * CI) + n;`,
    accumulate,
  }, dy, w, dx, tuning);
}

/** dw (+)= filter gradient of conv(x, w) at dy: K runs over every output pixel of the batch (split-K). */
export function convFilterGrad(ctx: GpuContext, label: string, g: ConvGeometry, x: Region, dy: Region, dw: Region, accumulate = false, tuning: ConvTuning = {}): Dispatch[] {
  const winograd = winogradOf(ctx, g, 'filter gradient', tuning);
  if (winograd) return winogradFilterGrad(ctx, `${label}.wgrad`, winograd, x, dy, dw, accumulate, tuning);
  const { oh, ow } = outSize(g);
  return gemm(ctx, {
    label: `${label}.wgrad`, M: g.kh * g.kw * g.inC, N: g.outC, K: g.batch * oh * ow, constants: constants(g),
    // m = tap (kh, kw, ci), k = output pixel: the forward's im2col, transposed
    a: { outer: TAP.replace('i32(k)', 'i32(i)'), inner: PIXEL.replace('i32(i)', 'i32(k)'), load: GATHER_X, kFast: false },
    b: rowMajorByOuter(g.outC),
    accumulate,
  }, x, dy, dw, tuning);
}
