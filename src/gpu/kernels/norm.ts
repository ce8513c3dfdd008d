import { elementwiseGrid, type Dispatch, type GpuContext, type Region } from '../context.ts';
import { f32 } from './pointwise.ts';

/**
 * Training-mode batch norm over NHWC rows (R = N*H*W rows of C channels) with the activation that
 * follows it fused in, forward and backward, as PyTorch's BatchNorm2d computes it (biased variance
 * to normalise, unbiased variance into the running estimate, momentum 0.1, eps 1e-5).
 *
 * Per-channel sums are two-level: 256-thread workgroups (64 channels x 4 row lanes) each reduce one
 * slice of rows into a partial (Welford count/mean/M2 forward, plain sums backward), and up to 32 lanes per
 * channel merge the partials (mergeThread). The per-pass statistics live in one buffer of 6C floats:
 * [mean | invstd | scale | shift | sum(dz) | sum(dz * xhat)].
 */
export type Activation = 'relu' | 'leaky' | 'none';

export interface BatchNormLayout {
  rows: number;
  channels: number;
  activation: Activation;
  momentum?: number;
  eps?: number;
}

/** Slices a per-channel reduction over `rows` rows splits them into (workgroups of 64 channels x 4 row lanes). */
export function parts(rows: number, channels: number): number {
  const groups = Math.ceil(channels / 64);
  return Math.max(1, Math.min(Math.ceil(rows / 64), Math.ceil(256 / groups)));
}

/**
 * How a per-channel reduction is laid out: `images` blocks of `rows` rows of `channels` (one block for batch
 * norm, one per image for instance norm), each split into `slices` of `rowsPer` rows, one workgroup each
 * (wg.x: 64 channels, wg.y: slice, wg.z: image).
 */
export interface Slices {
  images: number;
  rows: number;
  channels: number;
  slices: number;
  rowsPer: number;
}

export function slicesOf(images: number, rows: number, channels: number): Slices {
  const slices = parts(rows, channels);
  return { images, rows, channels, slices, rowsPer: Math.ceil(rows / slices) };
}

/**
 * WGSL: this thread's channel c, its row lane (of 4), its workgroup's slice of rows [r0, r1) of the block
 * starting at element `base`, and `at`, the index of (image, slice, channel) among the partials.
 */
export function rowSlice(l: Slices): string {
  return `let c = wg.x * 64u + li % 64u;
  let lane = li / 64u;
  let r0 = wg.y * ${l.rowsPer}u;
  let r1 = min(${l.rows}u, r0 + ${l.rowsPer}u);
  let base = wg.z * ${l.rows * l.channels}u;
  let at = (wg.z * ${l.slices}u + wg.y) * ${l.channels}u + c;`;
}

export function sliceWorkgroups(l: Slices): [number, number, number] {
  return [Math.ceil(l.channels / 64), l.slices, l.images];
}

/**
 * Per (image, slice, channel), the count, mean and M2 of its rows of x into `partial` (3 floats each):
 * Welford within each of the 4 row lanes, the lanes merged by Chan et al.'s formula.
 */
