import { alignFloats, elementwiseGrid, type Dispatch, type GpuContext, type Region } from '../context.ts';
import { INSTANCE_IDS, pooledSize } from '../../kernels/image-ops.ts';
import { f32 } from './pointwise.ts';
import { mergedSums, mergedWelford, mergeGrid, mergeThread, rowSlice, sliceWorkgroups, slicesOf, welfordPartials, type Slices } from './norm.ts';

/**
 * pix2pixHD's per-image ops in WGSL (NHWC; the kernels of src/kernels/image-ops.ts on webgpu): reflection
 * padding and the 3x3 / 2 average pooling without padded pixels, each with its adjoint, and affine-free
 * instance norm with its gradient. Each is one pass over memory where the tfjs-op forms took up to a
 * dozen kernels (reflection padding: slices, reversals, concatenations). The adjoints gather (one thread
 * per input element summing the outputs it fed), so nothing needs atomics and the sums are deterministic.
 */

export interface ImageShape {
  n: number;
  h: number;
  w: number;
  c: number;
}

/** WGSL: a grid-stride loop over `total` elements with body `body` (index i). */
export function elementwise(ctx: GpuContext, label: string, total: number, bindings: string, body: string, regions: Region[]): Dispatch {
  const g = elementwiseGrid(total);
  const code = /* wgsl */ `
${bindings}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var i = gid.x; i < ${total}u; i += ${g.stride}u) {
${body}
  }
}`;
  return ctx.dispatch(label, code, regions, g.workgroups);
}

/**
 * WGSL: fn inclusiveScan(li, v) -> the sum of v over threads 0..li of a 256-thread workgroup (each calls it
 * once, in uniform control flow), in a fixed order.
 */
export const INCLUSIVE_SCAN = /* wgsl */ `
var<workgroup> scanned: array<u32, 256>;
fn inclusiveScan(li: u32, v: u32) -> u32 {
  scanned[li] = v;
  workgroupBarrier();
  for (var d = 1u; d < 256u; d *= 2u) {
    var add = 0u;
    if (li >= d) { add = scanned[li - d]; }
    workgroupBarrier();
    scanned[li] += add;
    workgroupBarrier();
  }
  return scanned[li];
}`;

const IO = `@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;`;

/** WGSL: split i into (b, row, col, k) over an image of rows x cols x c. */
function coordinates(rows: number, cols: number, c: number): string {
  return `    let k = i % ${c}u;
    let col = (i / ${c}u) % ${cols}u;
    let row = (i / ${c * cols}u) % ${rows}u;
    let b = i / ${c * cols * rows}u;`;
}

/** y[b, i, j] = x[b, reflect(i), reflect(j)]: p rows and columns mirrored on each side, the edge not repeated. */
export function reflectionPad(ctx: GpuContext, s: ImageShape, p: number, x: Region, y: Region): Dispatch {
  const [H, W] = [s.h + 2 * p, s.w + 2 * p];
  const body = `${coordinates(H, W, s.c)}
    let r = mirror(i32(row) - ${p}, ${s.h});
    let q = mirror(i32(col) - ${p}, ${s.w});
    Y[i] = X[((b * ${s.h}u + r) * ${s.w}u + q) * ${s.c}u + k];`;
  const bindings = `${IO}
fn mirror(j: i32, size: i32) -> u32 { return u32(select(select(j, 2 * (size - 1) - j, j >= size), -j, j < 0)); }`;
  return elementwise(ctx, 'reflection-pad', s.n * H * W * s.c, bindings, body, [x, y]);
}

