import { GantryError, inWords } from '../errors.ts';
import { cholesky, congruence, matmul, nativeLinalg, symmetricEigen } from './linalg.ts';

/** Mean and covariance of a feature set, in float64 (pytorch-fid: np.mean, np.cov rowvar=False, N-1). */
export interface FeatureStats {
  mu: Float64Array;
  sigma: Float64Array;
  /** Number of samples behind them (0 when read from a file that does not say). */
  n: number;
  /** For small N: FID between two halves of the samples (the bias floor), when known. */
  halfSplitFid?: number;
  /** The feature network they were computed with (FeatureExtractor.id), when known: gantry's files say, pytorch-fid's do not. */
  features?: string;
}

/** Accumulates features batch by batch: sums and a shifted sum of outer products, in float64. */
export class StatsAccumulator {
  private count = 0;
  private readonly sum: Float64Array;
  private readonly outer: Float64Array;
  private shift: Float64Array | null = null;

  constructor(readonly dim: number) {
    this.sum = new Float64Array(dim);
    this.outer = new Float64Array(dim * dim);
  }

  /** rows: [n, dim] float32 values. */
  add(rows: ArrayLike<number>, n: number): void {
    const d = this.dim;
    // Shift by the first sample: the covariance of shifted data is the same and better conditioned.
    if (!this.shift) this.shift = Float64Array.from({ length: d }, (_, j) => rows[j]);
    const addon = nativeLinalg();
    if (addon && rows instanceof Float32Array) {
      addon.accumulateOuter(n, d, rows.subarray(0, n * d), this.shift, this.sum, this.outer);
      this.count += n;
      return;
    }
    const x = new Float64Array(d);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < d; j++) x[j] = rows[r * d + j] - this.shift[j];
      for (let i = 0; i < d; i++) {
        const xi = x[i];
        this.sum[i] += xi;
        if (xi === 0) continue;
        const oi = i * d;
        for (let j = i; j < d; j++) this.outer[oi + j] += xi * x[j];
      }
    }
    this.count += n;
  }

  get n(): number {
    return this.count;
  }

  finish(): FeatureStats {
    const d = this.dim;
    const n = this.count;
    if (n < 2) throw new GantryError(`feature statistics need at least 2 images, got ${n}`);
    const mean = this.sum.map((s) => s / n);
    const sigma = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = i; j < d; j++) {
      const c = (this.outer[i * d + j] - n * mean[i] * mean[j]) / (n - 1);
      sigma[i * d + j] = c;
      sigma[j * d + i] = c;
    }
    const mu = mean.map((m, j) => m + this.shift![j]);
    return { mu, sigma, n };
  }
}

/**
 * Tr((S1 S2)^1/2) as the sum of square roots of the eigenvalues of S1 S2, which are those of the
 * symmetric L^T S2 L for S1 = L L^T (Cholesky), or of S1^1/2 S2 S1^1/2 when S1 is singular (fewer
 * samples than dimensions). Tiny negative eigenvalues from rounding are clamped to 0.
 */
export function traceSqrtProduct(s1: Float64Array, s2: Float64Array, d: number): number {
  let m: Float64Array;
  const l = cholesky(s1, d);
  if (l) {
    m = congruence(l, s2, d);
  } else {
    const { values, vectors } = symmetricEigen(s1, d, true);
    // S1^1/2 = V diag(sqrt(max(w, 0))) V^T
    const vs = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) vs[i * d + j] = vectors![i * d + j] * Math.sqrt(Math.max(values[j], 0));
    const root = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) {
      const a = vs[i * d + k];
      if (a === 0) continue;
      for (let j = 0; j < d; j++) root[i * d + j] += a * vectors![j * d + k];
    }
    m = matmul(matmul(root, s2, d), root, d);
  }
  // Symmetrise against rounding before the symmetric solver.
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) {
    const v = (m[i * d + j] + m[j * d + i]) / 2;
    m[i * d + j] = v;
    m[j * d + i] = v;
  }
  const { values } = symmetricEigen(m, d, false);
  let tr = 0;
  for (const v of values) tr += Math.sqrt(Math.max(v, 0));
  return tr;
}

/** What decides whether two sets of features compare: their dimension and, where known, their network's id. */
export interface FeatureSpace {
  dim: number;
  features?: string;
}

/** Refuses to compare features of different dimensions or of two different networks, whose distance means nothing. */
export function checkSameFeatures(a: FeatureSpace, b: FeatureSpace): void {
  if (a.dim !== b.dim) throw new GantryError(`feature statistics of different dimensions (${a.dim} and ${b.dim}); compute both with the same feature network and dimension`);
  if (a.features && b.features && a.features !== b.features) {
    throw new GantryError(`feature statistics of two different feature networks (${a.features} and ${b.features}), whose distance means nothing; compute both with the same network (${inWords('`gantry eval stats`', 'featureStats()')} records its network in the file)`);
  }
}

/** ||mu1 - mu2||^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^1/2). */
export function frechetDistance(a: FeatureStats, b: FeatureStats): number {
  const d = a.mu.length;
  checkSameFeatures({ dim: d, features: a.features }, { dim: b.mu.length, features: b.features });
  for (const [stats, which] of [[a, 'first'], [b, 'second']] as const) {
    if (!stats.mu.every(Number.isFinite) || !stats.sigma.every(Number.isFinite)) {
      throw new GantryError(`the ${which} set's feature statistics hold NaN or infinite values (images with NaN pixels, e.g. from a diverged generator); FID is undefined for them`);
    }
  }
  let diff = 0;
  for (let i = 0; i < d; i++) diff += (a.mu[i] - b.mu[i]) ** 2;
  let tr = 0;
  for (let i = 0; i < d; i++) tr += a.sigma[i * d + i] + b.sigma[i * d + i];
  const fid = diff + tr - 2 * traceSqrtProduct(a.sigma, b.sigma, d);
  if (!Number.isFinite(fid)) throw new GantryError(`FID came out ${fid}: the covariances' product has no usable square root; check the statistics (${inWords('`gantry eval stats`', 'featureStats()')}) and use more images`);
  return fid;
}