export function welfordPartials(ctx: GpuContext, label: string, l: Slices, x: Region, partial: Region): Dispatch {
  const C = l.channels;
  const code = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Part: array<f32>;
var<workgroup> sh: array<vec3<f32>, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ${rowSlice(l)}
  var n = 0.0; var mean = 0.0; var m2 = 0.0;
  if (c < ${C}u) {
    for (var r = r0 + lane; r < r1; r += 4u) {
      let v = X[base + r * ${C}u + c];
      n += 1.0;
      let d = v - mean;
      mean += d / n;
      m2 += d * (v - mean);
    }
  }
  sh[li] = vec3<f32>(n, mean, m2);
  workgroupBarrier();
  if (lane == 0u && c < ${C}u) {
    var acc = sh[li];
    for (var j = 1u; j < 4u; j++) {
      let o = sh[li + 64u * j];
      let tot = acc.x + o.x;
      if (o.x > 0.0) {
        let d = o.y - acc.y;
        acc = vec3<f32>(tot, acc.y + d * o.x / tot, acc.z + o.z + d * d * acc.x * o.x / tot);
      }
    }
    Part[at * 3u] = acc.x; Part[at * 3u + 1u] = acc.y; Part[at * 3u + 2u] = acc.z;
  }
}`;
  return ctx.dispatch(`${label}.partial`, code, [x, partial], sliceWorkgroups(l));
}

/**
 * How a merge spreads over a 256-thread workgroup: `lanes` threads per channel, each merging every lanes-th
 * slice, and the 256 / lanes channels it covers. As many lanes as slices, up to 32: a merge is a few
 * workgroups whose chains of dependent loads run one after another, so its time is their length (a 4-lane
 * merge of 256 slices, 64 loads long, took 3-5 times a small dispatch's time on an H200).
 */
export function mergeLayout(l: Slices): { lanes: number; channels: number } {
  const lanes = Math.min(32, 2 ** Math.ceil(Math.log2(Math.max(1, l.slices))));
  return { lanes, channels: 256 / lanes };
}

/**
 * WGSL: the entry point of a merge of per-slice partials, a 256-thread workgroup per mergeLayout's channels
 * of an image (grid: mergeGrid): channel c of image b (bc = b * channels + c), and its lane. mergedWelford /
 * mergedSums follow it; after them only lane 0 of a real channel runs on.
 */
export function mergeThread(l: Slices): string {
  const per = mergeLayout(l).channels;
  return `var<workgroup> merging: array<vec4<f32>, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let c = wg.x * ${per}u + li % ${per}u;
  let lane = li / ${per}u;
  let b = wg.y;
  let bc = b * ${l.channels}u + c;
  let real = c < ${l.channels}u;`;
}

export function mergeGrid(l: Slices): [number, number] {
  return [Math.ceil(l.channels / mergeLayout(l).channels), l.images];
}

/** WGSL: the lanes' partial results in `merging` (a vec4 each); lane 0 of a real channel goes on. */
function meetLanes(value: string): string {
  return `merging[li] = ${value};
  workgroupBarrier();
  if (lane != 0u || !real) { return; }`;
}

/** WGSL: n, mean and m2 of image b's channel c, merged from its slices' partials in Part (Chan et al.), lane by lane in order. */
export function mergedWelford(l: Slices, b: string): string {
  const merge = (into: string, o: string) => `{
    let o = ${o};
    if (o.x > 0.0) {
      let tot = ${into}.x + o.x;
      let d = o.y - ${into}.y;
      ${into} = vec3<f32>(tot, ${into}.y + d * o.x / tot, ${into}.z + o.z + d * d * ${into}.x * o.x / tot);
    }
  }`;
  const { lanes, channels: per } = mergeLayout(l);
  return `var w = vec3<f32>(0.0);
  if (real) {
    for (var q = lane; q < ${l.slices}u; q += ${lanes}u) {
      let at = ((${b} * ${l.slices}u + q) * ${l.channels}u + c) * 3u;
      ${merge('w', 'vec3<f32>(Part[at], Part[at + 1u], Part[at + 2u])')}
    }
  }
  ${meetLanes('vec4<f32>(w, 0.0)')}
  w = merging[li].xyz;
  for (var j = 1u; j < ${lanes}u; j++) ${merge('w', `merging[li + ${per}u * j].xyz`)}
  let n = w.x;
  let mean = w.y;
  let m2 = w.z;`;
}

/** WGSL: t, image b's channel c's two sums, added up from its slices' partials in Part (pixelSumPartials), lane by lane in order. */
export function mergedSums(l: Slices, b: string): string {
  const { lanes, channels: per } = mergeLayout(l);
  return `var t = vec2<f32>(0.0, 0.0);
  if (real) {
    for (var q = lane; q < ${l.slices}u; q += ${lanes}u) {
      let at = ((${b} * ${l.slices}u + q) * ${l.channels}u + c) * 2u;
      t += vec2<f32>(Part[at], Part[at + 1u]);
    }
  }
  ${meetLanes('vec4<f32>(t, 0.0, 0.0)')}
  t = merging[li].xy;
  for (var j = 1u; j < ${lanes}u; j++) { t += merging[li + ${per}u * j].xy; }`;
}

function activate(a: Activation, z: string): string {
  return a === 'relu' ? `max(${z}, 0.0)` : a === 'leaky' ? `select(0.2 * ${z}, ${z}, ${z} > 0.0)` : z;
}

/** The activation's derivative from its output y (same sign as its input for relu and leaky). */
function slopeFromOutput(a: Activation, y: string): string {
  // 'none' still reads y, so the binding stays in the pipeline's layout.
  return a === 'relu' ? `select(0.0, 1.0, ${y} > 0.0)` : a === 'leaky' ? `select(0.2, 1.0, ${y} > 0.0)` : `select(1.0, 1.0, ${y} > 0.0)`;
}

export interface BatchNormBuffers {
  x: Region;
  y: Region;
  gamma: Region;
  beta: Region;
  /** [running mean | running var], updated by every training forward. */
  running: Region;
  stats: Region;
}

export function batchNormStatsLength(channels: number): number {
  return 6 * channels;
}

/** y = act(gamma * (x - mean) / sqrt(var + eps) + beta), batch statistics; updates the running ones. */
export function batchNormForward(ctx: GpuContext, label: string, l: BatchNormLayout, b: BatchNormBuffers): Dispatch[] {
  const C = l.channels;
  const sl = slicesOf(1, l.rows, C);
  const partial = ctx.region(ctx.buffer(sl.slices * C * 3, `${label}.partial`), sl.slices * C * 3);
  const momentum = l.momentum ?? 0.1;
  const eps = l.eps ?? 1e-5;
  const finalizeCode = /* wgsl */ `
