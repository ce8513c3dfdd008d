import assert from 'node:assert/strict';
import type { GpuContext, Region } from '../../src/gpu/context.ts';
import { outSize, type ConvGeometry } from '../../src/gpu/kernels/conv.ts';

// Inputs on the GPU and float64 references, for the tests of gantry's WebGPU kernels.

/** A GPU buffer holding these floats, as a region (the WebGPU kernel tests' inputs). */
export function upload(ctx: GpuContext, data: Float32Array): Region {
  return ctx.upload(data, 'test');
}

/** Every element within tol of the largest |want| (at least 1e-3) of its float64 reference. */
export function assertClose(got: ArrayLike<number>, want: Float64Array, what: string, tol = 1e-4): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 1e-3;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * scale)) assert.fail(`${what}: element ${i} is ${got[i]}, want ${want[i]} (scale ${scale})`);
  }
}

/** The convolution's three products in float64, by their definitions. */
export function convReference(g: ConvGeometry, x: Float32Array, w: Float32Array, dy: Float32Array) {
  const { oh, ow } = outSize(g);
  const y = new Float64Array(g.batch * oh * ow * g.outC);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  for (let n = 0; n < g.batch; n++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) for (let kh = 0; kh < g.kh; kh++) for (let kw = 0; kw < g.kw; kw++) {
    const iy = i * g.sh - g.padTop + kh;
    const ix = j * g.sw - g.padLeft + kw;
    if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
    for (let ci = 0; ci < g.inC; ci++) for (let co = 0; co < g.outC; co++) {
      const xi = ((n * g.h + iy) * g.w + ix) * g.inC + ci;
      const wi = ((kh * g.kw + kw) * g.inC + ci) * g.outC + co;
      const yi = ((n * oh + i) * ow + j) * g.outC + co;
      y[yi] += x[xi] * w[wi];
      dx[xi] += dy[yi] * w[wi];
      dw[wi] += x[xi] * dy[yi];
    }
  }
  return { y, dx, dw };
}
