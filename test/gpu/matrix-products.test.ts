import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/engine/rng.ts';
import { GpuContext, type Region } from '../../src/gpu/context.ts';
import { gemm, rowMajorByK, rowMajorByOuter, type GemmOptions, type GemmSpec } from '../../src/gpu/kernels/gemm.ts';
import { matrixTileProblem } from '../../src/gpu/matrix-check.ts';
import { convFilterGrad, convForward, convInputGrad, outSize, winogradOf, type ConvGeometry } from '../../src/gpu/kernels/conv.ts';
import { dawnFlagsFor, matrixFeatures, matrixProductsOf, matrixTrainingRequested, refusedMatrixProducts, tensorCoresRequested } from '../../src/gpu/matrix-products.ts';
import { tf } from '../../src/engine/index.ts';
import { familyModel } from '../../src/bench/family-step.ts';
import { conditionTensor, gridConditions } from '../../src/explore/conditions.ts';
import { vectorsToImages } from '../../src/explore/render.ts';
import { replayedGenerations, TrainSteps } from '../../src/models/step-runner.ts';
import { startWebGpuOrSkip } from './adapter.ts';
import { assertClose, convReference, upload } from './checks.ts';

// The matrix tile (16-bit inputs, 32-bit sums) against float64 products of the same 16-bit-rounded inputs.
// Here (lavapipe, CI) its block products are emulated with loops: its staging, tiling, K-splits, groups,
// batches and epilogue are what is tested. On a GPU with subgroup matrices, run with GANTRY_TENSOR_CORES=1
// to test the same on its matrix units (bench/gpu-session.ts does).
process.env.GANTRY_TENSOR_CORES ??= 'emulate';
const noGpu = await startWebGpuOrSkip();
const device = noGpu ? null : GpuContext.fromTfjs().device;
const matrix = device ? matrixProductsOf(device) : null;
const skip = noGpu || (matrix ? false : `no matrix tile here: ${refusedMatrixProducts(device!) ?? 'not asked for'}`);

const rng = new Rng(11, 'matrix-products');
const randn = (n: number) => rng.fillNormal(new Float32Array(n));

