import type { Dispatch, GpuContext, Region } from '../context.ts';
import { f32 } from './pointwise.ts';

/**
 * Sums over one contiguous block of axes: x viewed as [outer, reduce, inner], y[o, i] = sum over r of
 * x[o, r, i] / divisor. Sum's and Mean's over leading axes (outer 1: bias gradients, losses' totals),
 * trailing ones (inner 1: per-row totals of losses and projections) and middle ones (a feature map's
 * pixels) are all this.
 *
 * A 256-thread workgroup covers `width` neighbouring inner indices (64, or the next power of two above a
 * narrower inner) with 256 / width lanes each, so that a row sum keeps every thread busy where a
 * 64-channel layout would idle 63 of 64. Each lane keeps four sums, so that four loads are in flight (a
 * GPU hides memory's latency only with many), and the lanes of one slice of the reduced rows meet in
 * workgroup memory in a fixed tree. Long reductions split into slices, one workgroup each, so that few
 * outputs still fill the GPU; the slices' partial sums, [outer, slices, inner], are summed the same way, a
 * pass per level, in parallel rather than by one thread per output through every partial. Every sum is
 * taken in the same order each run: no atomics.
 */
export interface AxisSumsShape {
  outer: number;
  reduce: number;
  inner: number;
}

/** The most outer blocks (grid z). */
export const AXIS_SUMS_MAX_OUTER = 65535;

/** Workgroups a reduction aims for before it stops splitting rows into slices: about one wave of a large GPU. */
const TARGET_GROUPS = 1024;

export interface AxisSumsLayout {
  /** Inner indices per workgroup, and lanes per inner index (width x lanes = 256). */
  width: number;
  lanes: number;
  slices: number;
  rowsPer: number;
}

export function axisSumsLayout(s: AxisSumsShape): AxisSumsLayout {
  const width = Math.min(64, 2 ** Math.ceil(Math.log2(Math.max(1, s.inner))));
  const lanes = 256 / width;
  const groups = Math.ceil(s.inner / width) * s.outer;
  // Each lane sums at least 16 rows of its slice.
  const slices = Math.max(1, Math.min(Math.ceil(s.reduce / (16 * lanes)), Math.ceil(TARGET_GROUPS / groups)));
  return { width, lanes, slices, rowsPer: Math.ceil(s.reduce / slices) };
}

export function axisSums(ctx: GpuContext, s: AxisSumsShape, divisor: number, x: Region, y: Region): Dispatch[] {
  if (s.outer > AXIS_SUMS_MAX_OUTER) throw new Error(`axis sums: ${s.outer} outer blocks, at most ${AXIS_SUMS_MAX_OUTER}`);
  const l = axisSumsLayout(s);
  const single = l.slices === 1;
  const { inner, reduce } = s;
  const L = l.lanes;
  const at = (r: string) => `X[base + (${r}) * ${inner}u + i]`;
  const code = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Out: array<f32>;
var<workgroup> sh: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = wg.x * ${l.width}u + li % ${l.width}u;
  let lane = li / ${l.width}u;
  let r0 = wg.y * ${l.rowsPer}u;
  let r1 = min(${reduce}u, r0 + ${l.rowsPer}u);
  let base = wg.z * ${reduce * inner}u;
  var a = vec4<f32>(0.0);
  if (i < ${inner}u) {
    var r = r0 + lane;
    for (; r + ${3 * L}u < r1; r += ${4 * L}u) {
      a += vec4<f32>(${at('r')}, ${at(`r + ${L}u`)}, ${at(`r + ${2 * L}u`)}, ${at(`r + ${3 * L}u`)});
    }
    for (; r < r1; r += ${L}u) { a.x += ${at('r')}; }
  }
  sh[li] = (a.x + a.y) + (a.z + a.w);
  workgroupBarrier();
  for (var half = 128u; half >= ${l.width}u; half /= 2u) {
    if (li < half) { sh[li] += sh[li + half]; }
    workgroupBarrier();
  }
  if (lane == 0u && i < ${inner}u) {
    ${single ? `Out[wg.z * ${inner}u + i] = sh[li] / ${f32(divisor)};` : `Out[(wg.z * ${l.slices}u + wg.y) * ${inner}u + i] = sh[li];`}
  }
}`;
  const grid: [number, number, number] = [Math.ceil(inner / l.width), l.slices, s.outer];
  if (single) return [ctx.dispatch('axis-sums', code, [x, y], grid)];
  // The partials, [outer, slices, inner], summed over their slices the same way.
  const length = s.outer * l.slices * inner;
  const partial = ctx.region(ctx.scratch(length, `axis-sums.partial${l.slices}`), length);
  return [ctx.dispatch('axis-sums.partial', code, [x, partial], grid), ...axisSums(ctx, { ...s, reduce: l.slices }, divisor, partial, y)];
}
