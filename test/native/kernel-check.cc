// The addon's sgemm, convolutions and tanh without Node: a program that test/native/cross-arch.test.ts builds for
// this machine and for AArch64 (run there under qemu), so that the NEON kernels are tested where no ARM
// machine is. Each case prints one line:
//   <name> <path> <bits> <max error> <ok|FAIL>
// path: "simd" (AVX2/AVX-512 or NEON) or "portable"; bits: a hash of the output's float bits, which the test
// compares across machines (the NEON kernels are meant to give the AVX2 kernels' results bit for bit);
// max error: the largest |out - exact| / (sum of |terms| + 1e-30) against float64 loops. The last line is
// "N passed, M failed". Inputs come from a fixed generator, so every build sees the same numbers.
//   kernel-check [avx2]   (avx2: the AVX2 kernels where the CPU has AVX-512, whose results are the same bits)
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../../src/native/conv.h"
#include "../../src/native/gemm.h"
#include "../../src/native/tanh.h"

namespace {

std::vector<float> random_floats(long n, uint64_t seed) {
  std::vector<float> v(n);
  uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (long i = 0; i < n; i++) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    // Multiples of 2^-23 in [-1, 1): whole float32 significands, so a fused multiply-add and a product
    // then a sum round differently, and the bits tell them apart.
    v[i] = static_cast<float>(static_cast<int64_t>(s >> 40) - (1L << 23)) / static_cast<float>(1L << 23);
  }
  return v;
}

uint64_t hash_bits(const std::vector<float>& v) {
  uint64_t h = 1469598103934665603ULL;
  for (float f : v) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    h = (h ^ b) * 1099511628211ULL;
  }
  return h;
}

int passed = 0, failed = 0;

// Reports a case: out against exact, each element's tolerance scaled by the sum of its terms' magnitudes.
void report(const std::string& name, const std::vector<float>& out, const std::vector<double>& exact,
            const std::vector<double>& magnitude) {
  double worst = 0.0;
  for (size_t i = 0; i < out.size(); i++) {
    const double e = std::fabs(out[i] - exact[i]) / (magnitude[i] + 1e-30);
    if (!(e <= worst)) worst = e;  // a NaN too
  }
  // float32 sums of up to a few thousand terms: errors far below 1e-4 of the magnitudes; a wrong index is ~1.
  const bool ok = worst < 1e-4;
  (ok ? passed : failed)++;
  std::printf("%s %s %016llx %.3g %s\n", name.c_str(), gantry::use_simd_tiles() ? "simd" : "portable",
              static_cast<unsigned long long>(hash_bits(out)), worst, ok ? "ok" : "FAIL");
}

