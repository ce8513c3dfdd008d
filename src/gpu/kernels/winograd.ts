import { elementwiseGrid, type Dispatch, type GpuContext, type Region } from '../context.ts';
import { finishFunction, gemm, rowMajorByK, rowMajorByOuter, type GemmTuning } from './gemm.ts';

/**
 * A 3x3, stride-1 convolution by Winograd's minimal filtering F(m x m, 3x3) (Lavin & Gray, 2016): each
 * m x m block of outputs comes from an n x n block of input (n = m + 2) through n^2 products, where direct
 * convolution takes 9 m^2: F(2x2) 16 for 36 (2.25x fewer multiply-adds), F(4x4) 36 for 144 (4x). Per tile
 * of m x m outputs and per channel pair:
 *   Y = A^T [ (G g G^T) . (B^T d B) ] A,  d the n x n input block, g the 3x3 filter
 * and the sum over input channels moves inside the brackets: n^2 GEMMs, one per element (a, b) of the
 * transformed block, M[ab] (tiles x outC) = V[ab] (tiles x inC) U[ab] (inC x outC). Four passes: the
 * filter's transform U, the input's V, the n^2 products (one batched GEMM), and the output's transform,
 * which adds the bias and activation or accumulates. V and M are (n/m)^2 the input and output (4x for
 * F(2x2), 2.25x for F(4x4)), so tiles go through the last three in chunks whose buffers stay under
 * WINOGRAD_CHUNK_BYTES. F(4x4)'s transforms have larger coefficients (up to 8), so its float32 error is
 * several times F(2x2)'s (bench/winograd-accuracy.ts), still ~1e-5 of the outputs.
 *
 * The same serves the input gradient of a 3x3 stride-1 convolution: dx is dy convolved with the filter
 * turned by 180 degrees, its in and out channels swapped, padded 2 - p (`flipped`). The filter gradient
 * runs the forward backwards (winogradFilterGrad).
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
  /** Outputs per tile across and down: F(2x2, 3x3) or F(4x4, 3x3). */
  m: 2 | 4;
}

/** Most bytes V or M of one chunk of tiles takes (lavapipe binds at most 128 MiB). */
const WINOGRAD_CHUNK_BYTES = 64 * 1024 * 1024;

/**
 * Channels both sides need before the transforms' memory traffic (V and M are 2.25-4x the input and output)
 * is small beside the multiply-adds saved.
 */
const WINOGRAD_MIN_CHANNELS = 64;

/**
 * Tiles (over the batch) it needs: the filter's transform costs the same however few there are, and each
 * of the products has one row per tile, so fewer leave a GEMM tile of 64 or 128 rows mostly empty (on
 * lavapipe VGG's 512-channel layers at 8x16, 32 tiles of F(2x2), took 1.4x the implicit GEMM's time; at
 * 16x32, 128 tiles, 0.79-0.94x).
 */
const WINOGRAD_MIN_TILES = 128;

/**
 * The Winograd transform chosen for a 3x3 stride-1 convolution where none is asked for: F(4x4) where it has
 * tiles enough, else F(2x2) where that has, each only with channels enough; null: the implicit GEMM.
 */
export function winogradPays(s: Pick<WinogradConv, 'batch' | 'inC' | 'outC' | 'oh' | 'ow'>): 2 | 4 | null {
  if (s.inC < WINOGRAD_MIN_CHANNELS || s.outC < WINOGRAD_MIN_CHANNELS) return null;
  return tiles({ ...s, m: 4 }).count >= WINOGRAD_MIN_TILES ? 4 : tiles({ ...s, m: 2 }).count >= WINOGRAD_MIN_TILES ? 2 : null;
}

/**
 * Channel pairs the filter gradient by Winograd needs: its products run one workgroup per GEMM tile of
 * channel pairs, their K the tiles (not split), so with fewer channels the grid is too small to fill a
 * GPU (256 x 256 channels: 16 tiles of 64 x 64 in each of the 36 products).
 */
const WINOGRAD_FILTER_GRAD_MIN_PAIRS = 256 * 256;

/**
 * Tiles the filter gradient by F(4x4) needs. They are its products' K, not their rows, so fewer than the
 * forward's do: on lavapipe VGG's 256 -> 256 layer at 16x32 (32 tiles of F(4x4)) took 0.41 of the implicit
 * GEMM's time by F(4x4) and 0.69 by F(2x2).
 */
const WINOGRAD_FILTER_GRAD_MIN_TILES = 32;

