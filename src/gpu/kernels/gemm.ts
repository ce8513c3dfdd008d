import { elementwiseGrid, type Dispatch, type GpuContext, type Region } from '../context.ts';
import { MATRIX_BLOCK, MATRIX_SUBGROUP, matrixProductsOf, type MatrixProducts } from '../matrix-products.ts';
import { candidateSplits, gemmKey, gemmTuningEnabled, tunedGemm, type GemmChoice } from '../gemm-tuning.ts';

/**
 * A tiled GEMM C[M,N] (+)= A[M,K] B[K,N] whose operands are gathered by WGSL functions, so that one
 * kernel serves as an implicit-GEMM convolution (forward, input gradient and filter gradient) without
 * materialising im2col. Kernels: 64x64 tiles with 4x4 outputs per thread; 128x128 tiles with 8x8 for
 * large outputs; one row per 16 threads for outputs a few columns wide; and, where asked, 64- or 128-wide
 * tiles of 16-bit inputs on the GPU's matrix units. K is staged 16 deep (32 on the matrix units) in
 * workgroup memory; long K with few tiles is split across workgroups (grid z) and summed after.
 *
 * An operand's address splits into a part that depends only on its outer index (A's row m, B's column
 * n) and a part that depends only on k, e.g. im2col: pixel base + tap offset. Each thread works out
 * the outer parts of the rows it stages once, before the K loop; inside it only the k parts, which
 * threads staging the same k share. (Decoding (n, oy, ox, kh, kw, ci) for every element made integer
 * arithmetic, not multiply-adds, the bound of the first version: ~12 TFLOP/s on an H100.)
 */
export interface Operand {
  /** WGSL body of fn xOuter(i: u32) -> vec4<i32>: what the row m (of A) or column n (of B) contributes. */
  outer: string;
  /** WGSL body of fn xInner(k: u32) -> vec4<i32>: what k contributes. */
  inner: string;
  /** WGSL body of fn xLoad(o: vec4<i32>, i: vec4<i32>) -> f32, reading binding A (or B); 0 in padding. */
  load: string;
  /** Whether neighbouring threads should walk k (rather than the outer index) when staging tiles. */
  kFast: boolean;
}

export interface GemmSpec {
  label: string;
  M: number;
  N: number;
  K: number;
  a: Operand;
  b: Operand;
  /** Module-scope WGSL (constants) the operand and store functions use. */
  constants?: string;
  /** WGSL body of fn storeIndex(m: u32, n: u32) -> u32: where C[m, n] lives in the output. */
  storeIndex?: string;
  /** Add to the output instead of overwriting it (gradients summed over two passes). */
  accumulate?: boolean;
  /**
   * WGSL expression of v, the finished output (after the bias, if any), that is stored instead: a fused
   * activation such as `max(v, 0.0)`.
   */
  activation?: string;
  /**
   * `count` products at once (grid z; no K-split): A, B and C of product z start z * a, z * b and z * c
   * floats in (a stride of 0 shares one matrix among all, as a broadcast does).
   */
  batch?: GemmBatch;
  /**
   * Several products in one dispatch (grid z = group x K-split; no batch): they share N, the operands' and
   * the store's WGSL, and differ in their rows, their K and the named i32 values those functions read
   * (the residue classes of a strided input gradient: one dispatch fills the GPU where each class alone
   * left most of it idle). M and K are then the groups' total rows and longest K; a K-split's partial sums
   * stack the groups' rows.
   */
  groups?: GemmGroup[];
}

export interface GemmGroup {
  M: number;
  K: number;
  /** Values of module-scope i32 names the spec's WGSL functions read, this group's. */
  values: Record<string, number>;
}

export interface GemmBatch {
  count: number;
  a: number;
  b: number;
  c: number;
  /** The product grid z 0 computes (gemm sets it for each dispatch of a batch past GEMM_MAX_BATCH). */
  first?: number;
}

/** The most products one dispatch takes (grid z); more go in several dispatches. */
export const GEMM_MAX_BATCH = 65535;

/** Where the output goes, and what is added to each column of it (a layer's bias, binding 3). */
export interface GemmOptions {
  /** How many workgroups share K (partial products summed in a second pass); chosen when absent. */
  splitK?: number;
  /**
   * 'matrix': 64x64 tiles whose inputs are rounded to 16-bit floats and multiplied on the GPU's matrix
   * units (../matrix-products.ts), for drawing images, and `scaled` for training steps; where the device
   * has none, the float32 tile gemmPlan chooses.
   */
  tile?: 'thin' | 64 | 128 | 'matrix';
  /** The matrix tile's width: 128 for large outputs, else 64, where absent (gemmPlan). */
  matrixWidth?: MatrixWidth;
  /**
   * On the matrix tile: each workgroup first finds the largest magnitude in its rows of A and its columns of
   * B (over its part of K) and scales each by a power of two that brings it just under 2^15, so that values far
   * below 16-bit range (a training step's gradients) keep their 10 bits; the sums are scaled back, exactly.
   */
  scaled?: boolean;
  bias?: Region;
}

/** A GEMM's tile and K-split, chosen by gemmPlan where absent (bench/gemm-tiles.ts sweeps them). */
export type GemmTuning = Pick<GemmOptions, 'tile' | 'splitK' | 'scaled' | 'matrixWidth'>;

/** A stored row-major [rows, K] as the operand walking rows (A), or B stored transposed as [N, K]. */
export function rowMajorByK(K: number): Operand {
  return { outer: `return vec4<i32>(i32(i * ${K}u), 0, 0, 0);`, inner: 'return vec4<i32>(i32(k), 0, 0, 0);', load: 'return X[u32(o.x + i.x)];', kFast: true };
}

/** B stored row-major [K, N] (or A stored [K, M]). */
export function rowMajorByOuter(outerSize: number): Operand {
  return { outer: 'return vec4<i32>(i32(i), 0, 0, 0);', inner: `return vec4<i32>(i32(k * ${outerSize}u), 0, 0, 0);`, load: 'return X[u32(o.x + i.x)];', kFast: false };
}