/** The adjoint: dx[b, r, q] sums dy over the padded positions that read (r, q) (up to three per axis). */
export function reflectionPadAdjoint(ctx: GpuContext, s: ImageShape, p: number, dy: Region, dx: Region): Dispatch {
  const [H, W] = [s.h + 2 * p, s.w + 2 * p];
  // The padded indices reading index r of an axis of `size`: r itself, its mirror before the start
  // (r in 1..p) and after the end (r in size-1-p .. size-2); -1 where there is none.
  const bindings = `${IO}
fn readers(r: i32, size: i32) -> vec3<i32> {
  return vec3<i32>(r + ${p}, select(-1, ${p} - r, r >= 1 && r <= ${p}), select(-1, ${p} + 2 * (size - 1) - r, r >= size - 1 - ${p} && r <= size - 2));
}`;
  const body = `${coordinates(s.h, s.w, s.c)}
    let rs = readers(i32(row), ${s.h});
    let qs = readers(i32(col), ${s.w});
    var sum = 0.0;
    for (var a = 0u; a < 3u; a++) {
      if (rs[a] < 0) { continue; }
      for (var e = 0u; e < 3u; e++) {
        if (qs[e] < 0) { continue; }
        sum += X[((b * ${H}u + u32(rs[a])) * ${W}u + u32(qs[e])) * ${s.c}u + k];
      }
    }
    Y[i] = sum;`;
  return elementwise(ctx, 'reflection-pad-adjoint', s.n * s.h * s.w * s.c, bindings, body, [dy, dx]);
}

/** WGSL: the pixels of a 3x3 / 2 window at output index o along an axis of `size` that lie inside it. */
const WINDOW = `fn window(o: u32, size: u32) -> vec2<u32> { return vec2<u32>(select(0u, 2u * o - 1u, o > 0u), min(size - 1u, 2u * o + 1u)); }`;

/** The 3x3 / 2 average (padding 1) over in-image pixels only, as AvgPool2d(count_include_pad=False). */
export function avgPool3x3s2(ctx: GpuContext, s: ImageShape, x: Region, y: Region): Dispatch {
  const [oh, ow] = [pooledSize(s.h), pooledSize(s.w)];
  const body = `${coordinates(oh, ow, s.c)}
    let ry = window(row, ${s.h}u);
    let rx = window(col, ${s.w}u);
    var sum = 0.0;
    for (var yy = ry.x; yy <= ry.y; yy++) {
      for (var xx = rx.x; xx <= rx.y; xx++) { sum += X[((b * ${s.h}u + yy) * ${s.w}u + xx) * ${s.c}u + k]; }
    }
    Y[i] = sum / f32((ry.y - ry.x + 1u) * (rx.y - rx.x + 1u));`;
  return elementwise(ctx, 'avg-pool-3x3s2', s.n * oh * ow * s.c, `${IO}\n${WINDOW}`, body, [x, y]);
}

/** The adjoint: dx at a pixel sums dy / count over the (up to two per axis) windows holding it. */
export function avgPool3x3s2Adjoint(ctx: GpuContext, s: ImageShape, dy: Region, dx: Region): Dispatch {
  const [oh, ow] = [pooledSize(s.h), pooledSize(s.w)];
  const body = `${coordinates(s.h, s.w, s.c)}
    var sum = 0.0;
    for (var oy = row / 2u; oy <= min((row + 1u) / 2u, ${oh - 1}u); oy++) {
      let ry = window(oy, ${s.h}u);
      for (var ox = col / 2u; ox <= min((col + 1u) / 2u, ${ow - 1}u); ox++) {
        let rx = window(ox, ${s.w}u);
        sum += X[((b * ${oh}u + oy) * ${ow}u + ox) * ${s.c}u + k] / f32((ry.y - ry.x + 1u) * (rx.y - rx.x + 1u));
      }
    }
    Y[i] = sum;`;
  return elementwise(ctx, 'avg-pool-3x3s2-adjoint', s.n * s.h * s.w * s.c, `${IO}\n${WINDOW}`, body, [dy, dx]);
}

/**
 * Per-image, per-channel reductions over the pixels, laid out as batch norm's (norm.ts: 64 channels x 4
 * pixel lanes a workgroup, one per slice of an image's pixels, then four lanes per image and channel merging
 * the slices: mergeThread). The partials (`width` floats each) and `outputs` merged [n, c] arrays live in one scratch
 * buffer, alive only during the op's own dispatches.
 */
export function reduction(ctx: GpuContext, label: string, s: ImageShape, width: number, outputs: number): { slices: Slices; partial: Region; merged: Region[] } {
  const slices = slicesOf(s.n, s.h * s.w, s.c);
  const partialLength = s.n * slices.slices * s.c * width;
  const each = alignFloats(s.n * s.c);
  const scratch = ctx.scratch(alignFloats(partialLength) + outputs * each, `${label}.scratch`);
  return {
    slices,
    partial: { buffer: scratch, offset: 0, length: partialLength },
    merged: Array.from({ length: outputs }, (_, k) => ({ buffer: scratch, offset: alignFloats(partialLength) + k * each, length: s.n * s.c })),
  };
}

