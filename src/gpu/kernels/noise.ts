import { elementwise } from './image-ops.ts';
import type { Dispatch, GpuContext, Region } from '../context.ts';

/**
 * Standard normal values into `out` (`count` of them) from four seed words (`seed`, int32 [4]): one thread
 * a pair, Box-Muller on two 23-bit uniforms hashed from the pair's index and the seed words (kernels/normal-noise.ts
 * holds the same generator in JavaScript, the tests' reference).
 */
export function normalNoise(ctx: GpuContext, seed: Region, out: Region, count: number): Dispatch {
  const pairs = Math.ceil(count / 2);
  const bindings = `@group(0) @binding(0) var<storage, read> Seed: array<u32>;
@group(0) @binding(1) var<storage, read_write> Out: array<f32>;
fn mix32(v: u32) -> u32 {
  var x = v;
  x = x ^ (x >> 16u);
  x = x * 0x7feb352du;
  x = x ^ (x >> 15u);
  x = x * 0x846ca68bu;
  return x ^ (x >> 16u);
}
fn uniform01(word: u32) -> f32 { return (f32(word >> 9u) + 0.5) / 8388608.0; }`;
  const body = `    let h = mix32(mix32(mix32(i ^ Seed[0]) + Seed[1]) ^ Seed[2]) + Seed[3];
    let r = sqrt(-2.0 * log(uniform01(mix32(h))));
    let theta = 6.283185307179586 * uniform01(mix32(h ^ 0x9e3779b9u));
    Out[2u * i] = r * cos(theta);
    if (2u * i + 1u < ${count}u) { Out[2u * i + 1u] = r * sin(theta); }`;
  return elementwise(ctx, 'normal-noise', pairs, bindings, body, [seed, out]);
}
