import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../../src/engine/index.ts';
import { Rng } from '../../src/engine/rng.ts';
import { GpuContext } from '../../src/gpu/context.ts';
import { gemm, rowMajorByK, rowMajorByOuter, THIN_MAX_N } from '../../src/gpu/kernels/gemm.ts';
import { convFilterGrad, convForward, convInputGrad, outSize, winogradOf, type ConvGeometry } from '../../src/gpu/kernels/conv.ts';
import { winogradConv, winogradFilterGrad } from '../../src/gpu/kernels/winograd.ts';
import { batchNormBackward, batchNormForward, type Activation } from '../../src/gpu/kernels/norm.ts';
import { adamUpdate } from '../../src/gpu/kernels/pointwise.ts';
import { startWebGpuOrSkip } from './adapter.ts';
import { assertClose, convReference, upload } from './checks.ts';

// gantry's WGSL kernels against float64 loops written out here, on random shapes. They need a WebGPU
// adapter: on the GPU machine (README, "On a GPU") or a CPU with Mesa >= 24's lavapipe Vulkan driver
// (VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.json). Without one they are skipped, with the reason.
const noGpu = await startWebGpuOrSkip();

const rng = new Rng(7, 'gpu-kernels');
const randInt = (lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
const randn = (n: number) => rng.fillNormal(new Float32Array(n));

/** A square filter, one stride, the same padding on every side. */
const square = (batch: number, h: number, w: number, inC: number, outC: number, k: number, stride: number, pad: number): ConvGeometry =>
  ({ batch, h, w, inC, outC, kh: k, kw: k, sh: stride, sw: stride, padTop: pad, padBottom: pad, padLeft: pad, padRight: pad });

test('WebGPU kernels: convolution forward, input gradient and filter gradient on random shapes', { skip: noGpu }, async () => {
  const ctx = GpuContext.fromTfjs();
  const shapes: ConvGeometry[] = [
    square(2, 8, 8, 3, 5, 4, 2, 1),
    square(2, 4, 4, 6, 7, 4, 1, 0), // DCGAN's first G / last D layer
    square(8, 16, 16, 4, 3, 3, 1, 1), // K = 2048: split-K, thin N
    square(1, 4, 4, 70, 1, 4, 1, 0), // one logit
    square(16, 32, 32, 8, 128, 3, 1, 1), // many 64x64 tiles
    square(2, 8, 8, 64, 128, 3, 1, 1), // forward on a 128x128 tile, K split in 2
    // Inception's 1x7 and 7x1, the caption encoder's 1x3; strides of their own; padding only below and right ('same', stride 2)
    { ...square(2, 9, 9, 6, 10, 1, 1, 0), kw: 7, padLeft: 3, padRight: 3 },
    { ...square(2, 9, 9, 6, 10, 1, 1, 0), kh: 7, padTop: 3, padBottom: 3 },
    { ...square(3, 1, 12, 5, 9, 1, 1, 0), kw: 3, padLeft: 1, padRight: 1 },
    { ...square(2, 11, 10, 4, 6, 3, 1, 0), sh: 2, sw: 3, padTop: 1, padBottom: 2, padLeft: 0, padRight: 1 },
    { ...square(2, 8, 8, 5, 7, 3, 2, 0), padBottom: 1, padRight: 1 },
    // pix2pixHD's downsampling (3x3, stride 2: its input gradient's classes take 2x2, 2x1, 1x2 and 1x1 taps) and
    // a 1x1 kernel with stride 2, whose odd rows and columns no tap reaches (with 40 outputs, a K the split
    // below cuts in three: the classes without taps have no K-slice to sum)
    square(2, 9, 8, 6, 10, 3, 2, 1),
    square(2, 7, 6, 5, 40, 1, 2, 0),
  ];
  for (let i = 0; i < 4; i++) {
    const k = randInt(1, 5);
    shapes.push(square(randInt(1, 3), randInt(k, 11), randInt(k, 11), randInt(1, 9), randInt(1, 70), k, randInt(1, 3), randInt(0, Math.min(2, k - 1))));
  }
  for (let i = 0; i < 4; i++) {
    const [kh, kw] = [randInt(1, 5), randInt(1, 5)];
    shapes.push({ batch: randInt(1, 3), h: randInt(kh, 11), w: randInt(kw, 11), inC: randInt(1, 9), outC: randInt(1, 70), kh, kw, sh: randInt(1, 3), sw: randInt(1, 3),
      padTop: randInt(0, kh - 1), padBottom: randInt(0, kh - 1), padLeft: randInt(0, kw - 1), padRight: randInt(0, kw - 1) });
  }
  for (const g of shapes) {
    const { oh, ow } = outSize(g);
    const x = randn(g.batch * g.h * g.w * g.inC);
    const w = randn(g.kh * g.kw * g.inC * g.outC);
    const dy = randn(g.batch * oh * ow * g.outC);
    const ref = convReference(g, x, w, dy);
    const [xr, wr, dyr] = [x, w, dy].map((a) => upload(ctx, a));
    const y = ctx.region(ctx.buffer(ref.y.length, 'y'), ref.y.length);
    const dx = ctx.region(ctx.buffer(ref.dx.length, 'dx'), ref.dx.length);
    const dw = ctx.region(ctx.buffer(ref.dw.length, 'dw'), ref.dw.length);
    // The implicit GEMMs (3x3 stride-1 forward and input gradient by Winograd: the next test)
    const direct = { winograd: false } as const;
    ctx.run([...convForward(ctx, 't', g, xr, wr, y, {}, direct), ...convInputGrad(ctx, 't', g, dyr, wr, dx, false, direct), ...convFilterGrad(ctx, 't', g, xr, dyr, dw, false, direct)]);
    const what = JSON.stringify(g);
    assertClose(await ctx.read(y), ref.y, `forward ${what}`);
    assertClose(await ctx.read(dx), ref.dx, `input gradient ${what}`);
    assertClose(await ctx.read(dw), ref.dw, `filter gradient ${what}`);
    // accumulate adds to what is there: a second filter gradient doubles it
    ctx.run(convFilterGrad(ctx, 't', g, xr, dyr, dw, true, direct));
    assertClose(await ctx.read(dw), ref.dw.map((v) => 2 * v), `accumulated filter gradient ${what}`);
    ctx.run(convInputGrad(ctx, 't', g, dyr, wr, dx, true, direct));
    assertClose(await ctx.read(dx), ref.dx.map((v) => 2 * v), `accumulated input gradient ${what}`);
    // A tile and K-split given (bench/gemm-tiles.ts's sweep) compute the same products, over what was there.
    const tuning = { tile: g.outC <= THIN_MAX_N || g.inC <= THIN_MAX_N ? undefined : 128, splitK: 3, winograd: false } as const;
    ctx.write(dx, randn(ref.dx.length));
    ctx.run([...convForward(ctx, 't', g, xr, wr, y, {}, tuning), ...convInputGrad(ctx, 't', g, dyr, wr, dx, false, tuning), ...convFilterGrad(ctx, 't', g, xr, dyr, dw, false, tuning)]);
    assertClose(await ctx.read(y), ref.y, `forward ${what}, ${JSON.stringify(tuning)}`);
    assertClose(await ctx.read(dx), ref.dx, `input gradient ${what}, ${JSON.stringify(tuning)}`);
    assertClose(await ctx.read(dw), ref.dw, `filter gradient ${what}, ${JSON.stringify(tuning)}`);
  }
  ctx.dispose();
});

test('WebGPU kernels: 3x3 stride-1 convolutions by Winograd F(2x2, 3x3) and F(4x4, 3x3), all three products', { skip: noGpu }, async () => {
  const ctx = GpuContext.fromTfjs();
  const shapes: ConvGeometry[] = [
    square(2, 7, 9, 5, 6, 3, 1, 1), // output sizes no tile divides: tiles past the edge
    square(1, 6, 5, 3, 4, 3, 1, 0),
    square(1, 5, 6, 4, 3, 3, 1, 2), // padded 2: the input gradient's padding 0
    { ...square(2, 6, 7, 3, 5, 3, 1, 0), padTop: 1, padRight: 1 }, // padded on one side of each axis
    square(2, 16, 16, 64, 72, 3, 1, 1), // forward and input gradient chosen without being asked (F(2x2): 128 tiles)
    square(2, 32, 30, 64, 66, 3, 1, 1), // chosen F(4x4) (128 tiles)
    square(2, 16, 16, 256, 256, 3, 1, 1), // the filter gradient chosen too
  ];
  for (const g of shapes) {
    const { oh, ow } = outSize(g);
    const x = randn(g.batch * g.h * g.w * g.inC);
    const w = randn(9 * g.inC * g.outC);
    const dy = randn(g.batch * oh * ow * g.outC);
    const bias = randn(g.outC);
    const ref = convReference(g, x, w, dy);
    const [xr, wr, dyr, br] = [x, w, dy, bias].map((a) => upload(ctx, a));
    const y = ctx.region(ctx.buffer(ref.y.length, 'y'), ref.y.length);
    const dx = ctx.region(ctx.buffer(ref.dx.length, 'dx'), ref.dx.length);
    const dw = ctx.region(ctx.buffer(ref.dw.length, 'dw'), ref.dw.length);
    const chosen = winogradOf(ctx, g, 'forward')?.m;
    for (const m of chosen ? [chosen] : ([2, 4] as const)) {
      const what = `F(${m}x${m}) ${JSON.stringify(g)}`;
      // asked for where it is not chosen; the filter gradient of the 64-channel shapes asked for too
      const asked = chosen ? {} : { winograd: m };
      const filterAsked = winogradOf(ctx, g, 'filter gradient') ? {} : { winograd: m };
      const forward = convForward(ctx, 't', g, xr, wr, y, {}, asked);
      const gradient = convInputGrad(ctx, 't', g, dyr, wr, dx, false, asked);
      const filter = convFilterGrad(ctx, 't', g, xr, dyr, dw, false, filterAsked);
      for (const [dispatches, label] of [[forward, 't.fwd.winograd-input'], [gradient, 't.dgrad.winograd-output'], [filter, 't.wgrad.winograd-filter-grad']] as const) {
        assert.ok(dispatches.some((d) => d.label === label), `${what}: ${label}`);
      }
      ctx.run([...forward, ...gradient, ...filter]);
      assertClose(await ctx.read(y), ref.y, `forward ${what}`);
      assertClose(await ctx.read(dx), ref.dx, `input gradient ${what}`);
      assertClose(await ctx.read(dw), ref.dw, `filter gradient ${what}`);
      // the bias and a LeakyReLU as the output is stored; the gradients added to what is there
      ctx.run([
        ...convForward(ctx, 't', g, xr, wr, y, { bias: br, activation: 'select(v, 0.2 * v, v < 0.0)' }, { ...asked, tile: 128 }),
        ...convInputGrad(ctx, 't', g, dyr, wr, dx, true, asked), ...convFilterGrad(ctx, 't', g, xr, dyr, dw, true, filterAsked),
      ]);
      const biased = ref.y.map((v, i) => v + bias[i % g.outC]);
      assertClose(await ctx.read(y), biased.map((v) => (v < 0 ? 0.2 * v : v)), `forward with bias and LeakyReLU ${what}`);
      assertClose(await ctx.read(dx), ref.dx.map((v) => 2 * v), `accumulated input gradient ${what}`);
      assertClose(await ctx.read(dw), ref.dw.map((v) => 2 * v), `accumulated filter gradient ${what}`);
      // tiles in three chunks (the last one short), with their transforms' own first tile; the filter
      // gradient's products summed over the chunks
      const s = winogradOf(ctx, g, 'forward', { winograd: m })!;
      const third = Math.ceil((g.batch * Math.ceil(oh / m) * Math.ceil(ow / m)) / 3);
      const chunkBytes = (third + 0.5) * (m + 2) ** 2 * 4 * Math.max(g.inC, g.outC);
      ctx.run([...winogradConv(ctx, 'chunked', s, xr, wr, y, {}, {}, chunkBytes), ...winogradFilterGrad(ctx, 'chunked', s, xr, dyr, dw, false, {}, chunkBytes)]);
      assertClose(await ctx.read(y), ref.y, `forward in chunks of a third of the tiles ${what}`);
      assertClose(await ctx.read(dw), ref.dw, `filter gradient in chunks of a third of the tiles ${what}`);
    }
  }
  assert.equal(winogradOf(ctx, shapes[4], 'forward')?.m, 2, 'F(2x2) where F(4x4) has too few tiles');
  assert.equal(winogradOf(ctx, shapes[5], 'input gradient')?.m, 4, 'F(4x4) for the input gradient too');
  assert.equal(winogradOf(ctx, shapes[5], 'filter gradient'), null, 'too few channel pairs for the filter gradient');
  // Strided, dilated-by-stride or other kernels stay implicit GEMMs; so does an input gradient padded past 2.
  assert.equal(winogradOf(ctx, square(1, 8, 8, 64, 64, 3, 2, 1), 'forward'), null);
  assert.equal(winogradOf(ctx, square(1, 8, 8, 64, 64, 4, 1, 1), 'forward'), null);
  assert.equal(winogradOf(ctx, square(1, 8, 8, 64, 64, 3, 1, 3), 'input gradient', { winograd: 2 }), null);
  assert.equal(winogradOf(ctx, square(2, 16, 16, 16, 64, 3, 1, 1), 'forward'), null, 'too few channels to pay');
  assert.equal(winogradOf(ctx, square(1, 16, 16, 64, 64, 3, 1, 1), 'forward'), null, 'too few tiles to pay');
  ctx.dispose();
});

test('WebGPU kernels: GEMM tiles, edges, K-splits (one asked of a short K too), both staging orders, bias and activation', { skip: noGpu }, async () => {
  const ctx = GpuContext.fromTfjs();
  for (const [M, N, K, split, tile] of [[1, 1, 1, 1, 64], [65, 130, 17, 1, 64], [70, 3, 3000, 5, 'thin'], [33, 64, 4096, 7, 64], [300, 5, 40, 1, 'thin'],
    [130, 260, 37, 1, 128], [257, 129, 100, 3, 128], [5, 7, 9, 1, 128],
    // a split asked of a K shorter than two 16-deep slices comes to one pass
    [20, 16, 12, 3, 64], [40, 4, 12, 3, 'thin']] as [number, number, number, number, 'thin' | 64 | 128][]) {
    const a = randn(M * K);
    const b = randn(K * N);
    // A[m, k] and B[k, n] as matrices; stored either row-major ([M, K], [K, N]) or transposed ([K, M], [N, K]).
    const at = (m: number, k: number, t: boolean) => (t ? a[k * M + m] : a[m * K + k]);
    const bt = (k: number, n: number, t: boolean) => (t ? b[n * K + k] : b[k * N + n]);
    for (const transposed of [false, true]) {
      const want = new Float64Array(M * N);
      for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) want[m * N + n] += at(m, k, transposed) * bt(k, n, transposed);
      const c = ctx.region(ctx.buffer(M * N, 'c'), M * N);
      const spec = { label: 'mm', M, N, K, a: transposed ? rowMajorByOuter(M) : rowMajorByK(K), b: transposed ? rowMajorByK(K) : rowMajorByOuter(N) };
      ctx.run(gemm(ctx, spec, upload(ctx, a), upload(ctx, b), c, { splitK: split, tile }));
      assertClose(await ctx.read(c), want, `matmul ${M}x${K} . ${K}x${N}, split ${split}, tile ${tile}, transposed ${transposed}`);
      // A bias per column and an activation in the store (the K-split's second pass applies them).
      const bias = randn(N);
      ctx.run(gemm(ctx, { ...spec, activation: 'select(v, 0.25 * v, v < 0.0)' }, upload(ctx, a), upload(ctx, b), c, { splitK: split, tile, bias: upload(ctx, bias) }));
      const finished = want.map((v, i) => v + bias[i % N]).map((v) => (v < 0 ? 0.25 * v : v));
      assertClose(await ctx.read(c), finished, `matmul + bias, leaky ${M}x${K} . ${K}x${N}, split ${split}, tile ${tile}, transposed ${transposed}`);
    }
  }
  ctx.dispose();
});