/** x rounded to the nearest 16-bit float (ties to even), as the kernel's f16(x) rounds it. */
function toHalf(x: number): number {
  const a = Math.abs(x);
  if (a === 0 || !Number.isFinite(a)) return x;
  let e = Math.max(Math.floor(Math.log2(a)), -14);
  if (e > -14 && 2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  const ulp = 2 ** (Math.max(e, -14) - 10);
  const q = a / ulp;
  let r = Math.floor(q);
  if (q - r > 0.5 || (q - r === 0.5 && r % 2 === 1)) r++;
  return Math.sign(x) * r * ulp;
}

// Sums of products of 16-bit inputs in float32. The emulated loops add in order and round to the nearest
// (LLVM's conversion). Matrix units add in their own order, and WGSL lets a conversion to f16 take either
// neighbour: a looser bound there, still far below what a misplaced block or row gives (the outputs' scale).
const TOL = matrix === 'subgroup-matrix' ? 2e-3 : 1e-4;

test('16-bit rounding reference: ties to even, subnormals, the largest half', () => {
  assert.equal(toHalf(1 + 2 ** -11), 1); // a tie: to the even neighbour
  assert.equal(toHalf(1 + 3 * 2 ** -11), 1 + 2 ** -9);
  assert.equal(toHalf(65504), 65504);
  assert.equal(toHalf(2 ** -24), 2 ** -24); // the smallest subnormal
  assert.equal(toHalf(2 ** -26), 0);
  assert.equal(toHalf(-0.1), -0.0999755859375);
});

test('GANTRY_TENSOR_CORES: what it asks for, what an adapter without matrix units refuses', () => {
  assert.equal(tensorCoresRequested({}), null);
  assert.equal(tensorCoresRequested({ GANTRY_TENSOR_CORES: '0' }), null);
  assert.equal(tensorCoresRequested({ GANTRY_TENSOR_CORES: '1' }), 'subgroup-matrix');
  assert.equal(tensorCoresRequested({ GANTRY_TENSOR_CORES: 'emulate' }), 'emulated');
  assert.equal(tensorCoresRequested({ GANTRY_TENSOR_CORES: 'train' }), 'subgroup-matrix');
  assert.equal(tensorCoresRequested({ GANTRY_TENSOR_CORES: 'emulate-train' }), 'emulated');
  assert.deepEqual(['1', 'emulate', 'train', 'emulate-train', '0'].map((v) => matrixTrainingRequested({ GANTRY_TENSOR_CORES: v })), [false, false, true, true, false]);
  assert.throws(() => tensorCoresRequested({ GANTRY_TENSOR_CORES: 'yes' }), /use 1 .* train .* emulate or emulate-train .* or 0/);
  const lavapipe = { features: new Set(['shader-f16', 'subgroups']), info: { subgroupMinSize: 8, subgroupMaxSize: 8, subgroupMatrixConfigs: [] } };
  assert.deepEqual(matrixFeatures(lavapipe, 'emulated'), { features: ['shader-f16'] });
  assert.match((matrixFeatures(lavapipe, 'subgroup-matrix') as { refused: string }).refused, /no subgroup matrices/);
  const gpu = { features: new Set(['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix']), info: { subgroupMinSize: 32, subgroupMaxSize: 32, subgroupMatrixConfigs: [{ componentType: 'f16', resultComponentType: 'f16', M: 16, N: 16, K: 16 }] } };
  assert.match((matrixFeatures(gpu, 'subgroup-matrix') as { refused: string }).refused, /no f16 -> f32 16x16x16 .*f16->f16 16x16x16/);
  gpu.info.subgroupMatrixConfigs.push({ componentType: 'f16', resultComponentType: 'f32', M: 16, N: 16, K: 16 });
  assert.deepEqual(matrixFeatures(gpu, 'subgroup-matrix'), { features: ['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix'] });
  assert.match((matrixFeatures({ ...gpu, info: { ...gpu.info, subgroupMinSize: 16 } }, 'subgroup-matrix') as { refused: string }).refused, /16-32 wide/);
  assert.match((matrixFeatures({ features: new Set() }, 'emulated') as { refused: string }).refused, /no 16-bit floats/);
  // Dawn exposes experimental features only with unsafe APIs allowed: merged into the toggles given.
  assert.deepEqual(dawnFlagsFor([], 'subgroup-matrix'), ['enable-dawn-features=allow_unsafe_apis']);
  assert.deepEqual(dawnFlagsFor(['enable-dawn-features=disable_robustness', 'x=1'], 'subgroup-matrix'), ['enable-dawn-features=disable_robustness,allow_unsafe_apis', 'x=1']);
  assert.deepEqual(dawnFlagsFor(['x=1'], 'emulated'), ['x=1']);
});

test('the matrix tile\'s check at start: passed here, and fails a tile that does not compile or loses its scaling', { skip: noGpu }, async () => {
  // startWebGpu ran the check: a tile it refused would skip every test below (in CI too), so its pass is a test.
  assert.doesNotMatch(refusedMatrixProducts(device!) ?? '', /matrix product/);
  if (skip) return;
  const ctx = GpuContext.fromTfjs();
  assert.equal(await matrixTileProblem(ctx), null);
  const unscaled = (c: GpuContext, s: GemmSpec, a: Region, b: Region, out: Region, o: GemmOptions) => gemm(c, s, a, b, out, { ...o, scaled: false });
  assert.match(await matrixTileProblem(ctx, unscaled) ?? '', /^its 64-wide scaled matrix product came out wrong: C\[\d+, \d+\] of a 136x80 by 80x136 product is .* where it should be /);
  const broken = (c: GpuContext, _s: GemmSpec, a: Region, b: Region, out: Region) => [c.dispatch('matrix-check.broken', 'fn main() { let x: f32 = undefined_name; }', [a, b, out], [1])];
  assert.match(await matrixTileProblem(ctx, broken) ?? '', /^its 64-wide matrix product failed on this device: [^]*undefined_name/);
  ctx.dispose();
});

test('matrix tile, 64 and 128 wide: products of 16-bit inputs, edges, K-splits, both staging orders, bias and activation, batches', { skip }, async () => {
  const ctx = GpuContext.fromTfjs();
  // Each shader takes lavapipe seconds to compile: both staging orders (transposed) and the bias and
  // activation only where they add a case.
  const cases: [number, number, number, number, 64 | 128, boolean[], boolean][] = [
    [1, 9, 1, 1, 64, [false], false], [65, 130, 37, 1, 64, [false, true], true], [33, 64, 4096, 7, 64, [false, true], true],
    [130, 17, 100, 3, 64, [true], false], [130, 260, 37, 1, 128, [false, true], true], [200, 150, 1000, 3, 128, [false], true],
  ];
  for (const [M, N, K, split, matrixWidth, orders, withBias] of cases) {
    const a = randn(M * K);
    const b = randn(K * N);
    const at = (m: number, k: number, t: boolean) => toHalf(t ? a[k * M + m] : a[m * K + k]);
    const bt = (k: number, n: number, t: boolean) => toHalf(t ? b[n * K + k] : b[k * N + n]);
    for (const transposed of orders) {
      const want = new Float64Array(M * N);
      for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) want[m * N + n] += at(m, k, transposed) * bt(k, n, transposed);
      const c = ctx.region(ctx.buffer(M * N, 'c'), M * N);
      const spec = { label: 'mm', M, N, K, a: transposed ? rowMajorByOuter(M) : rowMajorByK(K), b: transposed ? rowMajorByK(K) : rowMajorByOuter(N) };
      const what = `${M}x${K} . ${K}x${N}, split ${split}, transposed ${transposed}, ${matrixWidth} wide`;
      const dispatches = gemm(ctx, spec, upload(ctx, a), upload(ctx, b), c, { splitK: split, tile: 'matrix', matrixWidth });
      assert.match(dispatches[0].label, matrixWidth === 128 ? /^mm\.matrix128/ : /^mm\.matrix($|\.)/);
      ctx.run(dispatches);
      assertClose(await ctx.read(c), want, `matrix ${what}`, TOL);
      if (!withBias || transposed) continue;
      const bias = randn(N);
      ctx.run(gemm(ctx, { ...spec, activation: 'select(v, 0.25 * v, v < 0.0)' }, upload(ctx, a), upload(ctx, b), c, { splitK: split, tile: 'matrix', matrixWidth, bias: upload(ctx, bias) }));
      assertClose(await ctx.read(c), want.map((v, i) => v + bias[i % N]).map((v) => (v < 0 ? 0.25 * v : v)), `matrix + bias, leaky ${what}`, TOL);
    }
  }
  // Three products in one dispatch, the second operand shared (a stride of 0), accumulated into what is there.
  const [M, N, K, count] = [140, 140, 50, 3];
  const a = randn(count * M * K);
  const b = randn(K * N);
  const before = randn(count * M * N);
  const want = Float64Array.from(before);
  for (let p = 0; p < count; p++) for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) want[p * M * N + m * N + n] += toHalf(a[p * M * K + m * K + k]) * toHalf(b[k * N + n]);
  for (const matrixWidth of [64, 128] as const) {
    const c = upload(ctx, before);
    ctx.run(gemm(ctx, { label: 'batched', M, N, K, a: rowMajorByK(K), b: rowMajorByOuter(N), batch: { count, a: M * K, b: 0, c: M * N }, accumulate: true }, upload(ctx, a), upload(ctx, b), c, { tile: 'matrix', matrixWidth }));
    assertClose(await ctx.read(c), want, `batched, accumulated, ${matrixWidth} wide`, TOL);
  }
  ctx.dispose();
});

