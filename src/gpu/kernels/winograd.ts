import { elementwiseGrid, type Dispatch, type GpuContext, type Region } from '../context.ts';
import { finishFunction, gemm, rowMajorByK, rowMajorByOuter, type GemmTuning } from './gemm.ts';

/**
 * A 3x3, stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray, 2016): each
 * 2x2 block of outputs comes from a 4x4 block of input through 16 products where direct convolution
 * takes 36, so the multiply-adds fall 2.25x. Per tile of 2x2 outputs and per channel pair:
 *   Y = A^T [ (G g G^T) . (B^T d B) ] A,  d the 4x4 input block, g the 3x3 filter
 * and the sum over input channels moves inside the brackets: 16 GEMMs, one per element (a, b) of the 4x4
 * transformed block, M[ab] (tiles x outC) = V[ab] (tiles x inC) U[ab] (inC x outC). Four passes: the
 * filter's transform U, the input's V, the 16 products (one batched GEMM), and the output's transform,
 * which adds the bias and activation or accumulates. V and M are 4x the input and output, so tiles go
 * through the last three in chunks whose buffers stay under WINOGRAD_CHUNK_BYTES.
 *
 * The same serves the input gradient of a 3x3 stride-1 convolution: dx is dy convolved with the filter
 * turned by 180 degrees, its in and out channels swapped, padded 2 - p (`flipped`).
 */
export interface WinogradConv {
  batch: number;
  /** The input's height, width and channels (the GEMMs' K). */
  h: number;
  w: number;
  inC: number;
  /** Output channels (the GEMMs' N), height and width. */
  outC: number;
  oh: number;
  ow: number;
  /** Zero rows above and columns left of the input; those below and right follow from oh and ow. */
  padTop: number;
  padLeft: number;
  /**
   * The filter as stored: false, [3, 3, inC, outC] (a forward convolution); true, the [3, 3, outC, inC]
   * filter of the convolution whose input gradient this is, read turned by 180 degrees.
   */
  flipped: boolean;
}

/** Most bytes V or M of one chunk of tiles takes (lavapipe binds at most 128 MiB). */
const WINOGRAD_CHUNK_BYTES = 64 * 1024 * 1024;

/**
 * Channels both sides need before the transforms' memory traffic (V and M are 4x the input and output)
 * is small beside the multiply-adds saved.
 */
const WINOGRAD_MIN_CHANNELS = 64;

/**
 * Tiles (2x2 outputs each, over the batch) it needs: the filter's transform costs the same however few
 * there are, and each of the 16 products has one row per tile, so fewer leave a GEMM tile of 64 or 128
 * rows mostly empty (on lavapipe VGG's 512-channel layers at 8x16, 32 tiles, took 1.4x the implicit GEMM's
 * time; at 16x32, 128 tiles, 0.79-0.94x).
 */
const WINOGRAD_MIN_TILES = 128;

/** Whether Winograd is chosen for a 3x3 stride-1 convolution where none is asked for. */
export function winogradPays(s: Pick<WinogradConv, 'batch' | 'inC' | 'outC' | 'oh' | 'ow'>): boolean {
  return s.inC >= WINOGRAD_MIN_CHANNELS && s.outC >= WINOGRAD_MIN_CHANNELS && s.batch * Math.ceil(s.oh / 2) * Math.ceil(s.ow / 2) >= WINOGRAD_MIN_TILES;
}

/** Whether the device can bind the filter's transform (16 inC x outC floats, in a buffer of the next power of two) at once. */
export function winogradFits(ctx: GpuContext, s: Pick<WinogradConv, 'inC' | 'outC'>): boolean {
  const { maxStorageBufferBindingSize, maxBufferSize } = ctx.device.limits;
  return roundUpPow2(16 * s.inC * s.outC) * 4 <= Math.min(maxStorageBufferBindingSize, maxBufferSize);
}

function tiles(s: WinogradConv): { th: number; tw: number; count: number } {
  const th = Math.ceil(s.oh / 2);
  const tw = Math.ceil(s.ow / 2);
  return { th, tw, count: s.batch * th * tw };
}

/** A tile's image and position, from `p`, its index over the whole batch. */
function tileDecode(s: WinogradConv): string {
  const { th, tw } = tiles(s);
  return `let tx = p % ${tw}u; let ty = (p / ${tw}u) % ${th}u; let img = p / ${tw * th}u;`;
}

