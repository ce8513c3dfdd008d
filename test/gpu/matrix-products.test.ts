import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/engine/rng.ts';
import { GpuContext } from '../../src/gpu/context.ts';
import { gemm, rowMajorByK, rowMajorByOuter } from '../../src/gpu/kernels/gemm.ts';
import { convForward, convInputGrad, outSize, winogradOf, type ConvGeometry } from '../../src/gpu/kernels/conv.ts';
import { dawnFlagsFor, matrixFeatures, matrixProductsOf, refusedMatrixProducts, tensorCoresRequested } from '../../src/gpu/matrix-products.ts';
import { tf } from '../../src/engine/index.ts';
import { familyModel } from '../../src/bench/family-step.ts';
import { conditionTensor, gridConditions } from '../../src/explore/conditions.ts';
import { vectorsToImages } from '../../src/explore/render.ts';
import { replayedGenerations } from '../../src/models/step-runner.ts';
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
  assert.throws(() => tensorCoresRequested({ GANTRY_TENSOR_CORES: 'yes' }), /use 1 .* emulate .* or 0/);
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

test('matrix tile: products of 16-bit inputs, edges, K-splits, both staging orders, bias and activation, batches', { skip }, async () => {
  const ctx = GpuContext.fromTfjs();
  for (const [M, N, K, split] of [[1, 9, 1, 1], [65, 130, 37, 1], [64, 64, 64, 1], [33, 64, 4096, 7], [130, 17, 100, 3], [200, 72, 20, 3]]) {
    const a = randn(M * K);
    const b = randn(K * N);
    const at = (m: number, k: number, t: boolean) => toHalf(t ? a[k * M + m] : a[m * K + k]);
    const bt = (k: number, n: number, t: boolean) => toHalf(t ? b[n * K + k] : b[k * N + n]);
    for (const transposed of [false, true]) {
      const want = new Float64Array(M * N);
      for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) want[m * N + n] += at(m, k, transposed) * bt(k, n, transposed);
      const c = ctx.region(ctx.buffer(M * N, 'c'), M * N);
      const spec = { label: 'mm', M, N, K, a: transposed ? rowMajorByOuter(M) : rowMajorByK(K), b: transposed ? rowMajorByK(K) : rowMajorByOuter(N) };
      const what = `${M}x${K} . ${K}x${N}, split ${split}, transposed ${transposed}`;
      const dispatches = gemm(ctx, spec, upload(ctx, a), upload(ctx, b), c, { splitK: split, tile: 'matrix' });
      assert.match(dispatches[0].label, /^mm\.matrix/);
      ctx.run(dispatches);
      assertClose(await ctx.read(c), want, `matrix ${what}`, TOL);
      const bias = randn(N);
      ctx.run(gemm(ctx, { ...spec, activation: 'select(v, 0.25 * v, v < 0.0)' }, upload(ctx, a), upload(ctx, b), c, { splitK: split, tile: 'matrix', bias: upload(ctx, bias) }));
      assertClose(await ctx.read(c), want.map((v, i) => v + bias[i % N]).map((v) => (v < 0 ? 0.25 * v : v)), `matrix + bias, leaky ${what}`, TOL);
    }
  }
  // Three products in one dispatch, the second operand shared (a stride of 0), accumulated into what is there.
  const [M, N, K, count] = [70, 40, 50, 3];
  const a = randn(count * M * K);
  const b = randn(K * N);
  const before = randn(count * M * N);
  const want = Float64Array.from(before);
  for (let p = 0; p < count; p++) for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) want[p * M * N + m * N + n] += toHalf(a[p * M * K + m * K + k]) * toHalf(b[k * N + n]);
  const c = upload(ctx, before);
  ctx.run(gemm(ctx, { label: 'batched', M, N, K, a: rowMajorByK(K), b: rowMajorByOuter(N), batch: { count, a: M * K, b: 0, c: M * N }, accumulate: true }, upload(ctx, a), upload(ctx, b), c, { tile: 'matrix' }));
  assertClose(await ctx.read(c), want, 'batched, accumulated', TOL);
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
    for (const splitK of [1, 2]) {
      const tuning = { tile: 'matrix', splitK, winograd: false } as const;
      ctx.run([...convForward(ctx, 't', g, xr, wr, yr, {}, tuning), ...convInputGrad(ctx, 't', g, dyr, wr, dxr, false, tuning)]);
      assertClose(await ctx.read(yr), y, `forward ${JSON.stringify(g)}, split ${splitK}`, TOL);
      assertClose(await ctx.read(dxr), dx, `transposed ${JSON.stringify(g)}, split ${splitK}`, TOL);
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
