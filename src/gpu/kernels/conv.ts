import type { Dispatch, GpuContext, Region } from '../context.ts';
import { gemm } from './gemm.ts';

/**
 * A 2-D convolution y = conv(x, w) in NHWC with a [k, k, inC, outC] filter (tfjs's layout), square
 * kernel, one stride and one padding. Its three products are implicit GEMMs:
 *   forward          y[n,oh,ow,co]  = sum_{kh,kw,ci} x[n, oh*s-p+kh, ow*s-p+kw, ci] w[kh,kw,ci,co]
 *   input gradient   dx[n,ih,iw,ci] = sum_{kh,kw,co} dy[n, (ih+p-kh)/s, (iw+p-kw)/s, co] w[kh,kw,ci,co]
 *   filter gradient  dw[kh,kw,ci,co] = sum_{n,oh,ow} x[n, oh*s-p+kh, ow*s-p+kw, ci] dy[n,oh,ow,co]
 * A transposed convolution is the input gradient of the convolution that maps its output to its
 * input, so the same three serve ConvTranspose2d (weights [k, k, outC, inC]).
 */
export interface ConvGeometry {
  batch: number;
  /** Input height, width and channels. */
  h: number;
  w: number;
  inC: number;
  outC: number;
  k: number;
  stride: number;
  pad: number;
}

export function outSize(g: ConvGeometry): { oh: number; ow: number } {
  return { oh: Math.floor((g.h + 2 * g.pad - g.k) / g.stride) + 1, ow: Math.floor((g.w + 2 * g.pad - g.k) / g.stride) + 1 };
}

function constants(g: ConvGeometry): string {
  const { oh, ow } = outSize(g);
  return `let H = ${g.h}; let W = ${g.w}; let CI = ${g.inC}u; let CO = ${g.outC}u; let KS = ${g.k}u; let S = ${g.stride}; let P = ${g.pad}; let OH = ${oh}; let OW = ${ow};`;
}

/**
 * WGSL body reading x at one filter tap of one output pixel (0 in the padding): the im2col element
 * [pixel, tap], with tap = (kh, kw, ci) in `tap` and pixel = (n, oh, ow) in `pixel`. The forward pass
 * gathers it as A[m = pixel, k = tap], the filter gradient as A[m = tap, k = pixel].
 */
function gatherInput(g: ConvGeometry, tap: 'm' | 'k', pixel: 'm' | 'k'): string {
  return `${constants(g)}
      let ci = ${tap} % CI; let t = ${tap} / CI; let kw = i32(t % KS); let kh = i32(t / KS);
      let ox = i32(${pixel}) % OW; let t2 = i32(${pixel}) / OW; let oy = t2 % OH; let n = t2 / OH;
      let iy = oy * S - P + kh; let ix = ox * S - P + kw;
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) { return 0.0; }
      return A[u32((n * H + iy) * W + ix) * CI + ci];`;
}

/** y = conv(x, w): x as A (gathered), w as B. */
export function convForward(ctx: GpuContext, label: string, g: ConvGeometry, x: Region, w: Region, y: Region): Dispatch[] {
  const { oh, ow } = outSize(g);
  return gemm(ctx, {
    label: `${label}.fwd`, M: g.batch * oh * ow, N: g.outC, K: g.k * g.k * g.inC,
    // k = (kh, kw, ci), ci fastest: neighbouring k are neighbouring floats of x
    loadA: gatherInput(g, 'k', 'm'),
    loadB: `return B[k * ${g.outC}u + n];`,
    aKFast: true, bKFast: false,
  }, x, w, y);
}

/**
 * dx = input gradient of conv(x, w) at dy. Split by the parity of (ih, iw) modulo the stride: within
 * one class the taps that reach an input pixel are fixed (2x2 of the 4x4 kernel for stride 2), so no
 * multiply is wasted on taps that fall between output pixels. One GEMM per class.
 */