/** U[ab][k][n] = (G g G^T)[a][b], g the 3x3 filter of input channel k and output channel n. */
function filterSource(s: WinogradConv): string {
  const [K, N] = [s.inC, s.outC];
  // forward: w[kh][kw][k][n]; flipped: w[2 - kh][2 - kw][n][k]
  const tap = s.flipped ? `Wt[(((2u - r) * 3u + (2u - c)) * ${N}u + n) * ${K}u + k]` : `Wt[((r * 3u + c) * ${K}u + k) * ${N}u + n]`;
  const grid = elementwiseGrid(K * N);
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> Wt: array<f32>;
@group(0) @binding(1) var<storage, read_write> U: array<f32>;
fn tap(r: u32, c: u32, k: u32, n: u32) -> f32 { return ${tap}; }
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var i = gid.x; i < ${K * N}u; i += ${grid.stride}u) {
    let k = i / ${N}u;
    let n = i % ${N}u;
    // t = G g: rows g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2
    var t: array<vec3<f32>, 4>;
    let g0 = vec3<f32>(tap(0u, 0u, k, n), tap(0u, 1u, k, n), tap(0u, 2u, k, n));
    let g1 = vec3<f32>(tap(1u, 0u, k, n), tap(1u, 1u, k, n), tap(1u, 2u, k, n));
    let g2 = vec3<f32>(tap(2u, 0u, k, n), tap(2u, 1u, k, n), tap(2u, 2u, k, n));
    t[0] = g0;
    t[1] = 0.5 * (g0 + g1 + g2);
    t[2] = 0.5 * (g0 - g1 + g2);
    t[3] = g2;
    // U = t G^T, the same along each row
    for (var a = 0u; a < 4u; a++) {
      let r = t[a];
      let u = vec4<f32>(r.x, 0.5 * (r.x + r.y + r.z), 0.5 * (r.x - r.y + r.z), r.z);
      for (var b = 0u; b < 4u; b++) { U[((a * 4u + b) * ${K}u + k) * ${N}u + n] = u[b]; }
    }
  }
}`;
}

/** V[ab][p][c] = (B^T d B)[a][b] for tiles p of the chunk starting at tile P0, d the tile's 4x4 input block. */
function inputSource(s: WinogradConv, chunk: number, p0: number): string {
  const C = s.inC;
  const grid = elementwiseGrid(chunk * C);
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> V: array<f32>;
fn x(img: u32, y: i32, x: i32, c: u32) -> f32 {
  if (y < 0 || y >= ${s.h} || x < 0 || x >= ${s.w}) { return 0.0; }
  return X[((img * ${s.h}u + u32(y)) * ${s.w}u + u32(x)) * ${C}u + c];
}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var i = gid.x; i < ${chunk * C}u; i += ${grid.stride}u) {
    let c = i % ${C}u;
    let q = i / ${C}u;
    let p = ${p0}u + q;
    if (p >= ${tiles(s).count}u) { break; }
    ${tileDecode(s)}
    let y0 = i32(2u * ty) - ${s.padTop};
    let x0 = i32(2u * tx) - ${s.padLeft};
    var d: array<vec4<f32>, 4>;
    for (var r = 0; r < 4; r++) { d[r] = vec4<f32>(x(img, y0 + r, x0, c), x(img, y0 + r, x0 + 1, c), x(img, y0 + r, x0 + 2, c), x(img, y0 + r, x0 + 3, c)); }
    // B^T d: rows d0 - d2, d1 + d2, d2 - d1, d1 - d3; then the same across each row
    var e: array<vec4<f32>, 4>;
    e[0] = d[0] - d[2];
    e[1] = d[1] + d[2];
    e[2] = d[2] - d[1];
    e[3] = d[1] - d[3];
    for (var a = 0u; a < 4u; a++) {
      let r = e[a];
      let v = vec4<f32>(r.x - r.z, r.y + r.z, r.z - r.y, r.y - r.w);
      for (var b = 0u; b < 4u; b++) { V[((a * 4u + b) * ${chunk}u + q) * ${C}u + c] = v[b]; }
    }
  }
}`;
}