/** The transform chosen for a 3x3 stride-1 convolution's filter gradient: F(4x4) with channel pairs and tiles enough. */
export function winogradFilterGradPays(s: Pick<WinogradConv, 'batch' | 'inC' | 'outC' | 'oh' | 'ow'>): 4 | null {
  const channels = s.inC >= WINOGRAD_MIN_CHANNELS && s.outC >= WINOGRAD_MIN_CHANNELS && s.inC * s.outC >= WINOGRAD_FILTER_GRAD_MIN_PAIRS;
  return channels && tiles({ ...s, m: 4 }).count >= WINOGRAD_FILTER_GRAD_MIN_TILES ? 4 : null;
}

/** Whether the device can bind the filter's transform (n^2 inC x outC floats, in a buffer of the next power of two) at once. */
export function winogradFits(ctx: GpuContext, s: Pick<WinogradConv, 'inC' | 'outC' | 'm'>): boolean {
  const { maxStorageBufferBindingSize, maxBufferSize } = ctx.device.limits;
  return roundUpPow2((s.m + 2) ** 2 * s.inC * s.outC) * 4 <= Math.min(maxStorageBufferBindingSize, maxBufferSize);
}

/**
 * A Winograd transform set F(m x m, 3x3): B^T (n x n, n = m + 2) takes a tile's n x n input block to the
 * transformed domain, G (n x 3) the filter, A^T (m x n) the products back to m x m outputs.
 */
interface WinogradTransforms {
  m: 2 | 4;
  BT: number[][];
  G: number[][];
  AT: number[][];
}