void check_sgemm(bool ta, bool tb, long M, long N, long K, float alpha, float beta, uint64_t seed) {
  const long lda = ta ? M + 3 : K + 1, ldb = tb ? K + 2 : N + 5, ldc = N + 4;
  const auto A = random_floats((ta ? K : M) * lda, seed), B = random_floats((tb ? N : K) * ldb, seed + 1);
  auto C = random_floats(M * ldc, seed + 2);
  std::vector<double> exact(M * ldc), magnitude(M * ldc);
  for (long i = 0; i < M; i++)
    for (long j = 0; j < ldc; j++) {
      if (j >= N) {  // outside the product: must stay as it was
        exact[i * ldc + j] = C[i * ldc + j];
        continue;
      }
      double s = 0.0, m = 0.0;
      for (long k = 0; k < K; k++) {
        const double p = static_cast<double>(ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
        s += p;
        m += std::fabs(p);
      }
      const double c = beta == 0.0f ? 0.0 : static_cast<double>(beta) * C[i * ldc + j];
      exact[i * ldc + j] = alpha * s + c;
      magnitude[i * ldc + j] = std::fabs(alpha) * m + std::fabs(c);
    }
  gantry::sgemm(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  char name[96];
  std::snprintf(name, sizeof(name), "sgemm%s%s-%ldx%ldx%ld-a%g-b%g", ta ? "T" : "N", tb ? "T" : "N", M, N, K, alpha, beta);
  report(name, C, exact, magnitude);
}

// Exact forward convolution terms, as a function of (output index) -> visits each (x index, w index).
struct Geom {
  long n, h, w, c, kh, kw, oc, sh, sw, dh, dw, top, left, oh, ow;
  gantry::ConvGeom native() const { return {n, h, w, c, kh, kw, oc, oh, ow, sh, sw, dh, dw, top, left}; }
  template <typename Fn>
  void each_term(Fn fn) const {  // fn(y index, x index, w index)
    for (long b = 0; b < n; b++)
      for (long i = 0; i < oh; i++)
        for (long j = 0; j < ow; j++)
          for (long p = 0; p < kh; p++)
            for (long q = 0; q < kw; q++) {
              const long ih = i * sh - top + p * dh, iw = j * sw - left + q * dw;
              if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
              for (long ci = 0; ci < c; ci++)
                for (long o = 0; o < oc; o++)
                  fn(((b * oh + i) * ow + j) * oc + o, ((b * h + ih) * w + iw) * c + ci, ((p * kw + q) * c + ci) * oc + o);
            }
  }
};

void check_conv(const char* label, Geom g, uint64_t seed) {
  const auto x = random_floats(g.n * g.h * g.w * g.c, seed), w = random_floats(g.kh * g.kw * g.c * g.oc, seed + 1);
  const auto dy = random_floats(g.n * g.oh * g.ow * g.oc, seed + 2);
  const gantry::ConvGeom ng = g.native();
  std::vector<double> y(dy.size()), ym(dy.size()), dx(x.size()), dxm(x.size()), dw(w.size()), dwm(w.size());
  g.each_term([&](long yi, long xi, long wi) {
    const double t = static_cast<double>(x[xi]) * w[wi];
    y[yi] += t;
    ym[yi] += std::fabs(t);
    const double u = static_cast<double>(dy[yi]) * w[wi];
    dx[xi] += u;
    dxm[xi] += std::fabs(u);
    const double v = static_cast<double>(dy[yi]) * x[xi];
    dw[wi] += v;
    dwm[wi] += std::fabs(v);
  });
  std::vector<float> out(dy.size()), dx_out(x.size(), 7.0f), dw_out(w.size(), 7.0f);
  gantry::conv2d_forward(ng, x.data(), w.data(), out.data());
  report(std::string(label) + "-forward", out, y, ym);
  gantry::conv2d_backprop_input(ng, dy.data(), w.data(), dx_out.data());
  report(std::string(label) + "-input-grad", dx_out, dx, dxm);
  gantry::conv2d_backprop_filter(ng, x.data(), dy.data(), dw_out.data());
  report(std::string(label) + "-filter-grad", dw_out, dw, dwm);
}

// A convolution with "same" padding (or the given padding) and the output size that follows.
Geom conv(long n, long h, long w, long c, long k, long oc, long stride, long pad, long dilation = 1) {
  const long reach = (k - 1) * dilation + 1;
  return {n, h, w, c, k, k, oc, stride, stride, dilation, dilation, pad, pad,
          (h + 2 * pad - reach) / stride + 1, (w + 2 * pad - reach) / stride + 1};
}

// The addon's tanh (src/native/tanh.h) over [-12, 12) and past its cut-overs, against double tanh; its accuracy
// in ulps is test/kernels/fused.test.ts's, here its bits on each machine.
void check_tanh(uint64_t seed) {
  std::vector<float> x = random_floats(4096, seed);
  for (float& v : x) v *= 12.0f;
  for (float v : {0.0f, -0.0f, 0.39999998f, 0.4f, 9.02f, 10.0f, 1e30f, -1e30f}) x.push_back(v);
  std::vector<float> out(x.size());
  std::vector<double> exact(x.size()), magnitude(x.size());
  for (size_t i = 0; i < x.size(); i++) {
    out[i] = gantry::tanh_float(x[i]);
    exact[i] = std::tanh(static_cast<double>(x[i]));
    magnitude[i] = std::fabs(exact[i]);
  }
  report("tanh", out, exact, magnitude);
}

void run_all(uint64_t seed) {
  check_tanh(seed + 200);
  // sgemm: whole and edge tiles, K past one 256-deep block (beta applied once), both transposes, alpha, beta.
  check_sgemm(false, false, 6, 16, 8, 1.0f, 0.0f, seed);
  check_sgemm(false, false, 37, 45, 300, 1.0f, 0.0f, seed + 10);
  check_sgemm(true, false, 50, 33, 70, 0.5f, 1.0f, seed + 20);
  check_sgemm(false, true, 13, 70, 530, 1.0f, 0.25f, seed + 30);
  check_sgemm(true, true, 64, 64, 64, -2.0f, 0.0f, seed + 40);
  check_sgemm(false, false, 1, 200, 17, 1.0f, 0.0f, seed + 50);
  // Convolutions, one of each path conv.cc takes: in-place 3x3 tiles (16-multiple channels: the filter read
  // in place; others: packed), a filter longer than one stretch, DCGAN's strided 4x4 (sgemm over im2col), a
  // pointwise 1x1, few output channels (1 and 3: the dot / axpy kernels, tails of 1-7 floats), pix2pixHD's
  // 7x7 on 3 channels, a small map (filter gradient through sgemm), a dilated one (im2col).
  check_conv("conv3x3-32to32", conv(2, 9, 11, 32, 3, 32, 1, 1), seed + 100);
  check_conv("conv3x3-20to24", conv(2, 8, 8, 20, 3, 24, 1, 1), seed + 110);
  check_conv("conv3x3-96to48", conv(1, 7, 9, 96, 3, 48, 1, 1), seed + 120);
  check_conv("conv4x4s2-16to32", conv(3, 16, 16, 16, 4, 32, 2, 1), seed + 130);
  check_conv("conv1x1-24to40", conv(2, 6, 7, 24, 1, 40, 1, 0), seed + 140);
  check_conv("conv3x3-16to1", conv(2, 10, 9, 16, 3, 1, 1, 1), seed + 150);
  check_conv("conv4x4s2-5to3", conv(2, 12, 12, 5, 4, 3, 2, 1), seed + 160);
  check_conv("conv7x7-3to16", conv(1, 14, 20, 3, 7, 16, 1, 3), seed + 170);
  check_conv("conv3x3-small-map", conv(1, 4, 4, 64, 3, 64, 1, 1), seed + 180);
  check_conv("conv3x3-dilated", conv(1, 9, 9, 8, 3, 16, 1, 2, 2), seed + 190);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "avx2") == 0) gantry::force_avx2(true);
  run_all(1);
  gantry::sgemm_force_portable(true);
  run_all(1);
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