/**
 * Per (image, slice of its pixels, channel), the sums of dy and of dy * (other - centre) into `partial`
 * (2 floats each, laid out as `slices`); `centre` ([n, c]) is zero where not given.
 */
export function pixelSumPartials(ctx: GpuContext, label: string, s: ImageShape, slices: Slices, dy: Region, other: Region, partial: Region, centre?: Region): Dispatch {
  const partialCode = /* wgsl */ `
@group(0) @binding(0) var<storage, read> DY: array<f32>;
@group(0) @binding(1) var<storage, read> O: array<f32>;
@group(0) @binding(2) var<storage, read_write> Part: array<f32>;
${centre ? '@group(0) @binding(3) var<storage, read> Centre: array<f32>;' : ''}
var<workgroup> sh: array<vec2<f32>, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ${rowSlice(slices)}
  var acc = vec2<f32>(0.0, 0.0);
  if (c < ${s.c}u) {
    let centre = ${centre ? `Centre[wg.z * ${s.c}u + c]` : '0.0'};
    for (var p = r0 + lane; p < r1; p += 4u) {
      let i = base + p * ${s.c}u + c;
      acc += vec2<f32>(DY[i], DY[i] * (O[i] - centre));
    }
  }
  sh[li] = acc;
  workgroupBarrier();
  if (lane == 0u && c < ${s.c}u) {
    let t = sh[li] + sh[li + 64u] + sh[li + 128u] + sh[li + 192u];
    Part[at * 2u] = t.x; Part[at * 2u + 1u] = t.y;
  }
}`;
  return ctx.dispatch(`${label}.partial`, partialCode, centre ? [dy, other, partial, centre] : [dy, other, partial], sliceWorkgroups(slices));
}

/**
 * Per image and channel, the sums over its pixels of dy and of dy * other, each divided by `divisor`
 * ([n, c] each): instance norm's gradient (their means) and Affine's (dbeta, dgamma). Into `into` where
 * given, else into the op's scratch buffer (returned; one scratch buffer per op, as two of one size alias).
 */
export function pixelSums(ctx: GpuContext, label: string, s: ImageShape, dy: Region, other: Region, divisor: number, into?: [Region, Region]): { dispatches: Dispatch[]; sums: [Region, Region] } {
  const r = reduction(ctx, label, s, 2, into ? 0 : 2);
  const [sumDy, sumDyOther] = into ?? (r.merged as [Region, Region]);
  // Part is read only, but the outputs may share its scratch buffer: a buffer bound writable in a
  // dispatch may not also be bound read-only there.
  const mergeCode = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> Part: array<f32>;
@group(0) @binding(1) var<storage, read_write> SumDy: array<f32>;
@group(0) @binding(2) var<storage, read_write> SumDyO: array<f32>;
${mergeThread(r.slices)}
  ${mergedSums(r.slices, 'b')}
  SumDy[bc] = t.x / ${f32(divisor)};
  SumDyO[bc] = t.y / ${f32(divisor)};
}`;
  const dispatches = [
    pixelSumPartials(ctx, label, s, r.slices, dy, other, r.partial),
    ctx.dispatch(`${label}.merge`, mergeCode, [r.partial, sumDy, sumDyOther], mergeGrid(r.slices)),
  ];
  return { dispatches, sums: [sumDy, sumDyOther] };
}

/** y = (x - mean) * invStd per image and channel (biased variance), as InstanceNorm2d(affine=False); invStd [n, c] is kept for the gradient. */
export function instanceNorm(ctx: GpuContext, s: ImageShape, eps: number, x: Region, y: Region, invStd: Region): Dispatch[] {
  const r = reduction(ctx, 'instance-norm', s, 3, 1);
  // Part is read only, but it shares the scratch buffer with Mean: a buffer bound writable in a dispatch
  // may not also be bound read-only there.
  const mergeCode = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> Part: array<f32>;
@group(0) @binding(1) var<storage, read_write> Mean: array<f32>;
@group(0) @binding(2) var<storage, read_write> InvStd: array<f32>;
${mergeThread(r.slices)}
  ${mergedWelford(r.slices, 'b')}
  Mean[bc] = mean;
  InvStd[bc] = inverseSqrt(m2 / n + ${f32(eps)});
}`;
  const apply = elementwise(ctx, 'instance-norm.apply', s.n * s.h * s.w * s.c, `@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Mean: array<f32>;
@group(0) @binding(2) var<storage, read> InvStd: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;`, `    let bc = (i / ${s.h * s.w * s.c}u) * ${s.c}u + i % ${s.c}u;
    Y[i] = (X[i] - Mean[bc]) * InvStd[bc];`, [x, r.merged[0], invStd, y]);
  return [
    welfordPartials(ctx, 'instance-norm', r.slices, x, r.partial),
    ctx.dispatch('instance-norm.merge', mergeCode, [r.partial, r.merged[0], invStd], mergeGrid(r.slices)),
    apply,
  ];
}

