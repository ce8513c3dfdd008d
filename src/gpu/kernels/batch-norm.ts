import type { Dispatch, GpuContext, Region } from '../context.ts';
import { f32 } from './pointwise.ts';
import { runningStatsFactors } from '../../kernels/batch-norm.ts';
import { mergedSums, mergedWelford, mergeGrid, mergeThread, welfordPartials } from './norm.ts';
import { elementwise, pixelSumPartials, reduction, type ImageShape } from './image-ops.ts';

/**
 * Training-mode batch norm in WGSL (the kernels of src/kernels/batch-norm.ts on webgpu): the rows of every
 * axis but the last are one "image" of R pixels, so the statistics are instance norm's per-channel
 * reductions (image-ops.ts, norm.ts) over a batch of one. Forward: Welford partials, merged into the mean
 * and biased variance (and the running estimates), then one pass for y. Gradient: partial sums of dy and
 * dy * (x - mean), merged into dbeta and dgamma, then one pass for dx. Three dispatches each, where the
 * tfjs-op form took about a dozen forward and twenty backward.
 */

const asImage = (rows: number, c: number): ImageShape => ({ n: 1, h: rows, w: 1, c });

export interface BatchNormTrainRegions {
  x: Region;
  gamma: Region;
  beta: Region;
  runningMean: Region;
  runningVar: Region;
  y: Region;
  mean: Region;
  variance: Region;
  newRunningMean: Region;
  newRunningVar: Region;
}

/**
 * y = gamma * (x - mean) / sqrt(variance + eps) + beta over `rows` rows of `c` channels; out too: mean and
 * variance [c], and the running estimates moved towards them (runningStatsFactors) by the merge.
 */
export function batchNormTrain(ctx: GpuContext, rows: number, c: number, eps: number, momentum: number, t: BatchNormTrainRegions): Dispatch[] {
  const s = asImage(rows, c);
  const r = reduction(ctx, 'batch-norm', s, 3, 0);
  const f = runningStatsFactors(momentum, rows);
  const mergeCode = /* wgsl */ `
@group(0) @binding(0) var<storage, read> Part: array<f32>;
@group(0) @binding(1) var<storage, read_write> Mean: array<f32>;
@group(0) @binding(2) var<storage, read_write> Var: array<f32>;
@group(0) @binding(3) var<storage, read> RunningMean: array<f32>;
@group(0) @binding(4) var<storage, read> RunningVar: array<f32>;
@group(0) @binding(5) var<storage, read_write> NewMean: array<f32>;
@group(0) @binding(6) var<storage, read_write> NewVar: array<f32>;
${mergeThread(r.slices)}
  ${mergedWelford(r.slices, '0u')}
  let variance = m2 / n;
  Mean[c] = mean;
  Var[c] = variance;
  NewMean[c] = ${f32(f.keep)} * RunningMean[c] + ${f32(f.momentum)} * mean;
  NewVar[c] = ${f32(f.keep)} * RunningVar[c] + ${f32(f.momentum)} * variance * ${f32(f.unbiased)};
}`;
  const apply = elementwise(ctx, 'batch-norm.apply', rows * c, `@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> Mean: array<f32>;
@group(0) @binding(2) var<storage, read> Var: array<f32>;
@group(0) @binding(3) var<storage, read> G: array<f32>;
@group(0) @binding(4) var<storage, read> B: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y: array<f32>;`, `    let c = i % ${c}u;
    Y[i] = G[c] * (X[i] - Mean[c]) * inverseSqrt(Var[c] + ${f32(eps)}) + B[c];`, [t.x, t.mean, t.variance, t.gamma, t.beta, t.y]);
  return [
    welfordPartials(ctx, 'batch-norm', r.slices, t.x, r.partial),
    ctx.dispatch('batch-norm.merge', mergeCode, [r.partial, t.mean, t.variance, t.runningMean, t.runningVar, t.newRunningMean, t.newRunningVar], mergeGrid(r.slices)),
    apply,
  ];
}

/**
 * The gradient: dbeta = sum(dy), dgamma = sum(dy * xhat), dx = gamma * invstd * (dy - (dbeta + xhat * dgamma) / R),
 * xhat = (x - mean) * invstd; the sums are of dy * (x - mean), centred before multiplying, then scaled.
 */
export function batchNormTrainGrad(ctx: GpuContext, rows: number, c: number, eps: number, dy: Region, x: Region, gamma: Region, mean: Region, variance: Region, dx: Region, dgamma: Region, dbeta: Region): Dispatch[] {
  const s = asImage(rows, c);
  const r = reduction(ctx, 'batch-norm-grad', s, 2, 0);
  const mergeCode = /* wgsl */ `
@group(0) @binding(0) var<storage, read> Part: array<f32>;
@group(0) @binding(1) var<storage, read> Var: array<f32>;
@group(0) @binding(2) var<storage, read_write> DGamma: array<f32>;
@group(0) @binding(3) var<storage, read_write> DBeta: array<f32>;
${mergeThread(r.slices)}
  ${mergedSums(r.slices, '0u')}
  DBeta[c] = t.x;
  DGamma[c] = t.y * inverseSqrt(Var[c] + ${f32(eps)});
}`;
  const apply = elementwise(ctx, 'batch-norm-grad.apply', rows * c, `@group(0) @binding(0) var<storage, read> DY: array<f32>;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> Mean: array<f32>;
@group(0) @binding(3) var<storage, read> Var: array<f32>;
@group(0) @binding(4) var<storage, read> G: array<f32>;
@group(0) @binding(5) var<storage, read> DGamma: array<f32>;
@group(0) @binding(6) var<storage, read> DBeta: array<f32>;
@group(0) @binding(7) var<storage, read_write> DX: array<f32>;`, `    let c = i % ${c}u;
    let invstd = inverseSqrt(Var[c] + ${f32(eps)});
    let xhat = (X[i] - Mean[c]) * invstd;
    DX[i] = G[c] * invstd * (DY[i] - (DBeta[c] + xhat * DGamma[c]) / ${f32(rows)});`, [dy, x, mean, variance, gamma, dgamma, dbeta, dx]);
  return [
    pixelSumPartials(ctx, 'batch-norm-grad', s, r.slices, dy, x, r.partial, mean),
    ctx.dispatch('batch-norm-grad.merge', mergeCode, [r.partial, variance, dgamma, dbeta], mergeGrid(r.slices)),
    apply,
  ];
}
