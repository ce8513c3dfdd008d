import { elementwiseGrid, type Dispatch, type GpuContext, type Region } from '../context.ts';

/** out[i] = f(a[i]) or f(a[i], b[i]), where `expr` is WGSL over `a` (and `b`). */
export function pointwise(ctx: GpuContext, label: string, n: number, expr: string, inputs: Region[], out: Region): Dispatch {
  const g = elementwiseGrid(n);
  const names = ['IA', 'IB'];
  const code = /* wgsl */ `
${inputs.map((_, j) => `@group(0) @binding(${j}) var<storage, read> ${names[j]}: array<f32>;`).join('\n')}
@group(0) @binding(${inputs.length}) var<storage, read_write> O: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var i = gid.x; i < ${n}u; i += ${g.stride}u) {
    let a = IA[i];
    ${inputs.length > 1 ? 'let b = IB[i];' : ''}
    O[i] = ${expr};
  }
}`;
  return ctx.dispatch(label, code, [...inputs, out], g.workgroups);
}

/** out[i] = f32(a[i]) for 32-bit integers a (tfjs's WebGPU buffers hold int32 and bool tensors so). */
export function intToFloat(ctx: GpuContext, label: string, n: number, a: Region, out: Region): Dispatch {
  const g = elementwiseGrid(n);
  const code = /* wgsl */ `
@group(0) @binding(0) var<storage, read> IA: array<i32>;
@group(0) @binding(1) var<storage, read_write> O: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var i = gid.x; i < ${n}u; i += ${g.stride}u) {
    O[i] = f32(IA[i]);
  }
}`;
  return ctx.dispatch(label, code, [a, out], g.workgroups);
}

export const leakyRelu = (ctx: GpuContext, label: string, n: number, x: Region, y: Region) =>
  pointwise(ctx, `${label}.leaky`, n, 'select(0.2 * a, a, a > 0.0)', [x], y);
/** Gradient through leaky ReLU from its output y: a = dy, b = y. */
export const leakyReluGrad = (ctx: GpuContext, label: string, n: number, dy: Region, y: Region, dx: Region) =>
  pointwise(ctx, `${label}.dleaky`, n, 'select(0.2 * a, a, b > 0.0)', [dy, y], dx);
export const tanhForward = (ctx: GpuContext, label: string, n: number, x: Region, y: Region) =>
  pointwise(ctx, `${label}.tanh`, n, 'tanh(clamp(a, -20.0, 20.0))', [x], y);
/** Gradient through tanh from its output y: a = dy, b = y. */
export const tanhGrad = (ctx: GpuContext, label: string, n: number, dy: Region, y: Region, dx: Region) =>
  pointwise(ctx, `${label}.dtanh`, n, 'a * (1.0 - b * b)', [dy, y], dx);

const SOFTPLUS = 'fn softplus(x: f32) -> f32 { return max(x, 0.0) + log(1.0 + exp(-abs(x))); }\nfn sigmoid(x: f32) -> f32 { return 1.0 / (1.0 + exp(-x)); }';

/**
 * BCE with logits for D (real labelled 1, fake 0, each averaged over its batch, as bceLossD) and its
 * gradients at both sets of logits; the loss goes to `loss` (one float), read only when it is logged.
 */
export function bceDiscriminatorLoss(ctx: GpuContext, batch: number, real: Region, fake: Region, dReal: Region, dFake: Region, loss: Region): Dispatch {
  const code = /* wgsl */ `
@group(0) @binding(0) var<storage, read> LR: array<f32>;
@group(0) @binding(1) var<storage, read> LF: array<f32>;
@group(0) @binding(2) var<storage, read_write> DR: array<f32>;
@group(0) @binding(3) var<storage, read_write> DF: array<f32>;
@group(0) @binding(4) var<storage, read_write> L: array<f32>;
${SOFTPLUS}
@compute @workgroup_size(1)
fn main() {
  var s = 0.0;
  for (var i = 0u; i < ${batch}u; i++) {
    s += softplus(-LR[i]) + softplus(LF[i]);
    DR[i] = (sigmoid(LR[i]) - 1.0) / ${batch}.0;
    DF[i] = sigmoid(LF[i]) / ${batch}.0;
  }
  L[0] = s / ${batch}.0;
}`;
  return ctx.dispatch('lossD', code, [real, fake, dReal, dFake, loss], [1]);
}