/** dx = invStd * (dy - mean(dy) - y * mean(dy * y)), means over each image's pixels, per channel. */
export function instanceNormGrad(ctx: GpuContext, s: ImageShape, dy: Region, y: Region, invStd: Region, dx: Region): Dispatch[] {
  const means = pixelSums(ctx, 'instance-norm-grad', s, dy, y, s.h * s.w);
  const [meanDy, meanDyY] = means.sums;
  const apply = elementwise(ctx, 'instance-norm-grad.apply', s.n * s.h * s.w * s.c, `@group(0) @binding(0) var<storage, read> DY: array<f32>;
@group(0) @binding(1) var<storage, read> Y: array<f32>;
@group(0) @binding(2) var<storage, read> MeanDy: array<f32>;
@group(0) @binding(3) var<storage, read> MeanDyY: array<f32>;
@group(0) @binding(4) var<storage, read> InvStd: array<f32>;
@group(0) @binding(5) var<storage, read_write> DX: array<f32>;`, `    let bc = (i / ${s.h * s.w * s.c}u) * ${s.c}u + i % ${s.c}u;
    DX[i] = InvStd[bc] * (DY[i] - MeanDy[bc] - Y[i] * MeanDyY[bc]);`, [dy, y, meanDy, meanDyY, invStd, dx]);
  return [...means.dispatches, apply];
}

/**
 * Instance means (src/kernels/image-ops.ts's INSTANCE_MEANS): y[b, p, :] = the mean of x[b, q, :] over
 * image b's pixels q whose id (ids [n, h, w], int32 below INSTANCE_IDS) is pixel p's. Without float
 * atomics, so the same input gives the same bits on any GPU (tfjs's UnsortedSegmentSum adds floats in
 * whatever order the GPU runs its threads): each image's ids are numbered 0..K-1 in id order through a
 * table of INSTANCE_IDS words (cleared, marked, prefix-summed by one workgroup an image); each pixel takes
 * its instance's number; one workgroup sums an instance's features and pixels over the image in a fixed
 * order (workgroups striped over an image's instances); each pixel then reads its instance's mean.
 */
