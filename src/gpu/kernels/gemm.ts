import { elementwiseGrid, type Dispatch, type GpuContext, type Region } from '../context.ts';

/**
 * A tiled GEMM C[M,N] (+)= A[M,K] B[K,N] whose operands are gathered by WGSL functions, so that one
 * kernel serves as an implicit-GEMM convolution (forward, input gradient and filter gradient) without
 * materialising im2col. 64x64 output tiles, 16-deep K slices staged in workgroup memory (8 KiB),
 * 256 threads with a 4x4 block of outputs each. Long K with few tiles (filter gradients) is split
 * across workgroups (grid z); a second dispatch sums the partial products.
 */
export interface GemmSpec {
  label: string;
  M: number;
  N: number;
  K: number;
  /** WGSL body of fn loadA(m: u32, k: u32) -> f32, reading binding `A` (called with m < M, k < K). */
  loadA: string;
  /** WGSL body of fn loadB(k: u32, n: u32) -> f32, reading binding `B`. */
  loadB: string;
  /** WGSL body of fn storeIndex(m: u32, n: u32) -> u32: where C[m, n] lives in the output. */
  storeIndex?: string;
  /** Whether neighbouring threads should walk k (rather than m, or n) when staging A (B) tiles. */
  aKFast: boolean;
  bKFast: boolean;
  /** Add to the output instead of overwriting it (gradients summed over two passes). */
  accumulate?: boolean;
}

const TILE = 64;
const DEPTH = 16;

/** Workgroups that fill an H100 (132 SMs, ~4 each). */
const FULL_GRID = 512;

/** Outputs at most this wide use the one-row-per-thread kernel. */
export const THIN_MAX_N = 8;

function chooseThinSplitK(M: number, K: number): number {
  const groups = Math.ceil(M / 16);
  if (groups >= FULL_GRID || K < 1024) return 1;
  return Math.max(1, Math.min(Math.ceil(FULL_GRID / groups), Math.floor(K / 256)));
}

/**
 * How many K-splits give the GPU enough workgroups: with one 256-thread workgroup per SM an H100 sits
 * mostly idle waiting on memory (measured: 12 TFLOP/s at 128 tiles), so aim for ~4 per SM.
 */
export function chooseSplitK(M: number, N: number, K: number): number {
  const tiles = Math.ceil(M / TILE) * Math.ceil(N / TILE);
  if (tiles >= FULL_GRID || K < 512) return 1;
  return Math.max(1, Math.min(Math.ceil(FULL_GRID / tiles), Math.floor(K / 256)));
}

/** Bindings A, B, C, the sizes and the spec's gather and store functions, shared by the GEMM kernels. */
function prelude(s: GemmSpec, kChunk: number): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
const M = ${s.M}u;
const N = ${s.N}u;
const K = ${s.K}u;
const KCHUNK = ${kChunk}u;
fn loadA(m: u32, k: u32) -> f32 { ${s.loadA} }
fn loadB(k: u32, n: u32) -> f32 { ${s.loadB} }
fn storeIndex(m: u32, n: u32) -> u32 { ${s.storeIndex ?? 'return m * N + n;'} }`;
}

function gemmSource(s: GemmSpec, split: number, kChunk: number): string {
  const aLoad = s.aKFast ? 'let kk = idx % 16u; let mm = idx / 16u;' : 'let mm = idx % 64u; let kk = idx / 64u;';
  const bLoad = s.bKFast ? 'let kk = idx % 16u; let nn = idx / 16u;' : 'let nn = idx % 64u; let kk = idx / 64u;';
  const write = split > 1
    ? 'C[wg.z * M * N + m * N + n] = v;'
    : `let o = storeIndex(m, n); C[o] = ${s.accumulate ? 'C[o] + ' : ''}v;`;
  return /* wgsl */ `${prelude(s, kChunk)}