/** Y at the 2x2 outputs of tile p = A^T M A (M's 16 products for the tile), through finish. */
function outputSource(s: WinogradConv, chunk: number, p0: number, accumulate: boolean, finish: string): string {
  const N = s.outC;
  const grid = elementwiseGrid(chunk * N);
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> Mp: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
${finish}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var i = gid.x; i < ${chunk * N}u; i += ${grid.stride}u) {
    let n = i % ${N}u;
    let q = i / ${N}u;
    let p = ${p0}u + q;
    if (p >= ${tiles(s).count}u) { break; }
    ${tileDecode(s)}
    var m: array<vec4<f32>, 4>;
    for (var a = 0u; a < 4u; a++) {
      for (var b = 0u; b < 4u; b++) { m[a][b] = Mp[((a * 4u + b) * ${chunk}u + q) * ${N}u + n]; }
    }
    // A^T M: rows m0 + m1 + m2, m1 - m2 - m3; then the same across each row
    let s0 = m[0] + m[1] + m[2];
    let s1 = m[1] - m[2] - m[3];
    var y = array<vec2<f32>, 2>(vec2<f32>(s0.x + s0.y + s0.z, s0.y - s0.z - s0.w), vec2<f32>(s1.x + s1.y + s1.z, s1.y - s1.z - s1.w));
    for (var a = 0u; a < 2u; a++) {
      let oy = 2u * ty + a;
      for (var b = 0u; b < 2u; b++) {
        let ox = 2u * tx + b;
        if (oy < ${s.oh}u && ox < ${s.ow}u) {
          let o = ((img * ${s.oh}u + oy) * ${s.ow}u + ox) * ${N}u + n;
          Y[o] = ${accumulate ? 'Y[o] + ' : ''}finish(y[a][b], n);
        }
      }
    }
  }
}`;
}

/** The smallest power of two at least n: scratch sizes that many layers share. */
function roundUpPow2(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}

/** Tiles in a chunk: as many as keep V and M under WINOGRAD_CHUNK_BYTES, a multiple of 128 (a GEMM tile) where there are more. */
function winogradChunk(s: Pick<WinogradConv, 'inC' | 'outC'>, tileCount: number, chunkBytes = WINOGRAD_CHUNK_BYTES): number {
  const most = Math.floor(chunkBytes / (16 * 4 * Math.max(s.inC, s.outC)));
  if (tileCount <= most) return tileCount;
  return Math.max(1, most >= 128 ? Math.floor(most / 128) * 128 : most);
}

/**
 * The dispatches of a Winograd convolution y (+)= conv(x, w) (see WinogradConv): the filter's transform,
 * then per chunk of tiles the input's transform, the 16 products and the output's transform. The bias
 * and activation apply as the output is stored; `accumulate` adds to it instead (no bias, no activation).
 * `tuning.tile` picks the products' GEMM tile; they are never split along K (one product per grid z).
 * `chunkBytes` bounds V and M (tests make it small to cross chunks).
 */
export function winogradConv(ctx: GpuContext, label: string, s: WinogradConv, x: Region, w: Region, y: Region,
  epilogue: { bias?: Region; activation?: string; accumulate?: boolean } = {}, tuning: GemmTuning = {}, chunkBytes = WINOGRAD_CHUNK_BYTES): Dispatch[] {
  if (epilogue.accumulate && (epilogue.bias || epilogue.activation)) throw new Error(`${label}: a convolution that accumulates into its output takes no bias or activation`);
  const { count } = tiles(s);
  const chunk = winogradChunk(s, count, chunkBytes);
  const K = s.inC;
  const N = s.outC;
  const u = ctx.region(ctx.scratch(roundUpPow2(16 * K * N), `${label}.winograd-filter`, 'winograd-filter'), 16 * K * N);
  const v = ctx.region(ctx.scratch(roundUpPow2(16 * chunk * K), `${label}.winograd-input`, 'winograd-input'), 16 * chunk * K);
  const m = ctx.region(ctx.scratch(roundUpPow2(16 * chunk * N), `${label}.winograd-products`, 'winograd-products'), 16 * chunk * N);
  const dispatches = [ctx.dispatch(`${label}.winograd-filter`, filterSource(s), [w, u], elementwiseGrid(K * N).workgroups)];
  const finish = finishFunction(epilogue.activation, epilogue.bias ? 2 : null);
  const products = gemm(ctx, {
    label: `${label}.winograd`, M: chunk, N, K,
    a: rowMajorByK(K), b: rowMajorByOuter(N),
    batch: { count: 16, a: chunk * K, b: K * N, c: chunk * N },
  }, v, u, m, { tile: tuning.tile });
  for (let p0 = 0; p0 < count; p0 += chunk) {
    // The chunk's first tile is a constant of its transforms (a pipeline per chunk; a buffer per call would
    // outlive an eager op); the last chunk's rows of V and M past the last tile stay unused.
    dispatches.push(
      ctx.dispatch(`${label}.winograd-input`, inputSource(s, chunk, p0), [x, v], elementwiseGrid(chunk * K).workgroups),
      ...products,
      ctx.dispatch(`${label}.winograd-output`, outputSource(s, chunk, p0, !!epilogue.accumulate, finish), [m, y, ...(epilogue.bias ? [epilogue.bias] : [])], elementwiseGrid(chunk * N).workgroups),
    );
  }
  return dispatches;
}