/** The power of two the scaled tile multiplies a panel by whose largest magnitude is `max` (its float32 bits' exponent). */
function halfShift(max: number): number {
  const bits = new Uint32Array(Float32Array.of(max).buffer)[0];
  const e = bits >>> 23;
  return bits === 0 || e === 255 ? 0 : Math.min(60, Math.max(-60, 141 - e));
}

/**
 * C = A B as the scaled matrix tile computes it (A [M, K], B [K, N] row-major): per width x width tile of C
 * and per K-slice of the split, A's rows and B's columns there scaled by the powers of two that take their
 * largest magnitudes to [2^14, 2^15), rounded to 16 bits, multiplied, and scaled back.
 */
function scaledProduct(a: Float32Array, b: Float32Array, M: number, N: number, K: number, split: number, width: number): Float64Array {
  const chunk = Math.max(32, Math.ceil(K / split / 32) * 32);
  const c = new Float64Array(M * N);
  for (let m0 = 0; m0 < M; m0 += width) for (let n0 = 0; n0 < N; n0 += width) for (let k0 = 0; k0 < K; k0 += chunk) {
    const [m1, n1, k1] = [Math.min(M, m0 + width), Math.min(N, n0 + width), Math.min(K, k0 + chunk)];
    let [aMax, bMax] = [0, 0];
    for (let m = m0; m < m1; m++) for (let k = k0; k < k1; k++) aMax = Math.max(aMax, Math.abs(a[m * K + k]));
    for (let k = k0; k < k1; k++) for (let n = n0; n < n1; n++) bMax = Math.max(bMax, Math.abs(b[k * N + n]));
    const [sa, sb] = [halfShift(aMax), halfShift(bMax)];
    for (let m = m0; m < m1; m++) for (let n = n0; n < n1; n++) {
      let sum = 0;
      for (let k = k0; k < k1; k++) sum += toHalf(a[m * K + k] * 2 ** sa) * toHalf(b[k * N + n] * 2 ** sb);
      c[m * N + n] += sum * 2 ** -(sa + sb);
    }
  }
  return c;
}