const TILE = 64;
const DEPTH = 16;

/** Workgroups that fill an H100 (132 SMs, ~4 each). */
const FULL_GRID = 512;

/** Outputs at most this wide use the one-row-per-16-threads kernel. */
export const THIN_MAX_N = 8;

function chooseThinSplitK(M: number, K: number): number {
  const groups = Math.ceil(M / 16);
  if (groups >= FULL_GRID || K < 1024) return 1;
  return Math.max(1, Math.min(Math.ceil(FULL_GRID / groups), Math.floor(K / 256)));
}

/**
 * How many K-splits give the GPU enough workgroups: with one 256-thread workgroup per SM an H100 sits
 * mostly idle waiting on memory, so aim for ~4 per SM.
 */
export function chooseSplitK(M: number, N: number, K: number, side = TILE): number {
  const tiles = Math.ceil(M / side) * Math.ceil(N / side);
  if (tiles >= FULL_GRID || K < 512) return 1;
  return Math.max(1, Math.min(Math.ceil(FULL_GRID / tiles), Math.floor(K / 256)));
}

function operandFunctions(name: 'a' | 'b', o: Operand, batched: boolean): string {
  const X = name === 'a' ? 'A' : 'B';
  // A batched product's loads read its own matrix: the operand's index plus where that matrix starts.
  return `fn ${name}Outer(i: u32) -> vec4<i32> { ${o.outer} }
fn ${name}Inner(k: u32) -> vec4<i32> { ${o.inner} }
fn ${name}Load(o: vec4<i32>, i: vec4<i32>) -> f32 { ${o.load.replaceAll('X[', batched ? `${X}[${name}Start + ` : `${X}[`)} }`;
}

/**
 * WGSL at the top of a GEMM kernel's main: kBegin and kEnd, the slice of K it sums (grid z: the K-split's
 * part); for a batched product also the start of its matrices (grid z: the product; K whole); for
 * grouped products its group's values (grid z: group x K-split), returning early from workgroups past
 * the group's rows (`firstRow`: the workgroup's first) or, with a K-split, past its K.
 */
function zIndex(s: GemmSpec, split: number, firstRow: string): string {
  if (s.groups) {
    return `let group = wg.z / ${split}u;
  enterGroup(group);
  let kSlice = wg.z % ${split}u;
  let kBegin = kSlice * KCHUNK;
  let kEnd = min(GROUP_K[group], kBegin + KCHUNK);
  if (${firstRow} >= GROUP_M[group]${split > 1 ? ' || kBegin >= kEnd' : ''}) { return; }`;
  }
  if (!s.batch) return `let kBegin = wg.z * KCHUNK;
  let kEnd = min(K, kBegin + KCHUNK);`;
  return `let kBegin = 0u;
  let kEnd = K;
  let product = wg.z + ${s.batch.first ?? 0}u;
  aStart = product * ${s.batch.a}u;
  bStart = product * ${s.batch.b}u;
  cStart = product * ${s.batch.c}u;`;
}

/**
 * Grouped products' tables, indexed by group: their rows (GROUP_M), K (GROUP_K), first row among the
 * stacked rows of a K-split's partial sums (GROUP_ROW0) and how many K-slices hold a part of their sum
 * (GROUP_SLICES); fn enterGroup(g) sets M, ROW0 and the named values to group g's. (The tables are
 * constants so that the K loop's bounds, read from them at a uniform index, stay uniform: a private
 * variable would not be, and the loop holds barriers.)
 */
function groupDeclarations(groups: GemmGroup[], kChunk: number): string {
  // A value every group shares stays a constant: the operands divide by some (a class's taps across), and
  // a division by a constant compiles to a multiply and a shift, one by a variable to twenty-odd instructions.
  const names = Object.keys(groups[0].values);
  const shared = names.filter((n) => groups.every((g) => g.values[n] === groups[0].values[n]));
  const varying = names.filter((n) => !shared.includes(n));
  const table = (name: string, type: 'u32' | 'i32', v: (g: GemmGroup, i: number) => number) =>
    `const ${name} = array<${type}, ${groups.length}>(${groups.map((g, i) => `${v(g, i)}${type === 'u32' ? 'u' : ''}`).join(', ')});`;
  const row0 = groups.map((_, i) => groups.slice(0, i).reduce((t, g) => t + g.M, 0));
  return [
    table('GROUP_M', 'u32', (g) => g.M), table('GROUP_K', 'u32', (g) => g.K), table('GROUP_ROW0', 'u32', (_, i) => row0[i]),
    table('GROUP_SLICES', 'u32', (g) => Math.ceil(g.K / kChunk)),
    `const ROWS = ${groups.reduce((t, g) => t + g.M, 0)}u;`,
    ...shared.map((n) => `const ${n} = ${groups[0].values[n]};`),
    ...varying.map((n) => table(`GROUP_${n}`, 'i32', (g) => g.values[n])),
    'var<private> M: u32;', 'var<private> ROW0: u32;', ...varying.map((n) => `var<private> ${n}: i32;`),
    `fn enterGroup(g: u32) { M = GROUP_M[g]; ROW0 = GROUP_ROW0[g]; ${varying.map((n) => `${n} = GROUP_${n}[g];`).join(' ')} }`,
  ].join('\n');
}

/** The sizes as WGSL: module-scope constants, or for grouped products the tables enterGroup reads. */
function sizeDeclarations(s: GemmSpec, kChunk: number): string {
  const sizes = `const N = ${s.N}u;\nconst KCHUNK = ${kChunk}u;`;
  return s.groups ? `${sizes}\n${groupDeclarations(s.groups, kChunk)}` : `const M = ${s.M}u;\n${sizes}\nconst K = ${s.K}u;`;
}

/**
 * fn finish(sum, n): what is stored for the sum in column n: plus the column's bias (binding `biasBinding`,
 * when there is one), through the activation (WGSL of v; none when absent).
 */
export function finishFunction(activation: string | undefined, biasBinding: number | null): string {
  const bias = biasBinding === null ? '' : `@group(0) @binding(${biasBinding}) var<storage, read> Bias: array<f32>;\n`;
  return `${bias}fn finish(sum: f32, n: u32) -> f32 { let v = sum${biasBinding === null ? '' : ' + Bias[n]'}; return ${activation ?? 'v'}; }`;
}

/** Bindings A, B, C, the sizes and the spec's gather and store functions, shared by the GEMM kernels. */
function prelude(s: GemmSpec, kChunk: number, finish: string): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
${finish}
${sizeDeclarations(s, kChunk)}
${s.constants ?? ''}
${s.batch ? 'var<private> aStart: u32;\nvar<private> bStart: u32;\nvar<private> cStart: u32;' : ''}
${operandFunctions('a', s.a, !!s.batch)}
${operandFunctions('b', s.b, !!s.batch)}
fn storeIndex(m: u32, n: u32) -> u32 { ${s.storeIndex ?? 'return m * N + n;'} }`;
}

function writeC(s: GemmSpec, split: number, value: string): string {
  if (split > 1) return s.groups ? `C[(kSlice * ROWS + ROW0 + m) * N + n] = ${value};` : `C[wg.z * M * N + m * N + n] = ${value};`;
  return `let o = ${s.batch ? 'cStart + ' : ''}storeIndex(m, n); C[o] = ${s.accumulate ? 'C[o] + ' : ''}finish(${value}, n);`;
}

/**
 * How one operand's 16-deep slice reaches workgroup memory: `load(kb)` reads the slice starting at kb
 * into registers, `store` writes them to the tile. The K loop stores slice i, then issues the loads of
 * slice i + 1 before computing on slice i, so global memory latency hides behind the multiply-adds.
 */
interface Staging {
  /** Before the K loop: outer parts of the operand's addresses, and the registers. */
  pre: string;
  load: (kb: string) => string;
  store: string;
}

/**
 * vec4s a k-row of the tile takes in workgroup memory: its 16 (64-wide) or 32 (128-wide) and one more, so
 * that threads staging neighbouring k (kFast) write other banks than each other (without it the 16 k of
 * a 64-wide tile's column all fall in one bank); the 128-wide tile without the padding where the device's
 * workgroup memory has no room for it.
 */
function tileRow(tile: 64 | 128, workgroupBytes: number): number {
  const padded = tile / 4 + 1;
  return 2 * DEPTH * padded * 16 <= workgroupBytes ? padded : tile / 4;
}

/**
 * A `width`-wide tile's slice `depth` deep (64 wide and 16 deep for the float32 tile; 64 or 128 wide and 32
 * deep for the matrix tile), width * depth / 256 elements per 256-thread workgroup's thread; `put(outer, k,
 * v)` is the WGSL that stores element (outer, k) of the slice.
 */
function stageRows(x: 'a' | 'b', kFast: boolean, base: string, limit: string, width: number, depth: number, put: (outer: string, k: string, v: string) => string): Staging {
  const each = (width * depth) / 256;
  if (kFast) {
    // thread: one k (li % depth) at `each` outer indices li / depth + (256 / depth) i
    const outer = `li / ${depth}u + ${256 / depth}u * i`;
    return {
      pre: `var ${x}o: array<vec4<i32>, ${each}>;
  for (var i = 0u; i < ${each}u; i++) { ${x}o[i] = ${x}Outer(min(${base} + ${outer}, ${limit} - 1u)); }
  var ${x}r: array<f32, ${each}>;`,
      load: (kb) => `{
      let k = ${kb} + li % ${depth}u;
      var ki = vec4<i32>(0);
      if (k < kEnd) { ki = ${x}Inner(k); }
      for (var i = 0u; i < ${each}u; i++) {
        var v = 0.0;
        if (${base} + ${outer} < ${limit} && k < kEnd) { v = ${x}Load(${x}o[i], ki); }
        ${x}r[i] = v;
      }
    }`,
      store: `for (var i = 0u; i < ${each}u; i++) { ${put(`(${outer})`, `(li % ${depth}u)`, `${x}r[i]`)}; }`,
    };
  }
  // thread: one outer index (li % width) at `each` k (li / width + (256 / width) i)
  const k = `li / ${width}u + ${256 / width}u * i`;
  return {
    pre: `let ${x}o = ${x}Outer(min(${base} + li % ${width}u, ${limit} - 1u));
  var ${x}r: array<f32, ${each}>;`,
    load: (kb) => `for (var i = 0u; i < ${each}u; i++) {
      let k = ${kb} + ${k};
      var v = 0.0;
      if (${base} + li % ${width}u < ${limit} && k < kEnd) { v = ${x}Load(${x}o, ${x}Inner(k)); }
      ${x}r[i] = v;
    }`,
    store: `for (var i = 0u; i < ${each}u; i++) { ${put(`(li % ${width}u)`, `(${k})`, `${x}r[i]`)}; }`,
  };
}

/** 64-wide tiles: element (kk, e) at component e % 4 of Xs[kk * row + e / 4]; 4 elements per thread. */
function stage64(x: 'a' | 'b', kFast: boolean, base: string, limit: string, row: number): Staging {
  const tile = x === 'a' ? 'As' : 'Bs';
  return stageRows(x, kFast, base, limit, TILE, DEPTH, (e, k, v) => `${tile}[${k} * ${row}u + ${e} / 4u][${e} % 4u] = ${v}`);
}

/** 128-wide tiles: each thread fills two vec4s Xs[kk * row + q] (outer indices 4q..4q+3 at one k). */
function stage128(x: 'a' | 'b', kFast: boolean, base: string, limit: string, row: number): Staging {
  const tile = x === 'a' ? 'As' : 'Bs';
  const four = (o: (j: number) => string) => [0, 1, 2, 3].map((j) => `if (${base} + 4u * q + ${j}u < ${limit}) { v[${j}] = ${x}Load(${o(j)}, ki); }`).join('\n          ');
  if (kFast) {
    // thread: k = li % 16, outer 4q..4q+3 for q = li / 16 + 16 p, p = 0, 1
    return {
      pre: `var ${x}o: array<vec4<i32>, 8>;
  for (var p = 0u; p < 2u; p++) { for (var j = 0u; j < 4u; j++) { ${x}o[p * 4u + j] = ${x}Outer(min(${base} + 4u * (li / 16u + 16u * p) + j, ${limit} - 1u)); } }
  var ${x}r: array<vec4<f32>, 2>;`,
      load: (kb) => `{
      let k = ${kb} + li % 16u;
      var ki = vec4<i32>(0);
      if (k < kEnd) { ki = ${x}Inner(k); }
      for (var p = 0u; p < 2u; p++) {
        let q = li / 16u + 16u * p;
        var v = vec4<f32>(0.0);
        if (k < kEnd) {
          ${four((j) => `${x}o[p * 4u + ${j}u]`)}
        }
        ${x}r[p] = v;
      }
    }`,
      store: `for (var p = 0u; p < 2u; p++) { ${tile}[(li % 16u) * ${row}u + li / 16u + 16u * p] = ${x}r[p]; }`,
    };
  }
  // thread: outer 4q..4q+3 for q = li % 32, k = li / 32 + 8 p, p = 0, 1
  return {
    pre: `var ${x}o: array<vec4<i32>, 4>;
  for (var j = 0u; j < 4u; j++) { ${x}o[j] = ${x}Outer(min(${base} + 4u * (li % 32u) + j, ${limit} - 1u)); }
  var ${x}r: array<vec4<f32>, 2>;`,
    load: (kb) => `{
      let q = li % 32u;
      for (var p = 0u; p < 2u; p++) {
        let k = ${kb} + li / 32u + 8u * p;
        var v = vec4<f32>(0.0);
        if (k < kEnd) {
          let ki = ${x}Inner(k);
          ${four((j) => `${x}o[${j}]`)}
        }
        ${x}r[p] = v;
      }
    }`,
    store: `for (var p = 0u; p < 2u; p++) { ${tile}[(li / 32u + 8u * p) * ${row}u + li % 32u] = ${x}r[p]; }`,
  };
}

/**
 * The square-tile kernels. 64: 4x4 outputs per thread, 2 vector reads of workgroup memory per 16
 * multiply-adds. 128 (large outputs): 8x8 outputs per thread in two 4x4 blocks 64 apart in each
 * direction (so the vec4 reads stay conflict-free), 4 vector reads per 64 multiply-adds; worth it
 * only with enough tiles, or K splits, to fill the GPU.
 */
function tiledSource(s: GemmSpec, split: number, kChunk: number, tile: 64 | 128, row: number, finish: string): string {
  const wide = tile === 128;
  const stage = wide ? stage128 : stage64;
  const a = stage('a', s.a.kFast, 'm0', 'M', row);
  const b = stage('b', s.b.kFast, 'n0', 'N', row);
  const compute = wide ? `    for (var kk = 0u; kk < 16u; kk++) {
      let a0 = As[kk * ${row}u + ty];
      let a1 = As[kk * ${row}u + 16u + ty];
      let b0 = Bs[kk * ${row}u + tx];
      let b1 = Bs[kk * ${row}u + 16u + tx];
      acc[0] += a0.x * b0; acc[1] += a0.x * b1;
      acc[2] += a0.y * b0; acc[3] += a0.y * b1;
      acc[4] += a0.z * b0; acc[5] += a0.z * b1;
      acc[6] += a0.w * b0; acc[7] += a0.w * b1;
      acc[8] += a1.x * b0; acc[9] += a1.x * b1;
      acc[10] += a1.y * b0; acc[11] += a1.y * b1;
      acc[12] += a1.z * b0; acc[13] += a1.z * b1;
      acc[14] += a1.w * b0; acc[15] += a1.w * b1;
    }
` : `    // 2 vector reads per 16 multiply-adds
    for (var kk = 0u; kk < 16u; kk++) {
      let a = As[kk * ${row}u + ty];
      let b = Bs[kk * ${row}u + tx];
      acc[0] += a.x * b;
      acc[1] += a.y * b;
      acc[2] += a.z * b;
      acc[3] += a.w * b;
    }
`;
  const epilogue = wide ? `  for (var r = 0u; r < 8u; r++) {
    let m = m0 + (r / 4u) * 64u + ty * 4u + r % 4u;
    if (m >= M) { continue; }
    for (var h = 0u; h < 2u; h++) {
      for (var j = 0u; j < 4u; j++) {
        let n = n0 + h * 64u + tx * 4u + j;
        if (n >= N) { continue; }
        ${writeC(s, split, 'acc[r * 2u + h][j]')}
      }
    }
  }
` : `  for (var i = 0u; i < 4u; i++) {
    let m = m0 + ty * 4u + i;
    if (m >= M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + tx * 4u + j;
      if (n >= N) { continue; }
      ${writeC(s, split, 'acc[i][j]')}
    }
  }
`;
  return /* wgsl */ `${prelude(s, kChunk, finish)}
var<workgroup> As: array<vec4<f32>, ${DEPTH * row}>;
var<workgroup> Bs: array<vec4<f32>, ${DEPTH * row}>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let m0 = wg.x * ${tile}u;
  let n0 = wg.y * ${tile}u;
  ${zIndex(s, split, 'm0')}
  let tx = li % 16u;
  let ty = li / 16u;
  ${a.pre}
  ${b.pre}
  ${a.load('kBegin')}
  ${b.load('kBegin')}
  var acc: array<vec4<f32>, ${wide ? 16 : 4}>;
  for (var k0 = kBegin; k0 < kEnd; k0 += 16u) {
    ${a.store}
    ${b.store}
    workgroupBarrier();
    ${a.load('k0 + 16u')}
    ${b.load('k0 + 16u')}
${compute}    workgroupBarrier();
  }
${epilogue}}`;
}

/** K staged per step of the matrix tile: two 16-deep block products. */
const MATRIX_DEPTH = 32;
/** The matrix tile's widths: 64, or 128 for large outputs (twice the products per staged element). */
export type MatrixWidth = 64 | 128;
/**
 * Rows of the matrix tile's workgroup memory, in elements: A's rows of 32 k and B's 32 k-rows, each padded
 * by 16 bytes so that neighbouring rows start in other banks (the block loads take row strides in elements,
 * 16-byte aligned); a subgroup's 16x16 block of sums in its own slot, rows padded alike.
 */
const HALF_A_ROW = MATRIX_DEPTH + 8;
const halfBRow = (width: MatrixWidth) => width + 8;
const SLOT_ROW = MATRIX_BLOCK + 4;
const SUBGROUPS = 256 / MATRIX_SUBGROUP;

/**
 * Workgroup memory the matrix tile takes (19.5 KiB 64 wide, 28.5 KiB 128 wide: more than WebGPU's minimum
 * 16, which a device may give), with the scaled tile's two largest magnitudes.
 */
export function matrixWorkgroupBytes(width: MatrixWidth): number {
  return 2 * (width * HALF_A_ROW + MATRIX_DEPTH * halfBRow(width)) + 4 * SUBGROUPS * MATRIX_BLOCK * SLOT_ROW + 8;
}

/**
 * How one operand's 32-deep slice reaches the matrix tile as 16-bit floats: A at As[outer * A_ROW + k], B
 * at Bs[k * B_ROW + outer], times 2^shift where the tile is scaled (`aShift`, `bShift`). A value past
 * 16-bit range is clamped to it.
 */
function stageHalf(x: 'a' | 'b', kFast: boolean, base: string, limit: string, width: MatrixWidth, scaled: boolean): Staging {
  const value = (v: string) => (scaled ? `ldexp(${v}, ${x}Shift)` : v);
  return stageRows(x, kFast, base, limit, width, MATRIX_DEPTH, (outer, k, v) => `${x === 'a' ? `As[${outer} * A_ROW + ${k}]` : `Bs[${k} * B_ROW + ${outer}]`} = f16(clamp(${value(v)}, -65504.0, 65504.0))`);
}

/**
 * The scaled matrix tile's first pass over its part of K: each thread loads the slices it would stage and
 * keeps their largest magnitude; the workgroup's (a float's bits order as unsigned integers when it is not
 * negative) sets aShift and bShift, the powers of two that bring A's and B's to just under 2^15. A panel of
 * zeros (or with a NaN or infinity, which no scale keeps) is not scaled.
 */
function panelScales(a: Staging, b: Staging, each: number): string {
  return `var aMax = 0.0;
  var bMax = 0.0;
  for (var k0 = kBegin; k0 < kEnd; k0 += ${MATRIX_DEPTH}u) {
    ${a.load('k0')}
    ${b.load('k0')}
    for (var i = 0u; i < ${each}u; i++) { aMax = max(aMax, abs(ar[i])); bMax = max(bMax, abs(br[i])); }
  }
  atomicMax(&panelMax[0], bitcast<u32>(aMax));
  atomicMax(&panelMax[1], bitcast<u32>(bMax));
  workgroupBarrier();
  let aShift = halfShift(atomicLoad(&panelMax[0]));
  let bShift = halfShift(atomicLoad(&panelMax[1]));`;
}

/**
 * fn halfShift(bits of a largest magnitude): the power of two that takes it to [2^14, 2^15), within +-60 (so
 * that 2^shift, and 2^-(aShift + bShift) after the products, stay finite where ldexp is a multiply by it:
 * zeros times an infinite scale would be NaN).
 */
const HALF_SHIFT = `var<workgroup> panelMax: array<atomic<u32>, 2>;
fn halfShift(bits: u32) -> i32 {
  let e = i32(bits >> 23u);
  if (bits == 0u || e == 255) { return 0; }
  // bits's value is below 2^(e - 126) (e the biased exponent): scaled by 2^(141 - e), below 2^15
  return clamp(141 - e, -60, 60);
}`;

/**
 * The matrix tile: width x width outputs per 256-invocation workgroup, K staged 32 deep as 16-bit floats.
 * Its 8 subgroups (of 32) stand 4 down and 2 across; each sums a (width / 4) x (width / 2) block as FR x FC
 * result matrices of 16x16 (1 x 2 at 64 wide, 2 x 4 at 128), 16 deep at a time
 * (subgroupMatrixMultiplyAccumulate: f16 x f16 -> f32). After the K loop each result matrix in turn passes
 * through its subgroup's slot of workgroup memory to the same epilogue as the other tiles (bias,
 * activation, store, or a K-split's partial sums): lane l writes out elements l + 32 j of the block.
 * 'emulated' computes the same blocks with loops, lane l the elements l + 32 j of each, from the same
 * 16-bit tiles, through the same slots.
 */
function matrixSource(s: GemmSpec, split: number, kChunk: number, finish: string, kind: MatrixProducts, width: MatrixWidth, scaled: boolean): string {
  const a = stageHalf('a', s.a.kFast, 'm0', 'M', width, scaled);
  const b = stageHalf('b', s.b.kFast, 'n0', 'N', width, scaled);
  const real = kind === 'subgroup-matrix';
  const B = MATRIX_BLOCK;
  const [FR, FC] = [width / 64, width / 32];
  const blocks = Array.from({ length: FR * FC }, (_, f) => ({ f, fr: Math.floor(f / FC), fc: f % FC }));
  const left = `subgroup_matrix_left<f16, ${B}, ${B}>`;
  const right = `subgroup_matrix_right<f16, ${B}, ${B}>`;
  const result = `subgroup_matrix_result<f32, ${B}, ${B}>`;
  // Subgroup sg is invocations 32 sg .. 32 sg + 31, as a device whose subgroups are all 32 wide forms them
  // (matrixFeatures asks for that; WGSL's subgroup_id builtin is a language feature Dawn does not have
  // everywhere). Its block starts at row 16 FR (sg / 2) and column 16 FC (sg % 2) of the tile.
  const setup = `let sg = li / ${MATRIX_SUBGROUP}u;
  let lane = li % ${MATRIX_SUBGROUP}u;
  let row0 = (sg / 2u) * ${FR * B}u;
  let col0 = (sg % 2u) * ${FC * B}u;
  ${real ? blocks.map(({ f }) => `var acc${f} = ${result}();`).join('\n  ') : `var acc: array<f32, ${FR * FC * 8}>;`}`;
  const compute = real ? `    for (var kk = 0u; kk < ${MATRIX_DEPTH}u; kk += ${B}u) {
      ${Array.from({ length: FR }, (_, fr) => `let l${fr} = subgroupMatrixLoad<${left}, row_major>(&As, (row0 + ${fr * B}u) * A_ROW + kk, A_ROW);`).join('\n      ')}
      ${Array.from({ length: FC }, (_, fc) => `let r${fc} = subgroupMatrixLoad<${right}, row_major>(&Bs, kk * B_ROW + col0 + ${fc * B}u, B_ROW);`).join('\n      ')}
      ${blocks.map(({ f, fr, fc }) => `acc${f} = subgroupMatrixMultiplyAccumulate(l${fr}, r${fc}, acc${f});`).join('\n      ')}
    }
` : `    // Element l + 32 j of a block is its row l / 16 + 2 j, column l % 16: one column of B a block.
    for (var kk = 0u; kk < ${MATRIX_DEPTH}u; kk++) {
      ${Array.from({ length: FC }, (_, fc) => `let b${fc} = f32(Bs[kk * B_ROW + col0 + ${fc * B}u + lane % ${B}u]);`).join('\n      ')}
      for (var fr = 0u; fr < ${FR}u; fr++) {
        for (var j = 0u; j < 8u; j++) {
          let av = f32(As[(row0 + fr * ${B}u + lane / ${B}u + 2u * j) * A_ROW + kk]);
          ${Array.from({ length: FC }, (_, fc) => `acc[(fr * ${FC}u + ${fc}u) * 8u + j] += av * b${fc};`).join('\n          ')}
        }
      }
    }
`;
  // Each result block through the subgroup's slot: stored, then read back 8 elements a lane.
  const keep = (f: number) => real
    ? `subgroupMatrixStore<row_major>(&Cs, sg * SLOT, acc${f}, SLOT_ROW);`
    : `for (var j = 0u; j < 8u; j++) { let e = lane + 32u * j; Cs[sg * SLOT + (e / ${B}u) * SLOT_ROW + e % ${B}u] = acc[${f * 8}u + j]; }`;
  const sum = `Cs[sg * SLOT + (e / ${B}u) * SLOT_ROW + e % ${B}u]`;
  const epilogue = blocks.map(({ f, fr, fc }) => `  ${keep(f)}
  workgroupBarrier();
  for (var j = 0u; j < 8u; j++) {
    let e = lane + 32u * j;
    let m = m0 + row0 + ${fr * B}u + e / ${B}u;
    let n = n0 + col0 + ${fc * B}u + e % ${B}u;
    if (m < M && n < N) {
      ${writeC(s, split, scaled ? `ldexp(${sum}, -(aShift + bShift))` : sum)}
    }
  }
  workgroupBarrier();`).join('\n');
  // Tint's uniformity analysis cannot see that a block's offsets (from li / 32) are the same across its
  // subgroup, and rejects the calls unless told to trust them.
  const header = real
    ? 'enable f16;\nenable subgroups;\nenable chromium_experimental_subgroup_matrix;\ndiagnostic(off, chromium.subgroup_matrix_uniformity);'
    : 'enable f16;';
  return /* wgsl */ `${header}
${prelude(s, kChunk, finish)}
const A_ROW = ${HALF_A_ROW}u;
const B_ROW = ${halfBRow(width)}u;
const SLOT_ROW = ${SLOT_ROW}u;
const SLOT = ${B * SLOT_ROW}u;
var<workgroup> As: array<f16, ${width * HALF_A_ROW}>;
var<workgroup> Bs: array<f16, ${MATRIX_DEPTH * halfBRow(width)}>;
var<workgroup> Cs: array<f32, ${SUBGROUPS * B * SLOT_ROW}>;
${scaled ? HALF_SHIFT : ''}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let m0 = wg.x * ${width}u;
  let n0 = wg.y * ${width}u;
  ${zIndex(s, split, 'm0')}
  ${a.pre}
  ${b.pre}
  ${scaled ? panelScales(a, b, (width * MATRIX_DEPTH) / 256) : ''}
  ${a.load('kBegin')}
  ${b.load('kBegin')}
  ${setup}
  for (var k0 = kBegin; k0 < kEnd; k0 += ${MATRIX_DEPTH}u) {
    ${a.store}
    ${b.store}
    workgroupBarrier();
    ${a.load(`k0 + ${MATRIX_DEPTH}u`)}
    ${b.load(`k0 + ${MATRIX_DEPTH}u`)}
${compute}    workgroupBarrier();
  }
${epilogue}
}`;
}

/**
 * For outputs a few columns wide (an RGB image, one logit) a 64-wide tile would waste most of its
 * work. Here 16 threads share one output row, each summing every 16th k for all N (<= 8) columns, so
 * that neighbouring threads read neighbouring floats of A; the 16 partial sums then meet in workgroup
 * memory. 16 rows per workgroup; the grid is two-dimensional for very tall outputs.
 */
function thinSource(s: GemmSpec, split: number, kChunk: number, gridX: number, finish: string): string {
  return /* wgsl */ `${prelude(s, kChunk, finish)}
