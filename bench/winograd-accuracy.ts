// How far Winograd's F(2x2, 3x3) and F(4x4, 3x3) and the implicit GEMM land from float64, on a 3x3
// convolution of 256 channels each side (18x18, padding 1; normal inputs, weights scaled to keep outputs
// near unit size): the largest error and the rms error, each over the outputs' rms. WebGPU only. With
// GANTRY_TENSOR_CORES (1 on a GPU with subgroup matrices, emulate elsewhere) the same three on the matrix
// tile too (16-bit inputs: a draw's products).
//   [GANTRY_TENSOR_CORES=emulate] node --import tsx bench/winograd-accuracy.ts
import { initEngine, tf } from '../src/engine/index.ts';
import { GpuContext } from '../src/gpu/context.ts';
import { Rng } from '../src/engine/rng.ts';
import { convForward, outSize, type ConvGeometry } from '../src/gpu/kernels/conv.ts';
import { matrixProductsOf } from '../src/gpu/matrix-products.ts';

await initEngine({ device: 'webgpu', log: () => {} });
const ctx = new GpuContext((tf.backend() as unknown as { device: GPUDevice }).device);
const rng = new Rng(3, 'winograd-accuracy');
const g: ConvGeometry = { batch: 1, h: 18, w: 18, inC: 256, outC: 256, kh: 3, kw: 3, sh: 1, sw: 1, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 };
const { oh, ow } = outSize(g);
const x = rng.fillNormal(new Float32Array(g.h * g.w * g.inC));
const w = rng.fillNormal(new Float32Array(9 * g.inC * g.outC)).map((v) => v / 48);
// float64 by the definition
const ref = new Float64Array(oh * ow * g.outC);
for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) {
  const [iy, ix] = [i - g.padTop + kh, j - g.padLeft + kw];
  if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
  for (let ci = 0; ci < g.inC; ci++) {
    const xv = x[(iy * g.w + ix) * g.inC + ci];
    const wo = ((kh * 3 + kw) * g.inC + ci) * g.outC;
    const yo = (i * ow + j) * g.outC;
    for (let co = 0; co < g.outC; co++) ref[yo + co] += xv * w[wo + co];
  }
}
const [xr, wr] = [ctx.upload(x, 'x'), ctx.upload(w, 'w')];
const y = ctx.region(ctx.buffer(ref.length, 'y'), ref.length);
const rms = Math.sqrt(ref.reduce((t, v) => t + v * v, 0) / ref.length);
const tiles = matrixProductsOf(ctx.device) ? [undefined, 'matrix' as const] : [undefined];
for (const tile of tiles) for (const [name, winograd] of [['implicit GEMM', false], ['F(2x2, 3x3)', 2], ['F(4x4, 3x3)', 4]] as const) {
  ctx.run(convForward(ctx, 'accuracy', g, xr, wr, y, {}, { winograd, tile }));
  const got = await ctx.read(y);
  let [max, squares] = [0, 0];
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs(got[i] - ref[i]);
    max = Math.max(max, e);
    squares += e * e;
  }
  console.log(`${name}${tile ? ' on the matrix tile' : ''}: largest error ${(max / rms).toExponential(2)} of the outputs' rms, rms error ${(Math.sqrt(squares / ref.length) / rms).toExponential(2)}`);
}
ctx.dispose();