test('scaled matrix tile: operands far outside 16-bit range (a training step\'s gradients) keep their 10 bits, panel by panel', { skip }, async () => {
  const ctx = GpuContext.fromTfjs();
  const [N, K] = [72, 200];
  const b = randn(K * N).map((v) => v * 1e-3);
  for (const [split, width] of [[1, 64], [3, 64], [2, 128]] as const) {
    // A's first tile of rows ~1e-9, below 16 bits' smallest value; the rest ~3e5, past its largest.
    const M = 2 * width + 2;
    const a = randn(M * K).map((v, i) => v * (i < width * K ? 1e-9 : 3e5));
    const exact = new Float64Array(M * N);
    for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) exact[m * N + n] += a[m * K + k] * b[k * N + n];
    const spec = { label: 'scaled', M, N, K, a: rowMajorByK(K), b: rowMajorByOuter(N) };
    const c = ctx.region(ctx.buffer(M * N, 'c'), M * N);
    // Rows from..to, the tiny ones times 1e9 (assertClose's scale is at least 1e-3).
    const rows = (v: ArrayLike<number>, from: number, to: number) => Float64Array.from({ length: (to - from) * N }, (_, i) => v[from * N + i] * (from < width ? 1e9 : 1));
    ctx.run(gemm(ctx, spec, upload(ctx, a), upload(ctx, b), c, { tile: 'matrix', scaled: true, splitK: split, matrixWidth: width }));
    const got = await ctx.read(c);
    const want = scaledProduct(a, b, M, N, K, split, width);
    for (const [from, to] of [[0, width], [width, M]]) {
      const what = `rows ${from}-${to}, split ${split}, ${width} wide`;
      assertClose(rows(got, from, to), rows(want, from, to), `${what}, against the scaled 16-bit reference`, TOL);
      // and within 16-bit rounding of the exact product
      assertClose(rows(got, from, to), rows(exact, from, to), `${what}, against the exact product`, 2e-3);
    }
    if (width === 128) continue;
    // Unscaled, the tiny rows vanish and the large ones are clamped.
    ctx.run(gemm(ctx, spec, upload(ctx, a), upload(ctx, b), c, { tile: 'matrix', splitK: split }));
    const unscaled = await ctx.read(c);
    assert.ok(unscaled.slice(0, width * N).every((v) => v === 0), 'unscaled: rows of 1e-9 vanish');
    assert.throws(() => assertClose(rows(unscaled, width, M), rows(exact, width, M), 'unscaled large rows', 2e-3), /element/);
  }
  // A transposed convolution's residue classes (grouped) and a filter gradient, with dy ~1e-8.
  const g: ConvGeometry = { batch: 2, h: 9, w: 8, inC: 20, outC: 96, kh: 3, kw: 3, sh: 2, sw: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 };
  const { oh, ow } = outSize(g);
  const x = randn(g.batch * g.h * g.w * g.inC);
  const w = randn(g.kh * g.kw * g.inC * g.outC).map((v) => v * 0.02);
  const dy = randn(g.batch * oh * ow * g.outC).map((v) => v * 1e-8);
  const ref = convReference(g, x, w, dy);
  const dx = ctx.region(ctx.buffer(x.length, 'dx'), x.length);
  const dw = ctx.region(ctx.buffer(w.length, 'dw'), w.length);
  for (const splitK of [1, 2]) {
    const tuning = { tile: 'matrix', scaled: true, splitK } as const;
    ctx.run([...convInputGrad(ctx, 't', g, upload(ctx, dy), upload(ctx, w), dx, false, tuning), ...convFilterGrad(ctx, 't', g, upload(ctx, x), upload(ctx, dy), dw, false, tuning)]);
    assertClose(await ctx.read(dx), ref.dx, `input gradient of dy ~1e-8, split ${splitK}`, 2e-3);
    assertClose(await ctx.read(dw), ref.dw, `filter gradient of dy ~1e-8, split ${splitK}`, 2e-3);
  }
  ctx.dispose();
});