export function convInputGrad(ctx: GpuContext, label: string, g: ConvGeometry, dy: Region, w: Region, dx: Region, accumulate = false): Dispatch[] {
  const { oh, ow } = outSize(g);
  if (oh === 1 && ow === 1 && g.pad === 0 && g.h === g.k && g.w === g.k) {
    // A 1x1 map spread over a whole k x k image (DCGAN's z -> 4x4 layer) is a plain matrix product:
    // dx[n, (kh, kw, ci)] = sum_co dy[n, co] w[(kh, kw, ci), co].
    return gemm(ctx, {
      label: `${label}.dgrad`, M: g.batch, N: g.k * g.k * g.inC, K: g.outC,
      loadA: `return A[m * ${g.outC}u + k];`, loadB: `return B[n * ${g.outC}u + k];`,
      aKFast: true, bKFast: true, accumulate,
    }, dy, w, dx);
  }
  const s = g.stride;
  const taps = Math.ceil(g.k / s);
  const out: Dispatch[] = [];
  for (let ph = 0; ph < s; ph++) {
    for (let pw = 0; pw < s; pw++) {
      const hq = Math.ceil((g.h - ph) / s);
      const wq = Math.ceil((g.w - pw) / s);
      if (hq <= 0 || wq <= 0) continue;
      const kh0 = (((ph + g.pad) % s) + s) % s;
      const kw0 = (((pw + g.pad) % s) + s) % s;
      const geo = `let H = ${g.h}u; let W = ${g.w}u; let CI = ${g.inC}u; let CO = ${g.outC}u; let KS = ${g.k}u; let S = ${s}u; let P = ${g.pad}; let OH = ${oh}; let OW = ${ow}; let T = ${taps}u; let HQ = ${hq}u; let WQ = ${wq}u;`;
      // k = (th, tw, co), co fastest; m = (n, iy/s, ix/s) of this parity class
      const tap = `let co = k % CO; let t = k / CO; let tw = t % T; let th = t / T; let kh = ${kh0}u + S * th; let kw = ${kw0}u + S * tw;`;
      out.push(...gemm(ctx, {
        label: `${label}.dgrad${ph}${pw}`, M: g.batch * hq * wq, N: g.inC, K: taps * taps * g.outC,
        loadA: `${geo} ${tap}
          if (kh >= KS || kw >= KS) { return 0.0; }
          let xq = m % WQ; let t2 = m / WQ; let yq = t2 % HQ; let n = t2 / HQ;
          let iy = i32(yq * S + ${ph}u); let ix = i32(xq * S + ${pw}u);
          let oy = (iy + P - i32(kh)) / i32(S); let ox = (ix + P - i32(kw)) / i32(S);
          if (iy + P - i32(kh) < 0 || ix + P - i32(kw) < 0 || oy >= OH || ox >= OW) { return 0.0; }
          return A[u32((i32(n) * OH + oy) * OW + ox) * CO + co];`,
        loadB: `${geo} ${tap}
          if (kh >= KS || kw >= KS) { return 0.0; }
          return B[((kh * KS + kw) * CI + n) * CO + co];`,
        storeIndex: `${geo}
          let xq = m % WQ; let t2 = m / WQ; let yq = t2 % HQ; let b = t2 / HQ;
          return ((b * H + yq * S + ${ph}u) * W + xq * S + ${pw}u) * CI + n;`,
        aKFast: true, bKFast: true, accumulate,
      }, dy, w, dx));
    }
  }
  return out;
}

/** dw (+)= filter gradient of conv(x, w) at dy: K runs over every output pixel of the batch (split-K). */
export function convFilterGrad(ctx: GpuContext, label: string, g: ConvGeometry, x: Region, dy: Region, dw: Region, accumulate = false): Dispatch[] {
  const { oh, ow } = outSize(g);
  return gemm(ctx, {
    label: `${label}.wgrad`, M: g.k * g.k * g.inC, N: g.outC, K: g.batch * oh * ow,
    // m = (kh, kw, ci), k = (n, oh, ow)
    loadA: gatherInput(g, 'm', 'k'),
    loadB: `return B[k * ${g.outC}u + n];`,
    aKFast: false, bKFast: false, accumulate,
  }, x, dy, dw);
}
