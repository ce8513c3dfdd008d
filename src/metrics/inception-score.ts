import { NumpyRandomState, TORCH_FIDELITY_SEED } from './numpy-random.ts';

/**
 * Inception Score as torch-fidelity computes it: the samples shuffled as its shuffle does (NumPy's
 * RandomState(2020).permutation), so that a set in order (a data folder's classes one after another) is not
 * split by class; softmax of the unbiased logits, in float64; for each of `splits` consecutive chunks,
 * exp(mean_x KL(p(y|x) || p(y))) with p(y) the chunk's mean; reported as mean and population standard
 * deviation over the chunks. `shuffle: false` keeps the given order.
 */
export function inceptionScore(logits: Float32Array, n: number, classes: number, splits = 10, shuffle = true): { mean: number; std: number } {
  const order = shuffle ? new NumpyRandomState(TORCH_FIDELITY_SEED).permutation(n) : null;
  const logp = new Float64Array(n * classes);
  for (let k = 0; k < n; k++) {
    // Row k of the shuffled set is sample order[k], as torch-fidelity's feature[rng.permutation(N), :].
    const i = order ? order[k] : k;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[i * classes + c]);
    let z = 0;
    for (let c = 0; c < classes; c++) z += Math.exp(logits[i * classes + c] - max);
    const lz = Math.log(z) + max;
    for (let c = 0; c < classes; c++) logp[k * classes + c] = logits[i * classes + c] - lz;
  }
  const scores: number[] = [];
  for (let s = 0; s < splits; s++) {
    const a = Math.floor((s * n) / splits);
    const b = Math.floor(((s + 1) * n) / splits);
    const q = new Float64Array(classes);
    for (let i = a; i < b; i++) for (let c = 0; c < classes; c++) q[c] += Math.exp(logp[i * classes + c]) / (b - a);
    let kl = 0;
    for (let i = a; i < b; i++) for (let c = 0; c < classes; c++) {
      const lp = logp[i * classes + c];
      kl += Math.exp(lp) * (lp - Math.log(q[c]));
    }
    scores.push(Math.exp(kl / (b - a)));
  }
  const mean = scores.reduce((x, y) => x + y, 0) / splits;
  const std = Math.sqrt(scores.reduce((x, y) => x + (y - mean) ** 2, 0) / splits);
  return { mean, std };
}
