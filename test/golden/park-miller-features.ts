/**
 * The Park-Miller features of make_metrics.py and make_precision_recall.py (x <- 16807 x mod 2^31 - 1),
 * float64 arithmetic then float32 rounding, as NumPy does.
 */
function parkMiller(seed: number, count: number): Float64Array {
  const u = new Float64Array(count);
  let x = seed;
  for (let i = 0; i < count; i++) {
    x = (16807 * x) % 2147483647;
    u[i] = x / 2147483647;
  }
  return u;
}

/** n x d features of kind 'a' or 'b' (two overlapping distributions). */
export function parkMillerFeatures(seed: number, n: number, d: number, kind: 'a' | 'b'): Float32Array {
  const u = parkMiller(seed, n * d);
  const f = new Float32Array(n * d);
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) {
    const at = (k: number) => u[r * d + ((j + k) % d)];
    f[r * d + j] = kind === 'a' ? at(0) + 0.5 * at(1) : 1.2 * at(0) + 0.2 * at(3) + (0.05 * j) / d;
  }
  return f;
}

/** n x d whole numbers 0, 1, 2 from the same generator (make_precision_recall.py's grid): many distances tie. */
export function parkMillerGrid(seed: number, n: number, d: number): Float32Array {
  return Float32Array.from(parkMiller(seed, n * d), (u) => Math.floor(u * 3));
}