/** Non-saturating G loss mean(softplus(-D(G(z)))) and its gradient at the logits. */
export function nonSaturatingGeneratorLoss(ctx: GpuContext, batch: number, fake: Region, dFake: Region, loss: Region): Dispatch {
  const code = /* wgsl */ `
@group(0) @binding(0) var<storage, read> LF: array<f32>;
@group(0) @binding(1) var<storage, read_write> DF: array<f32>;
@group(0) @binding(2) var<storage, read_write> L: array<f32>;
${SOFTPLUS}
@compute @workgroup_size(1)
fn main() {
  var s = 0.0;
  for (var i = 0u; i < ${batch}u; i++) {
    s += softplus(-LF[i]);
    DF[i] = (sigmoid(LF[i]) - 1.0) / ${batch}.0;
  }
  L[0] = s / ${batch}.0;
}`;
  return ctx.dispatch('lossG', code, [fake, dFake, loss], [1]);
}

export interface AdamHyper {
  beta1: number;
  beta2: number;
  eps: number;
}

/**
 * WGSL: one element of torch.optim.Adam's update, in the order of the tfjs-op form (src/optim/adam.ts):
 * from gradient `gr`, moments `m0`, `v0` and parameter `p0`, with the step size lr / (1 - beta1^t) and
 * sqrt(1 - beta2^t) as the expressions `stepSize` and `sqrtBc2`, it declares m, v and p, the new values.
 */
function adamElement(o: AdamHyper, stepSize: string, sqrtBc2: string): string {
  return `let m = ${f32(o.beta1)} * m0 + ${f32(1 - o.beta1)} * gr;
    let v = ${f32(o.beta2)} * v0 + ${f32(1 - o.beta2)} * gr * gr;
    let p = p0 - ${stepSize} * m / (sqrt(v) / ${sqrtBc2} + ${f32(o.eps)});`;
}

/**
 * torch.optim.Adam over one network's parameters packed in one buffer (one dispatch per network), in place.
 * The uniform holds [lr / (1 - beta1^t), sqrt(1 - beta2^t)], written before each step's submit.
 */
export function adamUpdate(ctx: GpuContext, label: string, n: number, o: AdamHyper, params: Region, grads: Region, m: Region, v: Region, uniform: GPUBuffer): Dispatch {
  const g = elementwiseGrid(n);
  const code = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> Pr: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> Mo: array<f32>;
@group(0) @binding(3) var<storage, read_write> Vo: array<f32>;
@group(0) @binding(4) var<uniform> U: vec4<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var i = gid.x; i < ${n}u; i += ${g.stride}u) {
    let gr = G[i];
    let m0 = Mo[i];
    let v0 = Vo[i];
    let p0 = Pr[i];
    ${adamElement(o, 'U.x', 'U.y')}
    Mo[i] = m;
    Vo[i] = v;
    Pr[i] = p;
  }
}`;
  return ctx.dispatch(`${label}.adam`, code, [params, grads, m, v, uniform], g.workgroups);
}

/**
 * The same update for one parameter into new buffers (the tfjs kernel GantryAdam: tfjs's variables are
 * assigned the results), the step's scalars [lr / (1 - beta1^t), sqrt(1 - beta2^t)] read from a buffer (a
 * host input, so that a replayed step sees each step's; eight storage buffers are WebGPU's default limit).
 */
export function adamInto(ctx: GpuContext, n: number, o: AdamHyper, p: Region, g: Region, m: Region, v: Region, scalars: Region, pOut: Region, mOut: Region, vOut: Region): Dispatch {
  const grid = elementwiseGrid(n);
  const code = /* wgsl */ `
@group(0) @binding(0) var<storage, read> P: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> M: array<f32>;
@group(0) @binding(3) var<storage, read> V: array<f32>;
@group(0) @binding(4) var<storage, read> S: array<f32>;
@group(0) @binding(5) var<storage, read_write> PO: array<f32>;
@group(0) @binding(6) var<storage, read_write> MO: array<f32>;
@group(0) @binding(7) var<storage, read_write> VO: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  for (var i = gid.x; i < ${n}u; i += ${grid.stride}u) {
    let gr = G[i];
    let m0 = M[i];
    let v0 = V[i];
    let p0 = P[i];
    ${adamElement(o, 'S[0]', 'S[1]')}
    MO[i] = m;
    VO[i] = v;
    PO[i] = p;
  }
}`;
  return ctx.dispatch('adam', code, [p, g, m, v, scalars, pOut, mOut, vOut], grid.workgroups);
}

/** Formats a JS number as a WGSL f32 literal (1 -> "1.0", 1e-8 -> "1e-8"). */
export function f32(x: number): string {
  const s = String(x);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}
