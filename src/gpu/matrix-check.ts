/// <reference types="@webgpu/types" />
import { Rng } from '../engine/rng.ts';
import { GpuContext, type Dispatch, type Region } from './context.ts';
import { gemm, rowMajorByK, rowMajorByOuter, type GemmOptions, type GemmSpec } from './kernels/gemm.ts';
import { matrixProductsOf, refuseMatrixProducts } from './matrix-products.ts';

/**
 * The matrix tile's check before any step or draw takes it. Subgroup matrices are an experimental WebGPU
 * feature: a driver or compiler that rejects the kernel would leave every product it makes zero, and
 * one that miscompiles it would train on wrong sums with nothing said. So the device's first matrix
 * products are known ones, at both widths, plain and scaled, the scaled one with operands far outside
 * 16-bit range (as gradients are); where one does not compile or is wrong, the device is left on float32
 * products and the reason is what GANTRY_TENSOR_CORES's note prints.
 */

/** The products checked: M x K times K x N, sizes that leave partial tiles at both widths and a partial K-slice. */
const M = 136;
const N = 136;
const K = 80;
/** Of the largest |exact product|: 16-bit inputs err by ~1e-3 of it, a misplaced block or a lost scale by O(1). */
const TOLERANCE = 1e-2;
/** Scaled products' operands: A's below 16-bit floats' smallest (6e-8), B's above their largest (65504). */
const TINY = 2 ** -30;
const HUGE = 2 ** 18;

type Products = (ctx: GpuContext, s: GemmSpec, a: Region, b: Region, c: Region, o: GemmOptions) => Dispatch[];

/**
 * Runs the check on `ctx`'s device: null where every product came out right, else what went wrong with
 * each that did not (the compiler's or device's complaint, or how far the product was off), so that one
 * record tells which widths and which of plain and scaled fail. `products` is gemm itself but in tests of
 * the check.
 */
export async function matrixTileProblem(ctx: GpuContext, products: Products = gemm): Promise<string | null> {
  const rng = new Rng(1, 'matrix-check');
  const a = rng.fillNormal(new Float32Array(M * K));
  const b = rng.fillNormal(new Float32Array(K * N));
  const exact = new Float64Array(M * N);
  for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) exact[m * N + n] += a[m * K + k] * b[k * N + n];
  const problems: string[] = [];
  for (const scaled of [false, true]) {
    const [sa, sb] = scaled ? [TINY, HUGE] : [1, 1];
    const [A, B] = [ctx.upload(a.map((v) => v * sa), 'matrix-check'), ctx.upload(b.map((v) => v * sb), 'matrix-check')];
    for (const matrixWidth of [64, 128] as const) {
      const what = `its ${matrixWidth}-wide ${scaled ? 'scaled ' : ''}matrix product`;
      const problem = await productProblem(ctx, products, { tile: 'matrix', matrixWidth, scaled, splitK: 1 }, A, B, exact, sa * sb);
      if (problem) problems.push(`${what} ${problem}`);
    }
  }
  return problems.length ? problems.join('; ') : null;
}

/** One product of the check, A B times `scale` against `exact`: null where right, else what went wrong. */
async function productProblem(ctx: GpuContext, products: Products, options: GemmOptions, A: Region, B: Region, exact: Float64Array, scale: number): Promise<string | null> {
  const spec: GemmSpec = { label: 'matrix-check', M, N, K, a: rowMajorByK(K), b: rowMajorByOuter(N) };
  const C = ctx.region(ctx.buffer(M * N, 'matrix-check'), M * N);
  ctx.device.pushErrorScope('validation');
  ctx.device.pushErrorScope('internal');
  let thrown: unknown = null;
  try {
    ctx.run(products(ctx, spec, A, B, C, options));
  } catch (err) {
    thrown = err;
  }
  const errors = [await ctx.device.popErrorScope(), await ctx.device.popErrorScope()].filter((e): e is GPUError => e !== null);
  if (thrown || errors.length) {
    const said = errors.map((e) => e.message).concat(thrown ? [thrown instanceof Error ? thrown.message : String(thrown)] : []);
    return `failed on this device: ${firstLines(said.join('\n'), 12)}`;
  }
  const got = await ctx.read(C);
  let largest = 0;
  let worst = 0;
  let at = 0;
  for (let i = 0; i < exact.length; i++) {
    largest = Math.max(largest, Math.abs(exact[i]));
    const off = Math.abs(got[i] / scale - exact[i]);
    // NaN counts as the worst.
    if (!(off <= worst)) [worst, at] = [Number.isNaN(off) ? Infinity : off, i];
  }
  if (worst <= TOLERANCE * largest) return null;
  return `came out wrong: C[${Math.floor(at / N)}, ${at % N}] of a ${M}x${K} by ${K}x${N} product is ${(got[at] / scale).toPrecision(6)} where it should be ${exact[at].toPrecision(6)} (largest error ${(worst / largest).toExponential(2)} of the largest output)`;
}

/** The first n lines of a compiler's complaint (a miscompiled shader's can run to pages). */
function firstLines(text: string, n: number): string {
  const lines = text.trim().split('\n');
  return lines.length <= n ? lines.join('\n') : `${lines.slice(0, n).join('\n')}\n(${lines.length - n} more lines)`;
}

/**
 * Checks the matrix tile where the device has one (GANTRY_TENSOR_CORES asked and it was granted), and
 * leaves the device on float32 products, with the reason, where the check fails. GANTRY_MATRIX_CHECK=0
 * leaves it unchecked, to see what the tile's own tests say of a tile that fails the check.
 */
export async function checkMatrixTile(device: GPUDevice): Promise<void> {
  if (!matrixProductsOf(device) || process.env.GANTRY_MATRIX_CHECK === '0') return;
  const ctx = new GpuContext(device);
  try {
    const problem = await matrixTileProblem(ctx);
    if (problem) refuseMatrixProducts(device, problem);
  } finally {
    ctx.dispose();
  }
}