/** Lavin & Gray's matrices (interpolation points 0, 1, -1 and infinity; for F(4x4) also 2 and -2). */
const TRANSFORMS: Record<2 | 4, WinogradTransforms> = {
  2: {
    m: 2,
    BT: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
    G: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
    AT: [[1, 1, 1, 0], [0, 1, -1, -1]],
  },
  4: {
    m: 4,
    BT: [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
    G: [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
    AT: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
  },
};

/** A WGSL f32 literal. */
function literal(v: number): string {
  return Number.isInteger(v) ? `${v}.0` : `${Math.fround(v)}`;
}

/** sum_j row[j] * names[j] as WGSL, the zero terms left out. */
function combination(row: number[], names: string[]): string {
  const terms = row.flatMap((c, j) => (c === 0 ? [] : [c === 1 ? names[j] : c === -1 ? `-${names[j]}` : `${literal(c)} * ${names[j]}`]));
  return terms.length ? terms.join(' + ').replaceAll('+ -', '- ') : '0.0';
}

/**
 * WGSL lets `out_i_j` = (L X R^T)[i][j] for the matrix of lets `x_i_j` (rows x columns): L applied down the
 * columns, then R along the rows, unrolled with their constant coefficients.
 */
function sandwich(L: number[][], R: number[][], x: string, out: string, columns: number): string {
  const mid = `${out}_t`;
  const lines: string[] = [];
  for (let i = 0; i < L.length; i++) {
    for (let j = 0; j < columns; j++) lines.push(`let ${mid}_${i}_${j} = ${combination(L[i], L[i].map((_, k) => `${x}_${k}_${j}`))};`);
  }
  for (let i = 0; i < L.length; i++) {
    for (let j = 0; j < R.length; j++) lines.push(`let ${out}_${i}_${j} = ${combination(R[j], R[j].map((_, k) => `${mid}_${i}_${k}`))};`);
  }
  return lines.join('\n    ');
}

function tiles(s: Pick<WinogradConv, 'batch' | 'oh' | 'ow' | 'm'>): { th: number; tw: number; count: number } {
  const th = Math.ceil(s.oh / s.m);
  const tw = Math.ceil(s.ow / s.m);
  return { th, tw, count: s.batch * th * tw };
}

/** A tile's image and position, from `p`, its index over the whole batch. */
function tileDecode(s: WinogradConv): string {
  const { th, tw } = tiles(s);
  return `let tx = p % ${tw}u; let ty = (p / ${tw}u) % ${th}u; let img = p / ${tw * th}u;`;
}

/**
 * WGSL main over (tile p0 + q of the chunk, channel `channel`), tiles past the last skipped: the tile's
 * image `img` and the top-left (oy0, ox0) of its m x m outputs decoded before `body`.
 */
function perTileAndChannel(s: WinogradConv, chunk: number, p0: number, channels: number, channel: string, body: string): string {
  const grid = elementwiseGrid(chunk * channels);
  return /* wgsl */ `@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var i = gid.x; i < ${chunk * channels}u; i += ${grid.stride}u) {
    let ${channel} = i % ${channels}u;
    let q = i / ${channels}u;
    let p = ${p0}u + q;
    if (p >= ${tiles(s).count}u) { break; }
    ${tileDecode(s)}
    let oy0 = ${s.m}u * ty;
    let ox0 = ${s.m}u * tx;
    ${body}
  }
}`;
}

/**
 * A WGSL kernel reading binding 0 (`from`) and writing binding 1 (`to`) for every channel pair i = k * N + n
 * (k the input channel, n the output channel): the filter's transform and its gradient's way back.
 */
function perChannelPair(s: WinogradConv, from: string, to: string, body: string): string {
  const [K, N] = [s.inC, s.outC];
  const grid = elementwiseGrid(K * N);
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> ${from}: array<f32>;
@group(0) @binding(1) var<storage, read_write> ${to}: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var i = gid.x; i < ${K * N}u; i += ${grid.stride}u) {
    let k = i / ${N}u;
    let n = i % ${N}u;
    ${body}
  }
}`;
}

/** U[ab][k][n] = (G g G^T)[a][b], g the 3x3 filter of input channel k and output channel n. */
function filterSource(s: WinogradConv): string {
  const [K, N] = [s.inC, s.outC];
  const { G } = TRANSFORMS[s.m];
  const n = s.m + 2;
  // forward: w[kh][kw][k][n]; flipped: w[2 - kh][2 - kw][n][k]
  const tap = (r: number, c: number) => (s.flipped ? `Wt[(${(2 - r) * 3 + 2 - c}u * ${N}u + n) * ${K}u + k]` : `Wt[(${r * 3 + c}u * ${K}u + k) * ${N}u + n]`);
  const loads = [0, 1, 2].flatMap((r) => [0, 1, 2].map((c) => `let g_${r}_${c} = ${tap(r, c)};`)).join('\n    ');
  const stores = Array.from({ length: n * n }, (_, e) => `U[${e}u * ${K * N}u + k * ${N}u + n] = u_${Math.floor(e / n)}_${e % n};`).join('\n    ');
  return perChannelPair(s, 'Wt', 'U', `${loads}
    ${sandwich(G, G, 'g', 'u', 3)}
    ${stores}`);
}

/** V[ab][q][c] = (B^T d B)[a][b] for tiles p0 + q of the chunk, d the tile's n x n input block. */
function inputSource(s: WinogradConv, chunk: number, p0: number): string {
  const C = s.inC;
  const { BT } = TRANSFORMS[s.m];
  const n = s.m + 2;
  const loads = Array.from({ length: n * n }, (_, e) => `let d_${Math.floor(e / n)}_${e % n} = x(img, y0 + ${Math.floor(e / n)}, x0 + ${e % n}, c);`).join('\n    ');
  const stores = Array.from({ length: n * n }, (_, e) => `V[(${e}u * ${chunk}u + q) * ${C}u + c] = v_${Math.floor(e / n)}_${e % n};`).join('\n    ');
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> V: array<f32>;
fn x(img: u32, y: i32, x: i32, c: u32) -> f32 {
  if (y < 0 || y >= ${s.h} || x < 0 || x >= ${s.w}) { return 0.0; }
  return X[((img * ${s.h}u + u32(y)) * ${s.w}u + u32(x)) * ${C}u + c];
}
${perTileAndChannel(s, chunk, p0, C, 'c', `let y0 = i32(oy0) - ${s.padTop};
    let x0 = i32(ox0) - ${s.padLeft};
    ${loads}
    ${sandwich(BT, BT, 'd', 'v', n)}
    ${stores}`)}`;
}