test('WebGPU kernels: batch norm with ReLU / LeakyReLU, forward, running statistics and backward', { skip: noGpu }, async () => {
  const ctx = GpuContext.fromTfjs();
  for (const [rows, C, activation] of [[37, 5, 'relu'], [300, 70, 'leaky'], [8, 64, 'none']] as [number, number, Activation][]) {
    const x = randn(rows * C).map((v, i) => 3 * v + (i % C)); // per-channel offsets: the mean matters
    const gamma = randn(C).map((v) => 1 + 0.3 * v);
    const beta = randn(C);
    const dy = randn(rows * C);
    const running = new Float32Array(2 * C).fill(1, C);
    // float64 reference
    const mean = new Float64Array(C), variance = new Float64Array(C);
    for (let i = 0; i < rows * C; i++) mean[i % C] += x[i] / rows;
    for (let i = 0; i < rows * C; i++) variance[i % C] += (x[i] - mean[i % C]) ** 2 / rows;
    const act = (z: number) => (activation === 'relu' ? Math.max(z, 0) : activation === 'leaky' ? (z > 0 ? z : 0.2 * z) : z);
    const slope = (z: number) => (activation === 'relu' ? (z > 0 ? 1 : 0) : activation === 'leaky' ? (z > 0 ? 1 : 0.2) : 1);
    const y = new Float64Array(rows * C), dz = new Float64Array(rows * C), xhat = new Float64Array(rows * C);
    const sumDz = new Float64Array(C), sumDzXhat = new Float64Array(C);
    for (let i = 0; i < rows * C; i++) {
      const c = i % C;
      xhat[i] = (x[i] - mean[c]) / Math.sqrt(variance[c] + 1e-5);
      const z = gamma[c] * xhat[i] + beta[c];
      y[i] = act(z);
      dz[i] = dy[i] * slope(z);
      sumDz[c] += dz[i];
      sumDzXhat[c] += dz[i] * xhat[i];
    }
    const dx = new Float64Array(rows * C);
    for (let i = 0; i < rows * C; i++) {
      const c = i % C;
      dx[i] = (gamma[c] / Math.sqrt(variance[c] + 1e-5)) * (dz[i] - sumDz[c] / rows - (xhat[i] * sumDzXhat[c]) / rows);
    }
    const runningWant = new Float64Array(2 * C);
    for (let c = 0; c < C; c++) {
      runningWant[c] = 0.1 * mean[c];
      runningWant[C + c] = 0.9 + (0.1 * variance[c] * rows) / (rows - 1);
    }
    const b = {
      x: upload(ctx, x), y: ctx.region(ctx.buffer(rows * C, 'y'), rows * C), gamma: upload(ctx, gamma), beta: upload(ctx, beta),
      running: upload(ctx, running), stats: ctx.region(ctx.buffer(6 * C, 's'), 6 * C),
    };
    const d = { dy: upload(ctx, dy), dx: ctx.region(ctx.buffer(rows * C, 'dx'), rows * C), dGamma: ctx.region(ctx.buffer(C, 'dg'), C), dBeta: ctx.region(ctx.buffer(C, 'db'), C) };
    const layout = { rows, channels: C, activation };
    ctx.run([...batchNormForward(ctx, 't', layout, b), ...batchNormBackward(ctx, 't', layout, b, d, false)]);
    const what = `${rows}x${C} ${activation}`;
    assertClose(await ctx.read(b.y), y, `batch norm ${what}`);
    assertClose(await ctx.read(b.running), runningWant, `running statistics ${what}`);
    assertClose(await ctx.read(d.dx), dx, `d x ${what}`, 3e-4);
    assertClose(await ctx.read(d.dGamma), sumDzXhat, `d gamma ${what}`, 3e-4);
    assertClose(await ctx.read(d.dBeta), sumDz, `d beta ${what}`, 3e-4);
  }
  ctx.dispose();
});

