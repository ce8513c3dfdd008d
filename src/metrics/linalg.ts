import { useBuiltAddon } from '../kernels/cpu/native-node.ts';
import { loadNativeAddon, type NativeAddon } from '../kernels/cpu/native.ts';

useBuiltAddon();

/**
 * Dense float64 linear algebra for feature statistics (row-major n x n Float64Arrays): products,
 * Cholesky, and the symmetric eigenvalue problem by Householder tridiagonalisation and the implicit
 * QL method (the classic tred2 / tql2 pair, as in EISPACK and JAMA). The same algorithms run natively
 * (src/native/linalg.cc, about 10x faster: a 2048-d FID in seconds) when the addon is built; the
 * TypeScript versions are the fall-back and the tests' reference.
 */

let preferNative = true;

/** Tests switch to the TypeScript implementations with false. */
export function useNativeLinalg(on: boolean): void {
  preferNative = on;
}

export function nativeLinalg(): NativeAddon | null {
  return preferNative ? loadNativeAddon().addon : null;
}

/** C = A B (n x n). i-k-j loop order keeps the inner loop contiguous. */
export function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ci = i * n;
    for (let k = 0; k < n; k++) {
      const aik = a[ci + k];
      if (aik === 0) continue;
      const bk = k * n;
      for (let j = 0; j < n; j++) c[ci + j] += aik * b[bk + j];
    }
  }
  return c;
}

/** Lower-triangular L with A = L L^T, or null if A is not (numerically) positive definite. */
export function cholesky(a: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  const addon = nativeLinalg();
  if (addon) return addon.cholesky(n, a, l) ? l : null;
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    const lj = j * n;
    for (let k = 0; k < j; k++) d -= l[lj + k] * l[lj + k];
    if (!(d > 1e-12 * Math.abs(a[j * n + j]) && d > 0)) return null;
    const ljj = Math.sqrt(d);
    l[lj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const li = i * n;
      let s = a[li + j];
      for (let k = 0; k < j; k++) s -= l[li + k] * l[lj + k];
      l[li + j] = s / ljj;
    }
  }
  return l;
}

/** L^T S L for lower-triangular L and symmetric S (the result is symmetric). */
export function congruence(l: Float64Array, s: Float64Array, n: number): Float64Array {
  const addon = nativeLinalg();
  if (addon) {
    const out = new Float64Array(n * n);
    addon.congruence(n, l, s, out);
    return out;
  }
  // T = S L, then R = L^T T
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const si = i * n;
    const ti = i * n;
    for (let k = 0; k < n; k++) {
      const sik = s[si + k];
      if (sik === 0) continue;
      const lk = k * n;
      for (let j = 0; j <= k; j++) t[ti + j] += sik * l[lk + j];
    }
  }
  const r = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const lk = k * n;
    const tk = k * n;
    for (let i = 0; i <= k; i++) {
      const lki = l[lk + i];
      if (lki === 0) continue;
      const ri = i * n;
      for (let j = 0; j < n; j++) r[ri + j] += lki * t[tk + j];
    }
  }
  return r;
}

export interface SymmetricEigen {
  values: Float64Array;
  /** Column j is the eigenvector of values[j] (row-major n x n); null when not requested. */
  vectors: Float64Array | null;
}

/** Eigen-decomposition of a symmetric matrix (input not modified). */
export function symmetricEigen(a: Float64Array, n: number, wantVectors = true): SymmetricEigen {
  const v = Float64Array.from(a);
  const d = new Float64Array(n);
  const addon = nativeLinalg();
  if (addon) {
    if (!addon.symmetricEigen(n, v, d, wantVectors)) throw new Error('eigen-decomposition did not converge');
    return { values: d, vectors: wantVectors ? v : null };
  }
  const e = new Float64Array(n);
  tred2(v, d, e, n, wantVectors);
  tql2(v, d, e, n, wantVectors);
  return { values: d, vectors: wantVectors ? v : null };
}

// Householder reduction to tridiagonal form (d: diagonal, e: sub-diagonal in e[1..n-1]).
function tred2(V: Float64Array, d: Float64Array, e: Float64Array, n: number, vectors: boolean): void {
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[j * n + i] = f;
        g = e[j] + V[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j] * d[k];
          e[k] += V[k * n + j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[k * n + j] -= f * e[k] + g * d[k];
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  if (vectors) {
    // Accumulate the transformations.
    for (let i = 0; i < n - 1; i++) {
      V[(n - 1) * n + i] = V[i * n + i];
      V[i * n + i] = 1;
      const h = d[i + 1];
      if (h !== 0) {
        for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1] / h;
        for (let j = 0; j <= i; j++) {
          let g = 0;
          for (let k = 0; k <= i; k++) g += V[k * n + i + 1] * V[k * n + j];
          for (let k = 0; k <= i; k++) V[k * n + j] -= g * d[k];
        }
      }
      for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
    }
    for (let j = 0; j < n; j++) {
      d[j] = V[(n - 1) * n + j];
      V[(n - 1) * n + j] = 0;
    }
    V[(n - 1) * n + n - 1] = 1;
  } else {
    for (let j = 0; j < n; j++) d[j] = V[j * n + j];
  }
  e[0] = 0;
}

// Implicit QL iterations on the tridiagonal matrix; eigenvalues sorted ascending.
function tql2(V: Float64Array, d: Float64Array, e: Float64Array, n: number, vectors: boolean): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 60) throw new Error('eigen-decomposition did not converge');
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1, c2 = c, c3 = c;
        const el1 = e[l + 1];
        let s = 0, s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          if (vectors) {
            for (let k = 0; k < n; k++) {
              const vk = k * n;
              h = V[vk + i + 1];
              V[vk + i + 1] = s * V[vk + i] + c * h;
              V[vk + i] = c * V[vk + i] - s * h;
            }
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] = d[l] + f;
    e[l] = 0;
  }
  // Sort ascending (with vectors).
  for (let i = 0; i < n - 1; i++) {
    let k = i;
    let p = d[i];
    for (let j = i + 1; j < n; j++) if (d[j] < p) { k = j; p = d[j]; }
    if (k !== i) {
      d[k] = d[i];
      d[i] = p;
      if (vectors) for (let j = 0; j < n; j++) {
        const t = V[j * n + i];
        V[j * n + i] = V[j * n + k];
        V[j * n + k] = t;
      }
    }
  }
}
