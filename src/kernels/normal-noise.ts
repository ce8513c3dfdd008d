/**
 * Standard normal noise drawn on the device: input `seed` (int32 [4]), attribute `shape`; output float32
 * values of that shape, a function of the seed and each value's index (a counter-based generator: no state,
 * so every thread draws its own). For noise too large to draw on the host every step (the U-Net VAE-GAN's
 * skip noise: millions of values a step); webgpu only (gpu/kernels/noise.ts). Its values are not the host
 * Rng's, only of the same distribution. Callers go through engine/step-noise.ts.
 */
export const NORMAL_NOISE = 'GantryNormalNoise';

/** 32-bit integer mixing (Wellons' lowbias32): the generator's hash, the same in WGSL and here. */
export function mix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * The pair of values at indices 2k and 2k + 1, in float64: Box-Muller on two uniforms in (0, 1) of 23 bits
 * and a half (exact in float32, so none is 0), each a hash of one 32-bit word, itself a bijective hash of k
 * through all four seed words (so a seed one bit away draws other values in both).
 */
export function normalPair(seed: ArrayLike<number>, k: number): [number, number] {
  const h = (mix32((mix32((mix32((k ^ seed[0]) >>> 0) + seed[1]) >>> 0) ^ seed[2]) >>> 0) + seed[3]) >>> 0;
  const uniform = (word: number) => ((word >>> 9) + 0.5) / 8388608;
  const [u, v] = [uniform(mix32(h)), uniform(mix32((h ^ 0x9e3779b9) >>> 0))];
  const r = Math.sqrt(-2 * Math.log(u));
  return [r * Math.cos(2 * Math.PI * v), r * Math.sin(2 * Math.PI * v)];
}