export function instanceMeans(ctx: GpuContext, s: ImageShape, x: Region, ids: Region, y: Region): Dispatch[] {
  const hw = s.h * s.w;
  const instances = Math.min(INSTANCE_IDS, hw);
  const stripes = Math.min(64, instances);
  // One scratch buffer: the table, each image's instance count, each pixel's instance, the means.
  const lengths = [s.n * INSTANCE_IDS, s.n, s.n * hw, s.n * instances * s.c];
  const offsets = lengths.map((_, i) => lengths.slice(0, i).reduce((a, l) => a + alignFloats(l), 0));
  const scratch = ctx.scratch(offsets[3] + alignFloats(lengths[3]), 'instance-means.scratch');
  const [table, count, pixelInstance, means] = lengths.map((length, i) => ({ buffer: scratch, offset: offsets[i], length }));
  // Every binding of the scratch buffer is read_write: a buffer bound writable in a dispatch may not also be bound read-only there.
  const clear = elementwise(ctx, 'instance-means.clear', lengths[0], '@group(0) @binding(0) var<storage, read_write> Table: array<u32>;', '    Table[i] = 0u;', [table]);
  const mark = elementwise(ctx, 'instance-means.mark', s.n * hw, `@group(0) @binding(0) var<storage, read> Ids: array<i32>;
@group(0) @binding(1) var<storage, read_write> Table: array<atomic<u32>>;`, `    atomicStore(&Table[(i / ${hw}u) * ${INSTANCE_IDS}u + u32(Ids[i])], 1u);`, [ids, table]);
  // Thread t of image b's workgroup numbers ids t * span .. (t + 1) * span - 1, after the ids below them.
  const span = INSTANCE_IDS / 256;
  const numberCode = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> Table: array<u32>;
@group(0) @binding(1) var<storage, read_write> Count: array<u32>;
${INCLUSIVE_SCAN}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let base = wg.x * ${INSTANCE_IDS}u + li * ${span}u;
  var present = 0u;
  for (var j = 0u; j < ${span}u; j++) { present += Table[base + j]; }
  let upTo = inclusiveScan(li, present);
  var next = upTo - present;
  for (var j = 0u; j < ${span}u; j++) {
    if (Table[base + j] != 0u) {
      Table[base + j] = next;
      next++;
    }
  }
  if (li == 255u) { Count[wg.x] = upTo; }
}`;
  const number = ctx.dispatch('instance-means.number', numberCode, [table, count], [s.n]);
  const assign = elementwise(ctx, 'instance-means.assign', s.n * hw, `@group(0) @binding(0) var<storage, read> Ids: array<i32>;
@group(0) @binding(1) var<storage, read_write> Table: array<u32>;
@group(0) @binding(2) var<storage, read_write> PixelInstance: array<u32>;`, `    PixelInstance[i] = Table[(i / ${hw}u) * ${INSTANCE_IDS}u + u32(Ids[i])];`, [ids, table, pixelInstance]);
  const sumCode = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Count: array<u32>;
@group(0) @binding(2) var<storage, read_write> PixelInstance: array<u32>;
@group(0) @binding(3) var<storage, read_write> Means: array<f32>;
var<workgroup> partial: array<f32, 256>;
var<workgroup> instanceCount: u32;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let b = wg.y;
  if (li == 0u) { instanceCount = Count[b]; }
  let K = workgroupUniformLoad(&instanceCount);
  for (var k = wg.x; k < K; k += ${stripes}u) {
    // This thread's sums of the instance's features, and its pixel count last (zeroed for each instance).
    var acc = array<f32, ${s.c + 1}>();
    for (var p = li; p < ${hw}u; p += 256u) {
      if (PixelInstance[b * ${hw}u + p] == k) {
        for (var j = 0u; j < ${s.c}u; j++) { acc[j] += X[(b * ${hw}u + p) * ${s.c}u + j]; }
        acc[${s.c}] += 1.0;
      }
    }
    var total = array<f32, ${s.c + 1}>();
    for (var j = 0u; j < ${s.c + 1}u; j++) {
      partial[li] = acc[j];
      workgroupBarrier();
      for (var d = 128u; d > 0u; d /= 2u) {
        if (li < d) { partial[li] += partial[li + d]; }
        workgroupBarrier();
      }
      total[j] = partial[0];
      workgroupBarrier();
    }
    if (li == 0u) {
      for (var j = 0u; j < ${s.c}u; j++) { Means[(b * ${instances}u + k) * ${s.c}u + j] = total[j] / total[${s.c}]; }
    }
  }
}`;
  const sum = ctx.dispatch('instance-means.sum', sumCode, [x, count, pixelInstance, means], [stripes, s.n]);
  const apply = elementwise(ctx, 'instance-means.apply', s.n * hw * s.c, `@group(0) @binding(0) var<storage, read_write> PixelInstance: array<u32>;
@group(0) @binding(1) var<storage, read_write> Means: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;`, `    let p = i / ${s.c}u;
    Y[i] = Means[((p / ${hw}u) * ${instances}u + PixelInstance[p]) * ${s.c}u + i % ${s.c}u];`, [pixelInstance, means, y]);
  return [clear, mark, number, assign, sum, apply];
}