/** Y at the m x m outputs of tile p0 + q = A^T M A (M the tile's n x n products), through finish. */
function outputSource(s: WinogradConv, chunk: number, p0: number, accumulate: boolean, finish: string): string {
  const N = s.outC;
  const { AT } = TRANSFORMS[s.m];
  const n = s.m + 2;
  const loads = Array.from({ length: n * n }, (_, e) => `let m_${Math.floor(e / n)}_${e % n} = Mp[(${e}u * ${chunk}u + q) * ${N}u + n];`).join('\n    ');
  const stores = Array.from({ length: s.m * s.m }, (_, e) => {
    const [a, b] = [Math.floor(e / s.m), e % s.m];
    return `if (oy0 + ${a}u < ${s.oh}u && ox0 + ${b}u < ${s.ow}u) { let o = ((img * ${s.oh}u + oy0 + ${a}u) * ${s.ow}u + ox0 + ${b}u) * ${N}u + n; Y[o] = ${accumulate ? 'Y[o] + ' : ''}finish(y_${a}_${b}, n); }`;
  }).join('\n    ');
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> Mp: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
${finish}
${perTileAndChannel(s, chunk, p0, N, 'n', `${loads}
    ${sandwich(AT, AT, 'm', 'y', n)}
    ${stores}`)}`;
}

function transpose(a: number[][]): number[][] {
  return a[0].map((_, j) => a.map((row) => row[j]));
}

/**
 * The filter gradient's dy transform: Z[ab][q][n] = (A dY A^T)[a][b], dY the m x m block of dy (the output
 * gradient) at tile p0 + q, zero past the output's edge. Tiles p0 + q past the last are not written: the
 * products read only the chunk's tiles.
 */
function outputGradSource(s: WinogradConv, chunk: number, p0: number): string {
  const N = s.outC;
  const A = transpose(TRANSFORMS[s.m].AT);
  const n = s.m + 2;
  const loads = Array.from({ length: s.m * s.m }, (_, e) => {
    const [a, b] = [Math.floor(e / s.m), e % s.m];
    return `let g_${a}_${b} = dy(img, oy0 + ${a}u, ox0 + ${b}u, n);`;
  }).join('\n    ');
  const stores = Array.from({ length: n * n }, (_, e) => `Z[(${e}u * ${chunk}u + q) * ${N}u + n] = z_${Math.floor(e / n)}_${e % n};`).join('\n    ');
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> DY: array<f32>;
@group(0) @binding(1) var<storage, read_write> Z: array<f32>;
fn dy(img: u32, y: u32, x: u32, n: u32) -> f32 {
  if (y >= ${s.oh}u || x >= ${s.ow}u) { return 0.0; }
  return DY[((img * ${s.oh}u + y) * ${s.ow}u + x) * ${N}u + n];
}
${perTileAndChannel(s, chunk, p0, N, 'n', `${loads}
    ${sandwich(A, A, 'g', 'z', s.m)}
    ${stores}`)}`;
}

/** dw[kh][kw][k][n] (+)= (G^T dU G)[kh][kw], dU[ab][k][n] the products summed over every tile. */
function filterGradSource(s: WinogradConv, accumulate: boolean): string {
  const [K, N] = [s.inC, s.outC];
  const GT = transpose(TRANSFORMS[s.m].G);
  const n = s.m + 2;
  const loads = Array.from({ length: n * n }, (_, e) => `let u_${Math.floor(e / n)}_${e % n} = DU[${e}u * ${K * N}u + i];`).join('\n    ');
  const stores = [0, 1, 2].flatMap((r) => [0, 1, 2].map((c) => `{ let o = ${(r * 3 + c) * K * N}u + i; DW[o] = ${accumulate ? 'DW[o] + ' : ''}w_${r}_${c}; }`)).join('\n    ');
  return perChannelPair(s, 'DU', 'DW', `${loads}
    ${sandwich(GT, GT, 'u', 'w', n)}
    ${stores}`);
}

/** The smallest power of two at least n: scratch sizes that many layers share. */
function roundUpPow2(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}

/** Tiles in a chunk: as many as keep V and M under WINOGRAD_CHUNK_BYTES, a multiple of 128 (a GEMM tile) where there are more. */
function winogradChunk(s: Pick<WinogradConv, 'inC' | 'outC' | 'm'>, tileCount: number, chunkBytes = WINOGRAD_CHUNK_BYTES): number {
  const most = Math.floor(chunkBytes / ((s.m + 2) ** 2 * 4 * Math.max(s.inC, s.outC)));
  if (tileCount <= most) return tileCount;
  return Math.max(1, most >= 128 ? Math.floor(most / 128) * 128 : most);
}

/**
 * A Winograd convolution's tiles, its chunk of them, the n^2 elements of a transformed block, and its
 * temporaries: the filter's transform (or the filter gradient's products), the input's chunk (V) and the
 * products' (M, or dy's Z), each in its own scratch slot at a power-of-two size that other layers share.
 */
