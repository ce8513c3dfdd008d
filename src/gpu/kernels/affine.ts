import type { Dispatch, GpuContext, Region } from '../context.ts';
import { elementwise, pixelSums, type ImageShape } from './image-ops.ts';

/**
 * DF-GAN's Affine in WGSL (NHWC; the kernels of src/kernels/affine.ts on webgpu): y = x * gamma + beta with
 * gamma and beta [n, c], one pass where the broadcasting ops took two; its gradient, dx = dy * gamma in one
 * pass and dgamma, dbeta as per-image channel sums (instance norm's reduction, image-ops.ts).
 */

/** WGSL: the index of image and channel (b * c + k) of element i of an image batch of area pixels x c. */
const imageChannel = (s: ImageShape) => `let bc = (i / ${s.h * s.w * s.c}u) * ${s.c}u + i % ${s.c}u;`;

export function affine(ctx: GpuContext, s: ImageShape, x: Region, gamma: Region, beta: Region, y: Region): Dispatch {
  return elementwise(ctx, 'affine', s.n * s.h * s.w * s.c, `@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;`, `    ${imageChannel(s)}
    Y[i] = X[i] * G[bc] + B[bc];`, [x, gamma, beta, y]);
}

export function affineGrad(ctx: GpuContext, s: ImageShape, dy: Region, x: Region, gamma: Region, dx: Region, dgamma: Region, dbeta: Region): Dispatch[] {
  const input = elementwise(ctx, 'affine-grad.x', s.n * s.h * s.w * s.c, `@group(0) @binding(0) var<storage, read> DY: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> DX: array<f32>;`, `    ${imageChannel(s)}
    DX[i] = DY[i] * G[bc];`, [dy, gamma, dx]);
  return [input, ...pixelSums(ctx, 'affine-grad', s, dy, x, 1, [dbeta, dgamma]).dispatches];
}
