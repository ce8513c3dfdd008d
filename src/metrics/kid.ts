import * as tf from '@tensorflow/tfjs-core';
import { NumpyRandomState, TORCH_FIDELITY_SEED } from './numpy-random.ts';
import { GantryError, given } from '../errors.ts';

/**
 * Kernel Inception Distance as torch-fidelity defines it: polynomial kernel k(x, y) = (x.y / d + 1)^3,
 * the unbiased MMD^2 estimate on `subsets` random subsets of `subsetSize` real and fake features
 * (drawn without replacement, each the first subsetSize of a permutation of NumPy's RandomState seeded with
 * torch-fidelity's 2020: the same subsets as its `rng.choice`), reported as mean and (population) standard deviation.
 */
export interface KidResult {
  mean: number;
  std: number;
  subsets: number;
  subsetSize: number;
}

/**
 * Unbiased MMD^2 between two equal-size feature sets x, y ([m, d] row-major). The Gram matrices are
 * float32 matrix products (gantry's SGEMM); the kernel values are summed in float64.
 */
export function mmd2Unbiased(x: Float32Array, y: Float32Array, m: number, d: number): number {
  const [kxx, kyy, kxy] = tf.tidy(() => {
    const xt = tf.tensor2d(x, [m, d]);
    const yt = tf.tensor2d(y, [m, d]);
    const kernel = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.pow(tf.add(tf.div(tf.matMul(a, b, false, true), d), 1), 3);
    return [kernel(xt, xt), kernel(yt, yt), kernel(xt, yt)].map((t) => t.dataSync() as Float32Array);
  }) as unknown as Float32Array[];
  let xx = 0, yy = 0, xy = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      if (i !== j) {
        xx += kxx[i * m + j];
        yy += kyy[i * m + j];
      }
      xy += kxy[i * m + j];
    }
  }
  return (xx + yy) / (m * (m - 1)) - (2 * xy) / (m * m);
}

/** Rows idx of an [n, d] feature array, in that order, as one [idx.length, d] array. */
export function gatherRows(f: Float32Array, idx: ArrayLike<number>, d: number): Float32Array {
  const out = new Float32Array(idx.length * d);
  for (let i = 0; i < idx.length; i++) out.set(f.subarray(idx[i] * d, (idx[i] + 1) * d), i * d);
  return out;
}

/** torch-fidelity's default subset size. */
export const KID_SUBSET_SIZE = 1000;

export function kernelInceptionDistance(real: Float32Array, nReal: number, fake: Float32Array, nFake: number, d: number, options: { subsets?: number; subsetSize?: number } = {}): KidResult {
  const subsetSize = Math.min(options.subsetSize ?? KID_SUBSET_SIZE, nReal, nFake);
  if (subsetSize < 2) throw new GantryError(`KID needs at least 2 real and 2 fake images (got ${nReal} and ${nFake})`);
  const subsets = options.subsets ?? 100;
  const rng = new NumpyRandomState(TORCH_FIDELITY_SEED);
  const scores: number[] = [];
  for (let s = 0; s < subsets; s++) {
    const ri = rng.permutation(nReal).subarray(0, subsetSize);
    const fi = rng.permutation(nFake).subarray(0, subsetSize);
    scores.push(mmd2Unbiased(gatherRows(real, ri, d), gatherRows(fake, fi, d), subsetSize, d));
  }
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
  return { mean, std, subsets, subsetSize };
}

/**
 * What a user of a KID at these sizes should know: torch-fidelity refuses fewer images than the subset size;
 * gantry shrinks the subsets to fit, and says so, and says when every subset is then the whole set (the
 * subsets are all the same, so std is 0 and measures nothing).
 */
export function kidWarnings(r: KidResult, askedSubsetSize: number, nReal: number, nFake: number): string[] {
  if (r.subsetSize >= askedSubsetSize) return [];
  const fewer = nReal <= nFake ? `${nReal} real` : `${nFake} fake`;
  const same = r.subsetSize === nReal && r.subsetSize === nFake && r.subsets > 1
    ? `; each subset is then all the images, so the ${r.subsets} subsets are one and the same and their std (0, up to rounding) measures no spread`
    : '';
  return [`warning: KID's subsets hold ${r.subsetSize} images, not ${askedSubsetSize}: there are only ${fewer} images${same}. KIDs compare only at one subset size; give more images (${given('n')}) or a smaller ${given('subsetSize')}`];
}