test('matrix tile: a transposed convolution (the input gradient\'s residue classes as groups, K-split) and a forward one', { skip }, async () => {
  const ctx = GpuContext.fromTfjs();
  // DCGAN's generator layers (4x4 stride 2) and pix2pixHD's 3x3 stride 2, whose classes differ in their taps
  const shapes: ConvGeometry[] = [
    { batch: 2, h: 16, w: 16, inC: 24, outC: 40, kh: 4, kw: 4, sh: 2, sw: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 },
    { batch: 2, h: 9, w: 8, inC: 20, outC: 96, kh: 3, kw: 3, sh: 2, sw: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 },
    // 3x3 stride 1: also by Winograd, whose batched products take the matrix tile (pix2pixHD's residual blocks in a translation)
    { batch: 2, h: 10, w: 11, inC: 32, outC: 24, kh: 3, kw: 3, sh: 1, sw: 1, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 },
  ];
  for (const g of shapes) {
    const { oh, ow } = outSize(g);
    const x = randn(g.batch * g.h * g.w * g.inC).map(toHalf);
    const w = randn(g.kh * g.kw * g.inC * g.outC).map(toHalf);
    const dy = randn(g.batch * oh * ow * g.outC).map(toHalf);
    const { y, dx } = convReference(g, x, w, dy);
    const [xr, wr, dyr] = [x, w, dy].map((v) => upload(ctx, v));
    const yr = ctx.region(ctx.buffer(y.length, 'y'), y.length);
    const dxr = ctx.region(ctx.buffer(dx.length, 'dx'), dx.length);
    // K-splits of the 4x4 classes; the 128-wide tile on the 3x3 classes, which differ in their taps.
    const widths: [number, 64 | 128][] = g.kh === 4 ? [[1, 64], [2, 64]] : g.sh === 2 ? [[2, 64], [2, 128]] : [[1, 64]];
    for (const [splitK, matrixWidth] of widths) {
      const tuning = { tile: 'matrix', splitK, matrixWidth, winograd: false } as const;
      ctx.run([...convForward(ctx, 't', g, xr, wr, yr, {}, tuning), ...convInputGrad(ctx, 't', g, dyr, wr, dxr, false, tuning)]);
      assertClose(await ctx.read(yr), y, `forward ${JSON.stringify(g)}, split ${splitK}, ${matrixWidth} wide`, TOL);
      assertClose(await ctx.read(dxr), dx, `transposed ${JSON.stringify(g)}, split ${splitK}, ${matrixWidth} wide`, TOL);
    }
    if (g.kh !== 3 || g.sh !== 1) continue;
    // Winograd's F(2x2) transforms run in float32 and their results are rounded to 16 bits: within a 16-bit
    // rounding of the transformed values, not of the inputs. (F(4x4)'s coefficients, up to 8, magnify that
    // 20-fold: the matrix tile never takes it where gantry chooses, below.)
    const tuning = { tile: 'matrix', winograd: 2 } as const;
    ctx.run([...convForward(ctx, 't', g, xr, wr, yr, {}, tuning), ...convInputGrad(ctx, 't', g, dyr, wr, dxr, false, tuning)]);
    assertClose(await ctx.read(yr), y, `forward by F(2x2) ${JSON.stringify(g)}`, 2e-3);
    assertClose(await ctx.read(dxr), dx, `input gradient by F(2x2) ${JSON.stringify(g)}`, 2e-3);
  }
  // Where gantry chooses F(4x4) in float32, the matrix tile takes F(2x2).
  const vggLike: ConvGeometry = { batch: 2, h: 32, w: 32, inC: 64, outC: 64, kh: 3, kw: 3, sh: 1, sw: 1, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 };
  for (const product of ['forward', 'input gradient'] as const) {
    assert.equal(winogradOf(ctx, vggLike, product)?.m, 4, product);
    assert.equal(winogradOf(ctx, vggLike, product, { tile: 'matrix' })?.m, 2, `${product} on the matrix tile`);
  }
  ctx.dispose();
});