var<workgroup> red: array<f32, ${256 * s.N}>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = li / 16u;
  let lane = li % 16u;
  let m = (wg.y * ${gridX}u + wg.x) * 16u + row;
  ${zIndex(s, split, `(wg.y * ${gridX}u + wg.x) * 16u`)}
  let ao = aOuter(min(m, M - 1u));
  var bo: array<vec4<i32>, ${s.N}>;
  for (var n = 0u; n < N; n++) { bo[n] = bOuter(n); }
  var acc: array<f32, ${s.N}>;
  if (m < M) {
    for (var k = kBegin + lane; k < kEnd; k += 16u) {
      let a = aLoad(ao, aInner(k));
      let bi = bInner(k);
      for (var n = 0u; n < N; n++) { acc[n] += a * bLoad(bo[n], bi); }
    }
  }
  for (var n = 0u; n < N; n++) { red[li * N + n] = acc[n]; }
  workgroupBarrier();
  if (lane == 0u && m < M) {
    for (var n = 0u; n < N; n++) {
      var v = 0.0;
      for (var l = 0u; l < 16u; l++) { v += red[(li + l) * N + n]; }
      ${writeC(s, split, 'v')}
    }
  }
}`;
}

/** The K-split's second pass: each output the sum of its partial sums, stored as the first pass would. */
function reduceSource(s: GemmSpec, split: number, kChunk: number, stride: number, finish: string): string {
  const head = `@group(0) @binding(0) var<storage, read> Part: array<f32>;