var<workgroup> As: array<vec4<f32>, ${(DEPTH * TILE) / 4}>;
var<workgroup> Bs: array<vec4<f32>, ${(DEPTH * TILE) / 4}>;
var<workgroup> Af: array<f32, ${DEPTH * TILE}>;
var<workgroup> Bf: array<f32, ${DEPTH * TILE}>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let m0 = wg.x * 64u;
  let n0 = wg.y * 64u;
  let kBegin = wg.z * KCHUNK;
  let kEnd = min(K, kBegin + KCHUNK);
  let tx = li % 16u;
  let ty = li / 16u;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = kBegin; k0 < kEnd; k0 += 16u) {
    for (var i = 0u; i < 4u; i++) {
      let idx = li + i * 256u;
      {
        ${aLoad}
        let m = m0 + mm;
        let k = k0 + kk;
        var a = 0.0;
        if (m < M && k < kEnd) { a = loadA(m, k); }
        Af[kk * 64u + mm] = a;
      }
      {
        ${bLoad}
        let n = n0 + nn;
        let k = k0 + kk;
        var b = 0.0;
        if (n < N && k < kEnd) { b = loadB(k, n); }
        Bf[kk * 64u + nn] = b;
      }
    }
    workgroupBarrier();
    // Repack as vec4 rows so the inner loop reads 2 vectors per 16 multiply-adds.
    As[li] = vec4<f32>(Af[li * 4u], Af[li * 4u + 1u], Af[li * 4u + 2u], Af[li * 4u + 3u]);
    Bs[li] = vec4<f32>(Bf[li * 4u], Bf[li * 4u + 1u], Bf[li * 4u + 2u], Bf[li * 4u + 3u]);
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let a = As[kk * 16u + ty];
      let b = Bs[kk * 16u + tx];
      acc[0] += a.x * b;
      acc[1] += a.y * b;
      acc[2] += a.z * b;
      acc[3] += a.w * b;
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + ty * 4u + i;
    if (m >= M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + tx * 4u + j;
      if (n >= N) { continue; }
      let v = acc[i][j];
      ${write}
    }
  }
}`;
}

/**
 * The large-output variant: 128x128 tiles, 8x8 outputs per thread (two 4x4 blocks 64 apart in each
 * direction, so the vec4 reads of workgroup memory stay conflict-free), 16 floats of workgroup
 * memory read per 64 multiply-adds instead of per 16. Worth it only with enough tiles to fill the GPU.
 */
function wideSource(s: GemmSpec, split: number, kChunk: number): string {
  // Each thread stages two vec4s of A (4 neighbouring m at one k) and two of B.
  const stage = (name: 'A' | 'B', kFast: boolean, dim: 'm' | 'n', base: string, bound: string) => {
    const load = name === 'A' ? (x: string) => `loadA(${x}, k)` : (x: string) => `loadB(k, ${x})`;
    const head = kFast ? 'let kk = li % 16u; let q = li / 16u + 16u * p;' : 'let q = li % 32u; let kk = li / 32u + 8u * p;';
    return `for (var p = 0u; p < 2u; p++) {
      ${head}
      let k = k0 + kk;
      let ${dim} = ${base} + 4u * q;
      var v = vec4<f32>(0.0);
      if (k < kEnd) {
        if (${dim} < ${bound}) { v.x = ${load(dim)}; }
        if (${dim} + 1u < ${bound}) { v.y = ${load(`${dim} + 1u`)}; }
        if (${dim} + 2u < ${bound}) { v.z = ${load(`${dim} + 2u`)}; }
        if (${dim} + 3u < ${bound}) { v.w = ${load(`${dim} + 3u`)}; }
      }
      ${name}s[kk * 32u + q] = v;
    }`;
  };
  const write = split > 1 ? 'C[wg.z * M * N + m * N + n] = v;' : `let o = storeIndex(m, n); C[o] = ${s.accumulate ? 'C[o] + ' : ''}v;`;
  return /* wgsl */ `${prelude(s, kChunk)}
var<workgroup> As: array<vec4<f32>, 512>;
var<workgroup> Bs: array<vec4<f32>, 512>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let m0 = wg.x * 128u;
  let n0 = wg.y * 128u;
  let kBegin = wg.z * KCHUNK;
  let kEnd = min(K, kBegin + KCHUNK);
  let tx = li % 16u;
  let ty = li / 16u;
  var acc: array<vec4<f32>, 16>;
  for (var k0 = kBegin; k0 < kEnd; k0 += 16u) {
    ${stage('A', s.aKFast, 'm', 'm0', 'M')}
    ${stage('B', s.bKFast, 'n', 'n0', 'N')}
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let a0 = As[kk * 32u + ty];
      let a1 = As[kk * 32u + 16u + ty];
      let b0 = Bs[kk * 32u + tx];
      let b1 = Bs[kk * 32u + 16u + tx];
      acc[0] += a0.x * b0; acc[1] += a0.x * b1;
      acc[2] += a0.y * b0; acc[3] += a0.y * b1;
      acc[4] += a0.z * b0; acc[5] += a0.z * b1;
      acc[6] += a0.w * b0; acc[7] += a0.w * b1;
      acc[8] += a1.x * b0; acc[9] += a1.x * b1;
      acc[10] += a1.y * b0; acc[11] += a1.y * b1;
      acc[12] += a1.z * b0; acc[13] += a1.z * b1;
      acc[14] += a1.w * b0; acc[15] += a1.w * b1;
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 8u; r++) {
    let m = m0 + (r / 4u) * 64u + ty * 4u + r % 4u;
    if (m >= M) { continue; }
    for (var h = 0u; h < 2u; h++) {
      for (var j = 0u; j < 4u; j++) {
        let n = n0 + h * 64u + tx * 4u + j;
        if (n >= N) { continue; }
        let v = acc[r * 2u + h][j];
        ${write}
      }
    }
  }
}`;
}

/**
 * For outputs a few columns wide (an RGB image, one logit) a 64-wide tile would waste most of its
 * work. Here 16 threads share one output row, each summing every 16th k for all N (<= 8) columns, so
 * that neighbouring threads read neighbouring floats of A; the 16 partial sums then meet in workgroup
 * memory. 16 rows per workgroup; the grid is two-dimensional for very tall outputs.
 */
function thinSource(s: GemmSpec, split: number, kChunk: number, gridX: number): string {
  const write = split > 1 ? 'C[wg.z * M * N + m * N + n] = v;' : `let o = storeIndex(m, n); C[o] = ${s.accumulate ? 'C[o] + ' : ''}v;`;
  return /* wgsl */ `${prelude(s, kChunk)}
