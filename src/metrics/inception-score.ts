/**
 * Inception Score as torch-fidelity computes it: softmax of the unbiased logits, in float64; for each
 * of `splits` consecutive chunks, exp(mean_x KL(p(y|x) || p(y))) with p(y) the chunk's mean; reported
 * as mean and population standard deviation over the chunks. (torch-fidelity shuffles the samples
 * first with its own seed; gantry's samples are already in random order.)
 */
export function inceptionScore(logits: Float32Array, n: number, classes: number, splits = 10): { mean: number; std: number } {
  const logp = new Float64Array(n * classes);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[i * classes + c]);
    let z = 0;
    for (let c = 0; c < classes; c++) z += Math.exp(logits[i * classes + c] - max);
    const lz = Math.log(z) + max;
    for (let c = 0; c < classes; c++) logp[i * classes + c] = logits[i * classes + c] - lz;
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
