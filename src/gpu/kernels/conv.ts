import type { Dispatch, GpuContext, Region } from '../context.ts';
import { gemm, rowMajorByK, rowMajorByOuter } from './gemm.ts';

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

/** The geometry as module-scope WGSL constants (all i32). */
function constants(g: ConvGeometry): string {
  const { oh, ow } = outSize(g);
  return `const H = ${g.h}; const W = ${g.w}; const CI = ${g.inC}; const CO = ${g.outC}; const KS = ${g.k}; const S = ${g.stride}; const P = ${g.pad}; const OH = ${oh}; const OW = ${ow};`;
}

/** An output pixel (n, oy, ox) of the convolution: [x offset of its top-left tap, iy0, ix0, 0]. */
const PIXEL = `let p = i32(i); let ox = p % OW; let t = p / OW; let oy = t % OH; let n = t / OH;
      let iy0 = oy * S - P; let ix0 = ox * S - P;
      return vec4<i32>(((n * H + iy0) * W + ix0) * CI, iy0, ix0, 0);`;
/** A filter tap (kh, kw, ci), ci fastest: [x offset from the top-left tap, kh, kw, 0]. */
const TAP = `let q = i32(k); let ci = q % CI; let t = q / CI; let kw = t % KS; let kh = t / KS;
      return vec4<i32>((kh * W + kw) * CI + ci, kh, kw, 0);`;
/** x at pixel + tap, 0 in the padding (symmetric in its two arguments). */
const GATHER_X = `let iy = o.y + i.y; let ix = o.z + i.z;
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) { return 0.0; }
      return X[u32(o.x + i.x)];`;

/** y = act(conv(x, w) + bias): x as A (im2col rows gathered), w as B; the bias and activation are optional. */
export function convForward(ctx: GpuContext, label: string, g: ConvGeometry, x: Region, w: Region, y: Region, epilogue: { bias?: Region; activation?: string } = {}): Dispatch[] {
  const { oh, ow } = outSize(g);
  return gemm(ctx, {
    label: `${label}.fwd`, M: g.batch * oh * ow, N: g.outC, K: g.k * g.k * g.inC, constants: constants(g),
    // m = output pixel, k = (kh, kw, ci): neighbouring k are neighbouring floats of x
    a: { outer: PIXEL, inner: TAP, load: GATHER_X, kFast: true },
    b: rowMajorByOuter(g.outC),
    activation: epilogue.activation,
  }, x, w, y, { bias: epilogue.bias });
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
    return gemm(ctx, { label: `${label}.dgrad`, M: g.batch, N: g.k * g.k * g.inC, K: g.outC, a: rowMajorByK(g.outC), b: rowMajorByK(g.outC), accumulate }, dy, w, dx);
  }
  const s = g.stride;
  const taps = Math.ceil(g.k / s);
  const out: Dispatch[] = [];
  for (let ph = 0; ph < s; ph++) {
    for (let pw = 0; pw < s; pw++) {
      const hq = Math.ceil((g.h - ph) / s);
      const wq = Math.ceil((g.w - pw) / s);
      if (hq <= 0 || wq <= 0) continue;
      // Taps kh = kh0 + s * th reach input row iy = yq * s + ph from output row oy = yq + dy0 - th.
      const kh0 = (ph + g.pad) % s;
      const kw0 = (pw + g.pad) % s;
      const geo = `${constants(g)} const T = ${taps}; const HQ = ${hq}; const WQ = ${wq}; const PH = ${ph}; const PW = ${pw};
const KH0 = ${kh0}; const KW0 = ${kw0}; const DY0 = ${(ph + g.pad - kh0) / s}; const DX0 = ${(pw + g.pad - kw0) / s};`;
      // k = (th, tw, co), co fastest; m = (n, yq, xq) of this parity class
      const tap = 'let q = i32(k); let co = q % CO; let t = q / CO; let tw = t % T; let th = t / T; let kh = KH0 + S * th; let kw = KW0 + S * tw;';
      out.push(...gemm(ctx, {
        label: `${label}.dgrad${ph}${pw}`, M: g.batch * hq * wq, N: g.inC, K: taps * taps * g.outC, constants: geo,
        a: {
          outer: `let p = i32(i); let xq = p % WQ; let t = p / WQ; let yq = t % HQ; let n = t / HQ;
            let oy0 = yq + DY0; let ox0 = xq + DX0;
            return vec4<i32>(((n * OH + oy0) * OW + ox0) * CO, oy0, ox0, 0);`,
          // a tap past the kernel's edge pushes ox out of range, so it reads as 0
          inner: `${tap} return vec4<i32>((-th * OW - tw) * CO + co, -th, select(-(1 << 20), -tw, kh < KS && kw < KS), 0);`,
          load: `let oy = o.y + i.y; let ox = o.z + i.z;
            if (oy < 0 || oy >= OH || ox < 0 || ox >= OW) { return 0.0; }
            return X[u32(o.x + i.x)];`,
          kFast: true,
        },
        b: {
          outer: 'return vec4<i32>(i32(i) * CO, 0, 0, 0);',
          inner: `${tap} return vec4<i32>((kh * KS + kw) * CI * CO + co, select(0, 1, kh < KS && kw < KS), 0, 0);`,
          load: 'if (i.y == 0) { return 0.0; } return X[u32(o.x + i.x)];',
          kFast: true,
        },
        storeIndex: `let p = i32(m); let xq = p % WQ; let t = p / WQ; let yq = t % HQ; let b = t / HQ;
          return u32(((b * H + yq * S + PH) * W + xq * S + PW) * CI) + n;`,
        accumulate,
      }, dy, w, dx));
    }
  }
  return out;
}

/** dw (+)= filter gradient of conv(x, w) at dy: K runs over every output pixel of the batch (split-K). */
export function convFilterGrad(ctx: GpuContext, label: string, g: ConvGeometry, x: Region, dy: Region, dw: Region, accumulate = false): Dispatch[] {
  const { oh, ow } = outSize(g);
  return gemm(ctx, {
    label: `${label}.wgrad`, M: g.k * g.k * g.inC, N: g.outC, K: g.batch * oh * ow, constants: constants(g),
    // m = tap (kh, kw, ci), k = output pixel: the forward's im2col, transposed
    a: { outer: TAP.replace('i32(k)', 'i32(i)'), inner: PIXEL.replace('i32(i)', 'i32(k)'), load: GATHER_X, kFast: false },
    b: rowMajorByOuter(g.outC),
    accumulate,
  }, x, dy, dw);
}