var<workgroup> red: array<f32, ${256 * s.N}>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = li / 16u;
  let lane = li % 16u;
  let m = (wg.y * ${gridX}u + wg.x) * 16u + row;
  let kBegin = wg.z * KCHUNK;
  let kEnd = min(K, kBegin + KCHUNK);
  var acc: array<f32, ${s.N}>;
  if (m < M) {
    for (var k = kBegin + lane; k < kEnd; k += 16u) {
      let a = loadA(m, k);
      for (var n = 0u; n < N; n++) { acc[n] += a * loadB(k, n); }
    }
  }
  for (var n = 0u; n < N; n++) { red[li * N + n] = acc[n]; }
  workgroupBarrier();
  if (lane == 0u && m < M) {
    for (var n = 0u; n < N; n++) {
      var v = 0.0;
      for (var l = 0u; l < 16u; l++) { v += red[(li + l) * N + n]; }
      ${write}
    }
  }
}`;
}

function reduceSource(s: GemmSpec, split: number, stride: number): string {
  const storeIndex = s.storeIndex ?? 'return m * N + n;';
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> P: array<f32>;
@group(0) @binding(1) var<storage, read_write> C: array<f32>;
const M = ${s.M}u;
const N = ${s.N}u;
fn storeIndex(m: u32, n: u32) -> u32 { ${storeIndex} }
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var i = gid.x; i < M * N; i += ${stride}u) {
    var v = 0.0;
    for (var s = 0u; s < ${split}u; s++) { v += P[s * M * N + i]; }
    let o = storeIndex(i / N, i % N);
    C[o] = ${s.accumulate ? 'C[o] + ' : ''}v;
  }
}`;
}

/** The dispatches of one GEMM (one, or two with a K-split), A, B and C as bindings 0, 1, 2. */
export function gemm(ctx: GpuContext, s: GemmSpec, a: Region, b: Region, c: Region, splitK?: number, tile?: 'thin' | 64 | 128): Dispatch[] {
  tile ??= s.N <= THIN_MAX_N ? 'thin' : s.N >= 128 && Math.ceil(s.M / 128) * Math.ceil(s.N / 128) >= FULL_GRID ? 128 : 64;
  const thin = tile === 'thin';
  const side = tile === 128 ? 128 : TILE;
  const thinGroups = Math.ceil(s.M / 16);
  const thinX = Math.min(thinGroups, 65535);
  const grid: [number, number, number] = thin ? [thinX, Math.ceil(thinGroups / thinX), 1] : [Math.ceil(s.M / side), Math.ceil(s.N / side), 1];
  const source = (spec: GemmSpec, split: number, kChunk: number) =>
    thin ? thinSource(spec, split, kChunk, thinX) : tile === 128 ? wideSource(spec, split, kChunk) : gemmSource(spec, split, kChunk);
  splitK ??= thin ? chooseThinSplitK(s.M, s.K) : tile === 128 ? 1 : chooseSplitK(s.M, s.N, s.K);
  if (splitK <= 1) return [ctx.dispatch(s.label, source(s, 1, s.K), [a, b, c], grid)];
  const kChunk = Math.ceil(s.K / splitK / DEPTH) * DEPTH;
  const split = Math.ceil(s.K / kChunk);
  const partial = ctx.region(ctx.buffer(split * s.M * s.N, `${s.label}.partial`), split * s.M * s.N);
  const g = elementwiseGrid(s.M * s.N);
  return [
    ctx.dispatch(`${s.label}.splitk`, source(s, split, kChunk), [a, b, partial], [grid[0], grid[1], split]),
    ctx.dispatch(`${s.label}.reduce`, reduceSource(s, split, g.stride), [partial, c], g.workgroups),
  ];
}