test('GANTRY_TENSOR_CORES: a generator\'s draws take the matrix tile, replayed, close to its float32 images', { skip }, async () => {
  for (const family of ['cgan', 'dcgan']) {
    const { model, info } = familyModel(family, 'mnist', { imageSize: 32 }, 8);
    const run = { info, model };
    const conditions = await gridConditions(run, 8);
    const vectors = Array.from({ length: 8 }, () => randn(info.latentDim));
    // The same networks outside a draw: float32 products (dcgan's own GPU generator draws wherever it runs:
    // its tfjs network, in evaluation mode).
    const z = tf.tensor2d(vectors.flatMap((v) => [...v]), [8, info.latentDim]);
    const eager = family === 'dcgan' ? (model as unknown as { G: { apply(z: tf.Tensor, training: boolean): tf.Tensor } }).G.apply(z, false) : model.generate!(z, conditionTensor(conditions));
    const reference = await eager.data();
    tf.dispose([z, eager]);
    // eager, recorded twice, replayed
    for (let i = 0; i < 4; i++) {
      const images = vectorsToImages(run, vectors, conditions);
      const got = await images.data();
      images.dispose();
      let [largest, same] = [0, true];
      for (let j = 0; j < got.length; j++) {
        largest = Math.max(largest, Math.abs(got[j] - reference[j]));
        same &&= got[j] === reference[j];
      }
      assert.ok(!same, `${family}: draw ${i} is float32's bit for bit: not the matrix tile`);
      assert.ok(largest < 2e-2, `${family}: draw ${i} differs from float32's by ${largest}`);
    }
    if (family === 'cgan') assert.ok(replayedGenerations(model) >= 1, `${family}: the draws were replayed`);
    model.dispose();
  }
});

/** A family's losses over `steps` training steps (replayed where the family's steps are) with GANTRY_TENSOR_CORES set so. */
async function trainingLosses(family: string, model: Record<string, unknown>, setting: string, steps: number): Promise<Record<string, number>[]> {
  const was = process.env.GANTRY_TENSOR_CORES;
  process.env.GANTRY_TENSOR_CORES = setting;
  try {
    const { model: m, batchAt } = familyModel(family, 'mnist', model, 8);
    const runner = new TrainSteps(m);
    const losses: Record<string, number>[] = [];
    for (let step = 0; step < steps; step++) {
      const batch = batchAt(step);
      const l = runner.run(batch, { step, rng: new Rng(1, 'step', step) });
      losses.push(Object.fromEntries(await Promise.all(Object.entries(l).map(async ([k, t]) => [k, (await t.data())[0]] as const))));
      tf.dispose([batch.images, batch.labels ?? [], ...Object.values(l)]);
    }
    runner.dispose();
    m.dispose();
    return losses;
  } finally {
    process.env.GANTRY_TENSOR_CORES = was;
  }
}

test('GANTRY_TENSOR_CORES=train: training steps on the scaled matrix tile follow float32\'s (a VAE\'s loss falls as fast; DCGAN\'s hand-built step)', { skip }, async () => {
  const before = tf.memory().numTensors;
  // The device's kind of matrix products in draws only (float32 steps), and in training steps too.
  const [drawsOnly, training] = matrix === 'emulated' ? ['emulate', 'emulate-train'] : ['1', 'train'];
  for (const [family, model, steps] of [['vae', { imageSize: 32, width: 8, latent: 8 }, 16], ['dcgan', { imageSize: 32, ngf: 8, ndf: 8 }, 4]] as const) {
    const float32 = await trainingLosses(family, model, drawsOnly, steps);
    const onMatrix = await trainingLosses(family, model, training, steps);
    const names = Object.keys(float32[0]);
    assert.notDeepEqual(onMatrix, float32, `${family}: the same losses as float32's bit for bit: the matrix tile was not used`);
    for (const [i, l] of onMatrix.entries()) {
      // Trajectories part slowly (the VAE's KL term, a few units against a thousand, the most: 3% by step 16).
      for (const k of names) assert.ok(Math.abs(l[k] - float32[i][k]) <= 5e-2 * Math.abs(float32[i][k]) + 1e-3, `${family} step ${i} ${k}: ${l[k]} on the matrix tile, ${float32[i][k]} in float32`);
    }
    if (family === 'vae') {
      const mean = (ls: Record<string, number>[]) => ls.reduce((t, l) => t + l.lossTotal, 0) / ls.length;
      assert.ok(mean(onMatrix.slice(-4)) < 0.8 * mean(onMatrix.slice(0, 4)), `vae on the matrix tile: loss ${onMatrix.map((l) => l.lossTotal.toFixed(1))} does not fall`);
    }
  }
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
});
