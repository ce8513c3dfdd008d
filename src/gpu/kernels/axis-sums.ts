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
 * 64-channel layout would idle 63 of 64. The lanes of one slice of the reduced rows meet in workgroup
 * memory in a fixed tree; long reductions split into slices (one workgroup each, so that few outputs still
 * fill the GPU) whose partials one thread per output adds in slice order. Every sum is taken in the same
 * order each run: no atomics.
 */
export interface AxisSumsShape {
  outer: number;
  reduce: number;
  inner: number;
}

/** The most outer blocks (grid z). */
export const AXIS_SUMS_MAX_OUTER = 65535;

/** Workgroups a reduction aims for before it stops splitting rows into slices. */
const TARGET_GROUPS = 256;

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
  const sumCode = /* wgsl */ `
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
  var acc = 0.0;
  if (i < ${inner}u) {
    for (var r = r0 + lane; r < r1; r += ${l.lanes}u) { acc += X[base + r * ${inner}u + i]; }
  }
  sh[li] = acc;
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
  if (single) return [ctx.dispatch('axis-sums', sumCode, [x, y], grid)];
  const outputs = s.outer * inner;
  const partial = ctx.region(ctx.scratch(outputs * l.slices, 'axis-sums.partial'), outputs * l.slices);
  const mergeCode = /* wgsl */ `
@group(0) @binding(0) var<storage, read> Part: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let oi = gid.y * 4194240u + gid.x;
  if (oi >= ${outputs}u) { return; }
  let o = oi / ${inner}u;
  let i = oi % ${inner}u;
  var t = 0.0;
  for (var q = 0u; q < ${l.slices}u; q++) { t += Part[(o * ${l.slices}u + q) * ${inner}u + i]; }
  Y[oi] = t / ${f32(divisor)};
}`;
  const groups = Math.ceil(outputs / 64);
  return [
    ctx.dispatch('axis-sums.partial', sumCode, [x, partial], grid),
    ctx.dispatch('axis-sums.merge', mergeCode, [partial, y], [Math.min(groups, 65535), Math.ceil(groups / 65535)]),
  ];
}