@group(0) @binding(0) var<storage, read> Part: array<f32>;
@group(0) @binding(1) var<storage, read_write> Stats: array<f32>;
@group(0) @binding(2) var<storage, read> Gamma: array<f32>;
@group(0) @binding(3) var<storage, read> Beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> Running: array<f32>;
${mergeThread(sl)}
  ${mergedWelford(sl, '0u')}
  let variance = m2 / n;
  let invstd = inverseSqrt(variance + ${f32(eps)});
  let scale = Gamma[c] * invstd;
  Stats[c] = mean;
  Stats[${C}u + c] = invstd;
  Stats[${2 * C}u + c] = scale;
  Stats[${3 * C}u + c] = Beta[c] - mean * scale;
  Running[c] = ${f32(1 - momentum)} * Running[c] + ${f32(momentum)} * mean;
  Running[${C}u + c] = ${f32(1 - momentum)} * Running[${C}u + c] + ${f32(momentum)} * variance * n / max(n - 1.0, 1.0);
}`;
  return [
    welfordPartials(ctx, `${label}.bn`, sl, b.x, partial),
    ctx.dispatch(`${label}.bn.finalize`, finalizeCode, [partial, b.stats, b.gamma, b.beta, b.running], mergeGrid(sl)),
    scaleShiftActivate(ctx, label, l, b),
  ];
}

/** y = act(x * scale + shift), per channel, from the stats buffer. */
function scaleShiftActivate(ctx: GpuContext, label: string, l: BatchNormLayout, b: BatchNormBuffers): Dispatch {
  const { rows: R, channels: C } = l;
  const g = elementwiseGrid(R * C);
  const code = /* wgsl */ `
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Stats: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var i = gid.x; i < ${R * C}u; i += ${g.stride}u) {
    let c = i % ${C}u;
    let z = X[i] * Stats[${2 * C}u + c] + Stats[${3 * C}u + c];
    Y[i] = ${activate(l.activation, 'z')};
  }
}`;
  return ctx.dispatch(`${label}.bn.apply`, code, [b.x, b.stats, b.y], g.workgroups);
}

/** Evaluation mode: y = act(gamma * (x - running mean) / sqrt(running var + eps) + beta). */
export function batchNormEval(ctx: GpuContext, label: string, l: BatchNormLayout, b: BatchNormBuffers): Dispatch[] {
  const C = l.channels;
  const code = /* wgsl */ `
