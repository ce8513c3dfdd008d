/**
 * Pixel-intensity histograms: a cheap, model-free check that generated images have the intensity
 * distribution of the data (for MNIST: mostly black background, some white strokes), compared by the
 * Wasserstein-1 distance below.
 */
export function pixelHistogram(values: ArrayLike<number>, bins = 16, lo = -1, hi = 1): Float64Array {
  const h = new Float64Array(bins);
  for (let i = 0; i < values.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(((values[i] - lo) / (hi - lo)) * bins)));
    h[b] += 1;
  }
  for (let b = 0; b < bins; b++) h[b] /= values.length;
  return h;
}

/**
 * Wasserstein-1 (earth mover's) distance between two histograms over [lo, hi]: the mean distance
 * intensity mass must move, robust to small shifts that make TV jump from bin to bin.
 */
export function wasserstein1(p: ArrayLike<number>, q: ArrayLike<number>, lo = -1, hi = 1): number {
  const width = (hi - lo) / p.length;
  let cp = 0, cq = 0, s = 0;
  for (let i = 0; i < p.length; i++) {
    cp += p[i];
    cq += q[i];
    s += Math.abs(cp - cq) * width;
  }
  return s;
}