@group(0) @binding(1) var<storage, read_write> C: array<f32>;
${finish}
${sizeDeclarations(s, kChunk)}
${s.constants ?? ''}
fn storeIndex(m: u32, n: u32) -> u32 { ${s.storeIndex ?? 'return m * N + n;'} }`;
  const store = `C[o] = ${s.accumulate ? 'C[o] + ' : ''}finish(v, i % N);`;
  if (s.groups) {
    // Row i / N of the stacked partial sums is in the last group starting at or before it.
    return /* wgsl */ `${head}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var i = gid.x; i < ROWS * N; i += ${stride}u) {
    let row = i / N;
    var g = 0u;
    for (var j = 1u; j < ${s.groups.length}u; j++) { if (row >= GROUP_ROW0[j]) { g = j; } }
    enterGroup(g);
    var v = 0.0;
    for (var s = 0u; s < GROUP_SLICES[g]; s++) { v += Part[s * ROWS * N + i]; }
    let o = storeIndex(row - ROW0, i % N);
    ${store}
  }
}`;
  }
  return /* wgsl */ `${head}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var i = gid.x; i < M * N; i += ${stride}u) {
    var v = 0.0;
    for (var s = 0u; s < ${split}u; s++) { v += Part[s * M * N + i]; }
    let o = storeIndex(i / N, i % N);
    ${store}
  }
}`;
}

/** Rows (and columns) of C a workgroup of a square tile computes: 128 for the 128-wide tiles, float32 or matrix, else 64. */
function tileSide(tile: GemmTuning['tile'], matrixWidth?: MatrixWidth): number {
  return tile === 128 || matrixWidth === 128 ? 128 : TILE;
}

/** The tile, K-split and matrix tile's width of an M x N x K product: those given, the rest chosen for the GPU's size. */
export function gemmPlan(M: number, N: number, K: number, o: GemmTuning = {}): Required<Pick<GemmTuning, 'tile' | 'splitK'>> & { matrixWidth?: MatrixWidth } {
  // Outputs a few columns wide gain nothing from 16x16 blocks.
  if (o.tile === 'matrix' && N <= THIN_MAX_N) return gemmPlan(M, N, K, { ...o, tile: undefined });
  // 128 wide where there are tiles or K enough to fill the GPU with them (for float32 and the matrix tile alike).
  const wide = N >= 128 && M >= 128 && (Math.ceil(M / 128) * Math.ceil(N / 128) >= FULL_GRID || K >= 512);
  const tile = o.tile ?? (N <= THIN_MAX_N ? 'thin' : wide ? 128 : 64);
  const matrixWidth = tile === 'matrix' ? o.matrixWidth ?? (wide ? 128 : 64) : undefined;
  const splitK = o.splitK ?? (tile === 'thin' ? chooseThinSplitK(M, K) : chooseSplitK(M, N, K, tileSide(tile, matrixWidth)));
  return matrixWidth ? { tile, splitK, matrixWidth } : { tile, splitK };
}

/**
 * The dispatches of one GEMM (one, or two with a K-split), A, B and C as bindings 0, 1, 2 (and the bias
 * 3, or 2 in the K-split's second pass, which adds it).
 */
export function gemm(ctx: GpuContext, s: GemmSpec, a: Region, b: Region, c: Region, o: GemmOptions = {}): Dispatch[] {
  if (s.accumulate && (o.bias || s.activation)) throw new Error(`${s.label}: a GEMM that accumulates into its output takes no bias or activation`);
  if (s.batch && (o.splitK ?? 1) > 1) throw new Error(`${s.label}: a batched product is not split along K`);
  if (s.groups) {
    checkGroups(s);
    // One group is a plain product, its values constants.
    if (s.groups.length === 1) {
      const values = Object.entries(s.groups[0].values).map(([name, v]) => `const ${name} = ${v};`).join(' ');
      return gemm(ctx, { ...s, groups: undefined, constants: `${s.constants ?? ''}\n${values}` }, a, b, c, o);
    }
  }
  // GANTRY_GPU_TUNING: where the caller chose neither tile nor split, the choice measured on this GPU.
  if (o.tile === undefined && o.splitK === undefined && gemmTuningEnabled()) {
    const { label: _, ...shape } = s;
    const tuned = tunedGemm(gemmKey(s.M, s.N, s.K, { ...shape, bias: !!o.bias }), () => ({
      lengths: [a, b, c, ...(o.bias ? [o.bias] : [])].map((r) => r.length),
      candidates: gemmCandidates(s),
      build: (tctx, [ta, tb, tc, bias], choice) => gemm(tctx, s, ta, tb, tc, { ...o, ...choice, bias }),
    }));
    // A choice this product cannot take (a hand-edited file) is passed over.
    if (tuned && (tuned.tile !== 'thin' || s.N <= THIN_MAX_N) && (!s.batch || tuned.splitK === 1)) return gemm(ctx, s, a, b, c, { ...o, ...tuned });
  }
  // A batch fills the GPU's grid as a K-split would.
  const { splitK, tile, matrixWidth } = gemmPlan(s.M, s.N, s.K, s.batch ? { ...o, splitK: 1 } : o);
  const matrix = tile === 'matrix' ? matrixProductsOf(ctx.device) : null;
  if (tile === 'matrix') {
    // Without matrix units, float32 tiles; where the device's workgroup memory has no room for 128, 64.
    if (!matrix || ctx.maxWorkgroupStorage < matrixWorkgroupBytes(64)) return gemm(ctx, s, a, b, c, { ...o, tile: undefined, matrixWidth: undefined });
    if (ctx.maxWorkgroupStorage < matrixWorkgroupBytes(matrixWidth!)) return gemm(ctx, s, a, b, c, { ...o, matrixWidth: 64 });
  }
  const thin = tile === 'thin';
  const side = tileSide(tile, matrixWidth);
  // Grouped products: the grid covers the tallest; workgroups past a group's rows return at once.
  const rows = s.groups ? Math.max(...s.groups.map((g) => g.M)) : s.M;
  const layers = s.groups?.length ?? s.batch?.count ?? 1;
  const thinGroups = Math.ceil(rows / 16);
  const thinX = Math.min(thinGroups, 65535);
  const grid: [number, number] = thin ? [thinX, Math.ceil(thinGroups / thinX)] : [Math.ceil(rows / side), Math.ceil(s.N / side)];
  const bias = o.bias ? [o.bias] : [];
  const source = (split: number, kChunk: number) => {
    // With a K-split, the second pass finishes the sums.
    const finish = finishFunction(s.activation, split === 1 && o.bias ? 3 : null);
    if (tile === 'thin') return thinSource(s, split, kChunk, thinX, finish);
    return tile === 'matrix' ? matrixSource(s, split, kChunk, finish, matrix!, matrixWidth!, !!o.scaled) : tiledSource(s, split, kChunk, tile, tileRow(tile, ctx.maxWorkgroupStorage), finish);
  };
  // K in chunks of whole slices (16 deep; 32 for the matrix tile): a split asked of a short K may come to
  // one chunk. Grouped products share the chunk (so each workgroup sums as much); a shorter K fills fewer
  // of the slices.
  const depth = tile === 'matrix' ? MATRIX_DEPTH : DEPTH;
  const kChunk = Math.max(depth, Math.ceil(s.K / Math.max(1, splitK) / depth) * depth);
  const split = Math.ceil(s.K / kChunk);
  if (s.batch && s.batch.count > GEMM_MAX_BATCH) {
    const { count, first = 0 } = s.batch;
    return Array.from({ length: Math.ceil(count / GEMM_MAX_BATCH) }, (_, i) => gemm(ctx, { ...s, batch: { ...s.batch!, first: first + i * GEMM_MAX_BATCH, count: Math.min(GEMM_MAX_BATCH, count - i * GEMM_MAX_BATCH) } }, a, b, c, o)).flat();
  }
  // The matrix tile's dispatches say so in profiles (.matrix128 the wide one).
  const label = tile === 'matrix' ? `${s.label}.matrix${matrixWidth === 128 ? '128' : ''}` : s.label;
  // A batch is never split along K: one pass, a product per grid z.
  if (split <= 1) return [ctx.dispatch(label, source(1, s.K), [a, b, c, ...bias], [grid[0], grid[1], layers])];
  const partial = ctx.region(ctx.scratch(split * s.M * s.N, `${s.label}.partial`), split * s.M * s.N);
  const g = elementwiseGrid(s.M * s.N);
  return [
    ctx.dispatch(`${label}.splitk`, source(split, kChunk), [a, b, partial], [grid[0], grid[1], layers * split]),
    ctx.dispatch(`${label}.reduce`, reduceSource(s, split, kChunk, g.stride, finishFunction(s.activation, o.bias ? 2 : null)), [partial, c, ...bias], g.workgroups),
  ];
}

/** The float32 tiles a product N columns wide may take: the thin one up to THIN_MAX_N, else 64 and 128. */
export function candidateTiles(N: number): GemmChoice['tile'][] {
  return N <= THIN_MAX_N ? ['thin'] : [64, 128];
}

/** The tiles and K-splits a product may be tuned over (gemm-tuning.ts), gemmPlan's choice first. */
export function gemmCandidates(s: GemmSpec): GemmChoice[] {
  const planned = gemmPlan(s.M, s.N, s.K, s.batch ? { splitK: 1 } : {});
  const first: GemmChoice = { tile: planned.tile as GemmChoice['tile'], splitK: planned.splitK };
  const others = candidateTiles(s.N).flatMap((tile) => candidateSplits(s.M, s.N, s.K, !!s.batch).map((splitK) => ({ tile, splitK })));
  return [first, ...others.filter((c) => c.tile !== first.tile || c.splitK !== first.splitK)];
}

/** Grouped products: not batched, each with rows, the same value names, M and K their total and longest. */
function checkGroups(s: GemmSpec): void {
  const groups = s.groups!;
  const names = Object.keys(groups[0]?.values ?? {}).join();
  if (s.batch || groups.length === 0) throw new Error(`${s.label}: grouped products need at least one group and no batch`);
  if (groups.some((g) => g.M <= 0 || g.K < 0 || Object.keys(g.values).join() !== names)) throw new Error(`${s.label}: every group needs rows, a K and the same named values`);
  if (s.M !== groups.reduce((t, g) => t + g.M, 0) || s.K !== Math.max(...groups.map((g) => g.K))) throw new Error(`${s.label}: a grouped GEMM's M and K are its groups' total rows and longest K`);
}