@group(0) @binding(0) var<storage, read> Running: array<f32>;
@group(0) @binding(1) var<storage, read> Gamma: array<f32>;
@group(0) @binding(2) var<storage, read> Beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> Stats: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= ${C}u) { return; }
  let scale = Gamma[c] * inverseSqrt(Running[${C}u + c] + ${f32(l.eps ?? 1e-5)});
  Stats[${2 * C}u + c] = scale;
  Stats[${3 * C}u + c] = Beta[c] - Running[c] * scale;
}`;
  return [ctx.dispatch(`${label}.bn.eval`, code, [b.running, b.gamma, b.beta, b.stats], [Math.ceil(C / 64)]), scaleShiftActivate(ctx, label, l, b)];
}

export interface BatchNormGradBuffers {
  /** Gradient at the activation's output; dx receives the gradient at x. */
  dy: Region;
  dx: Region;
  /** Where d gamma and d beta go; null when only the input gradient is needed. */
  dGamma: Region | null;
  dBeta: Region | null;
}

/** Backward of batchNormForward (batch statistics), reading its saved x, y and stats. */
export function batchNormBackward(ctx: GpuContext, label: string, l: BatchNormLayout, b: BatchNormBuffers, d: BatchNormGradBuffers, accumulate: boolean): Dispatch[] {
  const { rows: R, channels: C } = l;
  const sl = slicesOf(1, R, C);
  const P = sl.slices;
  const partial = ctx.region(ctx.buffer(P * C * 2, `${label}.dpartial`), P * C * 2);
  const slope = slopeFromOutput(l.activation, 'Y[i]');
  const partialCode = /* wgsl */ `
@group(0) @binding(0) var<storage, read> DY: array<f32>;
@group(0) @binding(1) var<storage, read> Y: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read> Stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> Part: array<f32>;
var<workgroup> sh: array<vec2<f32>, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ${rowSlice(sl)}
  var acc = vec2<f32>(0.0, 0.0);
  if (c < ${C}u) {
    let mean = Stats[c];
    let invstd = Stats[${C}u + c];
    for (var r = r0 + lane; r < r1; r += 4u) {
      let i = base + r * ${C}u + c;
      let dz = DY[i] * ${slope};
      acc += vec2<f32>(dz, dz * (X[i] - mean) * invstd);
    }
  }
  sh[li] = acc;
  workgroupBarrier();
  if (lane == 0u && c < ${C}u) {
    let s = sh[li] + sh[li + 64u] + sh[li + 128u] + sh[li + 192u];
    Part[at * 2u] = s.x; Part[at * 2u + 1u] = s.y;
  }
}`;
  const grads = d.dGamma && d.dBeta;
  const finalizeCode = /* wgsl */ `
@group(0) @binding(0) var<storage, read> Part: array<f32>;
@group(0) @binding(1) var<storage, read_write> Stats: array<f32>;
${grads ? `@group(0) @binding(2) var<storage, read_write> DGamma: array<f32>;
@group(0) @binding(3) var<storage, read_write> DBeta: array<f32>;` : ''}
${mergeThread(sl)}
  ${mergedSums(sl, '0u')}
  Stats[${4 * C}u + c] = t.x;
  Stats[${5 * C}u + c] = t.y;
  ${grads ? `DBeta[c] = ${accumulate ? 'DBeta[c] + ' : ''}t.x;
  DGamma[c] = ${accumulate ? 'DGamma[c] + ' : ''}t.y;` : ''}
}`;
  const g = elementwiseGrid(R * C);
  const applyCode = /* wgsl */ `
@group(0) @binding(0) var<storage, read> DY: array<f32>;
@group(0) @binding(1) var<storage, read> Y: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read> Stats: array<f32>;
@group(0) @binding(4) var<storage, read> Gamma: array<f32>;
@group(0) @binding(5) var<storage, read_write> DX: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var i = gid.x; i < ${R * C}u; i += ${g.stride}u) {
    let c = i % ${C}u;
    let invstd = Stats[${C}u + c];
    let xhat = (X[i] - Stats[c]) * invstd;
    let dz = DY[i] * ${slope};
    DX[i] = Gamma[c] * invstd * (dz - (Stats[${4 * C}u + c] + xhat * Stats[${5 * C}u + c]) / ${R}.0);
  }
}`;
  return [
    ctx.dispatch(`${label}.bn.dpartial`, partialCode, [d.dy, b.y, b.x, b.stats, partial], sliceWorkgroups(sl)),
    ctx.dispatch(`${label}.bn.dfinalize`, finalizeCode, grads ? [partial, b.stats, d.dGamma!, d.dBeta!] : [partial, b.stats], mergeGrid(sl)),
    ctx.dispatch(`${label}.bn.dapply`, applyCode, [d.dy, b.y, b.x, b.stats, b.gamma, d.dx], g.workgroups),
  ];
}