test('WebGPU kernels: Adam matches torch.optim.Adam\'s update over two steps', { skip: noGpu }, async () => {
  const ctx = GpuContext.fromTfjs();
  const n = 1000;
  const p0 = randn(n), g1 = randn(n), g2 = randn(n);
  const o = { lr: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8 };
  const want = Float64Array.from(p0);
  const m = new Float64Array(n), v = new Float64Array(n);
  for (const [t, g] of [[1, g1], [2, g2]] as const) {
    for (let i = 0; i < n; i++) {
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g[i];
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g[i] * g[i];
      want[i] -= ((o.lr / (1 - o.beta1 ** t)) * m[i]) / (Math.sqrt(v[i]) / Math.sqrt(1 - o.beta2 ** t) + o.eps);
    }
  }
  const p = upload(ctx, p0);
  const grads = upload(ctx, g1);
  const mr = ctx.region(ctx.buffer(n, 'm'), n), vr = ctx.region(ctx.buffer(n, 'v'), n);
  const uniform = ctx.uniform(new Float32Array(4), 'u');
  const update = adamUpdate(ctx, 'adam', n, o, p, grads, mr, vr, uniform);
  for (const [t, g] of [[1, g1], [2, g2]] as const) {
    ctx.write(grads, g);
    ctx.device.queue.writeBuffer(uniform, 0, new Float32Array([o.lr / (1 - o.beta1 ** t), Math.sqrt(1 - o.beta2 ** t), 0, 0]));
    ctx.run([update]);
  }
  const got = await ctx.read(p);
  const delta = (a: ArrayLike<number>) => Float64Array.from(a, (x, i) => x - p0[i]);
  assertClose(delta(got), delta(want), 'Adam step', 1e-3);
  ctx.dispose();
  assert.equal(tf.getBackend(), 'webgpu');
});
