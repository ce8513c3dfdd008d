// Float64 linear algebra for FID statistics, the native twin of src/metrics/linalg.ts (same
// algorithms: Cholesky, the congruence L^T S L, Householder tridiagonalisation + implicit QL), plus the
// covariance accumulation. Row-major n x n arrays.
#include "linalg.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "thread_pool.h"

namespace gantry {

// outer[i, j] += sum_r x[r, i] * x[r, j] for j >= i (upper triangle), x float32 minus shift, in double.
void accumulate_outer(long rows, long d, const float* x, const double* shift, double* sum, double* outer) {
  std::vector<double> centred(rows * d);
  for (long r = 0; r < rows; r++)
    for (long j = 0; j < d; j++) {
      double v = x[r * d + j] - shift[j];
      centred[r * d + j] = v;
      sum[j] += v;
    }
  // Rows of the upper triangle are independent: split them over the pool, balancing the work.
  parallel_for(d, [&](long i0, long i1) {
    for (long i = i0; i < i1; i++) {
      double* oi = outer + i * d;
      for (long r = 0; r < rows; r++) {
        const double* xr = centred.data() + r * d;
        double xi = xr[i];
        if (xi == 0.0) continue;
        for (long j = i; j < d; j++) oi[j] += xi * xr[j];
      }
    }
  }, 1);
}

bool cholesky(long n, const double* a, double* l) {
  std::fill(l, l + n * n, 0.0);
  for (long j = 0; j < n; j++) {
    const double* lj = l + j * n;
    double d = a[j * n + j];
    for (long k = 0; k < j; k++) d -= lj[k] * lj[k];
    if (!(d > 1e-12 * std::fabs(a[j * n + j]) && d > 0)) return false;
    double ljj = std::sqrt(d);
    l[j * n + j] = ljj;
    parallel_for(n - j - 1, [&](long b0, long b1) {
      for (long i = j + 1 + b0; i < j + 1 + b1; i++) {
        const double* li = l + i * n;
        double s = a[i * n + j];
        for (long k = 0; k < j; k++) s -= li[k] * lj[k];
        l[i * n + j] = s / ljj;
      }
    }, 64);
  }
  return true;
}

// r = L^T S L
void congruence(long n, const double* l, const double* s, double* r) {
  std::vector<double> t(n * n, 0.0);  // T = S L
  parallel_for(n, [&](long i0, long i1) {
    for (long i = i0; i < i1; i++)
      for (long k = 0; k < n; k++) {
        double sik = s[i * n + k];
        if (sik == 0.0) continue;
        const double* lk = l + k * n;
        double* ti = t.data() + i * n;
        for (long j = 0; j <= k; j++) ti[j] += sik * lk[j];
      }
  });
  std::fill(r, r + n * n, 0.0);
  // R[i, :] = sum_k L[k, i] T[k, :], k >= i
  parallel_for(n, [&](long i0, long i1) {
    for (long i = i0; i < i1; i++) {
      double* ri = r + i * n;
      for (long k = i; k < n; k++) {
        double lki = l[k * n + i];
        if (lki == 0.0) continue;
        const double* tk = t.data() + k * n;
        for (long j = 0; j < n; j++) ri[j] += lki * tk[j];
      }
    }
  });
}

static void tred2(double* V, double* d, double* e, long n, bool vectors) {
  for (long j = 0; j < n; j++) d[j] = V[(j) * n + ((n - 1))];
  for (long i = n - 1; i > 0; i--) {
    double scale = 0, h = 0;
    for (long k = 0; k < i; k++) scale += std::fabs(d[k]);
    if (scale == 0) {
      e[i] = d[i - 1];
      for (long j = 0; j < i; j++) {
        d[j] = V[(j) * n + (i - 1)];
        V[(j) * n + (i)] = 0;
        V[(i) * n + (j)] = 0;
      }
    } else {
      for (long k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      double f = d[i - 1];
      double g = std::sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (long j = 0; j < i; j++) e[j] = 0;
      for (long j = 0; j < i; j++) {
        f = d[j];
        V[(i) * n + (j)] = f;
        g = e[j] + V[(j) * n + (j)] * f;
        for (long k = j + 1; k <= i - 1; k++) {
          g += V[(j) * n + (k)] * d[k];
          e[k] += V[(j) * n + (k)] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (long j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      double hh = f / (h + h);
      for (long j = 0; j < i; j++) e[j] -= hh * d[j];
      for (long j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (long k = j; k <= i - 1; k++) V[(j) * n + (k)] -= f * e[k] + g * d[k];
        d[j] = V[(j) * n + (i - 1)];
        V[(j) * n + (i)] = 0;
      }
    }
    d[i] = h;
  }
  if (vectors) {
    for (long i = 0; i < n - 1; i++) {
      V[(i) * n + ((n - 1))] = V[(i) * n + (i)];
      V[(i) * n + (i)] = 1;
      double h = d[i + 1];
      if (h != 0) {
        for (long k = 0; k <= i; k++) d[k] = V[(i + 1) * n + (k)] / h;
        for (long j = 0; j <= i; j++) {
          double g = 0;
          for (long k = 0; k <= i; k++) g += V[(i + 1) * n + (k)] * V[(j) * n + (k)];
          for (long k = 0; k <= i; k++) V[(j) * n + (k)] -= g * d[k];
        }
      }
      for (long k = 0; k <= i; k++) V[(i + 1) * n + (k)] = 0;
    }
    for (long j = 0; j < n; j++) {
      d[j] = V[(j) * n + ((n - 1))];
      V[(j) * n + ((n - 1))] = 0;
    }
    V[(n - 1) * n + ((n - 1))] = 1;
  } else {
    for (long j = 0; j < n; j++) d[j] = V[(j) * n + (j)];
  }
  e[0] = 0;
}

static bool tql2(double* V, double* d, double* e, long n, bool vectors) {
  for (long i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  double f = 0, tst1 = 0;
  const double eps = std::ldexp(1.0, -52);
  for (long l = 0; l < n; l++) {
    tst1 = std::max(tst1, std::fabs(d[l]) + std::fabs(e[l]));
    long m = l;
    while (m < n) {
      if (std::fabs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      int iter = 0;
      do {
        if (++iter > 60) return false;
        double g = d[l];
        double p = (d[l + 1] - g) / (2 * e[l]);
        double r = std::hypot(p, 1.0);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        double dl1 = d[l + 1];
        double h = g - d[l];
        for (long i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        double c = 1, c2 = c, c3 = c;
        double el1 = e[l + 1];
        double s = 0, s2 = 0;
        for (long i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = std::hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          if (vectors)
            for (long k = 0; k < n; k++) {
              h = V[(i + 1) * n + (k)];
              V[(i + 1) * n + (k)] = s * V[(i) * n + (k)] + c * h;
              V[(i) * n + (k)] = c * V[(i) * n + (k)] - s * h;
            }
        }
        p = -s * s2 * c3 * el1 * e[l] / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (std::fabs(e[l]) > eps * tst1);
    }
    d[l] = d[l] + f;
    e[l] = 0;
  }
  for (long i = 0; i < n - 1; i++) {
    long k = i;
    double p = d[i];
    for (long j = i + 1; j < n; j++)
      if (d[j] < p) {
        k = j;
        p = d[j];
      }
    if (k != i) {
      d[k] = d[i];
      d[i] = p;
      if (vectors)
        for (long j = 0; j < n; j++) std::swap(V[(i) * n + (j)], V[(k) * n + (j)]);
    }
  }
  return true;
}

// tred2 / tql2 above index V transposed (V[(col) * n + (row)]) relative to JAMA's column-oriented
// loops, so their inner loops run along rows (contiguous memory). The input is symmetric, so this
// changes nothing going in; the eigenvectors come out in rows and are transposed back to columns.
bool symmetric_eigen(long n, double* a_inout, double* values, bool vectors) {
  std::vector<double> e(n);
  tred2(a_inout, values, e.data(), n, vectors);
  bool ok = tql2(a_inout, values, e.data(), n, vectors);
  if (vectors)
    for (long i = 0; i < n; i++)
      for (long j = i + 1; j < n; j++) std::swap(a_inout[i * n + j], a_inout[j * n + i]);
  return ok;
}

}  // namespace gantry