function winogradBuffers(ctx: GpuContext, label: string, s: WinogradConv, chunkBytes: number) {
  const { count } = tiles(s);
  const chunk = winogradChunk(s, count, chunkBytes);
  const elements = (s.m + 2) ** 2;
  const scratch = (n: number, slot: string) => ctx.region(ctx.scratch(roundUpPow2(n), `${label}.${slot}`, slot), n);
  return {
    count, chunk, elements,
    filter: scratch(elements * s.inC * s.outC, 'winograd-filter'),
    input: scratch(elements * chunk * s.inC, 'winograd-input'),
    products: scratch(elements * chunk * s.outC, 'winograd-products'),
  };
}

/**
 * The dispatches of a Winograd convolution y (+)= conv(x, w) (see WinogradConv): the filter's transform,
 * then per chunk of tiles the input's transform, the n^2 products and the output's transform. The bias
 * and activation apply as the output is stored; `accumulate` adds to it instead (no bias, no activation).
 * `tuning.tile` picks the products' GEMM tile; they are never split along K (one product per grid z).
 * `chunkBytes` bounds V and M (tests make it small to cross chunks).
 */
export function winogradConv(ctx: GpuContext, label: string, s: WinogradConv, x: Region, w: Region, y: Region,
  epilogue: { bias?: Region; activation?: string; accumulate?: boolean } = {}, tuning: GemmTuning = {}, chunkBytes = WINOGRAD_CHUNK_BYTES): Dispatch[] {
  if (epilogue.accumulate && (epilogue.bias || epilogue.activation)) throw new Error(`${label}: a convolution that accumulates into its output takes no bias or activation`);
  const { count, chunk, elements, filter: u, input: v, products: m } = winogradBuffers(ctx, label, s, chunkBytes);
  const K = s.inC;
  const N = s.outC;
  const dispatches = [ctx.dispatch(`${label}.winograd-filter`, filterSource(s), [w, u], elementwiseGrid(K * N).workgroups)];
  const finish = finishFunction(epilogue.activation, epilogue.bias ? 2 : null);
  const products = gemm(ctx, {
    label: `${label}.winograd`, M: chunk, N, K,
    a: rowMajorByK(K), b: rowMajorByOuter(N),
    batch: { count: elements, a: chunk * K, b: K * N, c: chunk * N },
  }, v, u, m, { tile: tuning.tile, scaled: tuning.scaled });
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

/**
 * The dispatches of dw (+)= the filter gradient of a Winograd convolution (s unflipped: x its input, dy the
 * gradient at its output): per chunk of tiles the input's transform V and dy's Z = A dY A^T, and the n^2
 * products dU[ab] (+)= V[ab]^T Z[ab], summed over the chunks (the tiles are the products' K); then dw =
 * G^T dU G for every channel pair. The products are not split along K: the channel pairs give the grid.
 */
export function winogradFilterGrad(ctx: GpuContext, label: string, s: WinogradConv, x: Region, dy: Region, dw: Region,
  accumulate = false, tuning: GemmTuning = {}, chunkBytes = WINOGRAD_CHUNK_BYTES): Dispatch[] {
  if (s.flipped) throw new Error(`${label}: the filter gradient is of a forward convolution`);
  const { count, chunk, elements, filter: du, input: v, products: z } = winogradBuffers(ctx, label, s, chunkBytes);
  const K = s.inC;
  const N = s.outC;
  const dispatches: Dispatch[] = [];
  for (let p0 = 0; p0 < count; p0 += chunk) {
    const tilesHere = Math.min(chunk, count - p0);
    dispatches.push(
      ctx.dispatch(`${label}.winograd-input`, inputSource(s, chunk, p0), [x, v], elementwiseGrid(chunk * K).workgroups),
      ctx.dispatch(`${label}.winograd-dy`, outputGradSource(s, chunk, p0), [dy, z], elementwiseGrid(chunk * N).workgroups),
      // dU[ab] (k, n) = sum over the chunk's tiles q of V[ab][q][k] Z[ab][q][n]: V read as A stored [K, M]
      ...gemm(ctx, {
        label: `${label}.winograd`, M: K, N, K: tilesHere,
        a: rowMajorByOuter(K), b: rowMajorByOuter(N),
        batch: { count: elements, a: chunk * K, b: chunk * N, c: K * N },
        accumulate: p0 > 0,
      }, v, z, du, { tile: tuning.tile, scaled: tuning.scaled }),
    );
  }
  dispatches.push(ctx.dispatch(`${label}.winograd-filter-grad`, filterGradSource(s, accumulate), [du, dw], elementwiseGrid(K * N).workgroups));
  return dispatches;
}
