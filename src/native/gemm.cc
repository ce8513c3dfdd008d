// Packed, cache-blocked SGEMM in the style of BLIS/GotoBLAS: B is packed into KC x NC panels of NR
// columns (shared by all threads), A into MC x KC panels of MR rows (one per task), and a register-
// blocked MR x NR micro-kernel does the multiply-adds. The AVX2/FMA micro-kernel is chosen at run
// time (with AVX-512, whole pairs of panels go to a 512-bit kernel that gives the same results); on
// AArch64 (Apple silicon, Graviton) a NEON one with the same multiply-adds in the same order, so the same
// results; a portable one (plain loops) runs everywhere else.
#include "gemm.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "aligned.h"
#include "thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GANTRY_X86 1
#endif
#if defined(__aarch64__)
#include "neon_tile.h"
#define GANTRY_NEON 1
#endif

namespace gantry {
namespace {

constexpr int MR = 6;
constexpr int NR = 16;
constexpr long KC = 256;
constexpr long MC_MAX = 96;   // 96 x 256 floats of A = 96 KiB: stays in L2 beside the B micro-panel
constexpr long NC = 3072;     // 256 x 3072 floats of B = 3 MiB: the shared L3 slice

using MicroKernel = void (*)(long kc, const float* a, const float* b, float* c, long ldc, float alpha, float beta);

// acc = sum_k a[k*MR + i] * b[k*NR + j]; C = alpha * acc + beta * C (C not read when beta == 0).
void micro_portable(long kc, const float* a, const float* b, float* c, long ldc, float alpha, float beta) {
  float acc[MR][NR] = {};
  for (long k = 0; k < kc; k++) {
    const float* bk = b + k * NR;
    for (int i = 0; i < MR; i++) {
      float ai = a[k * MR + i];
      for (int j = 0; j < NR; j++) acc[i][j] += ai * bk[j];
    }
  }
  for (int i = 0; i < MR; i++) {
    float* ci = c + i * ldc;
    if (beta == 0.0f) {
      for (int j = 0; j < NR; j++) ci[j] = alpha * acc[i][j];
    } else {
      for (int j = 0; j < NR; j++) ci[j] = alpha * acc[i][j] + beta * ci[j];
    }
  }
}

#ifdef GANTRY_X86
__attribute__((target("avx2,fma"))) void micro_avx2(long kc, const float* a, const float* b, float* c, long ldc,
                                                    float alpha, float beta) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (long k = 0; k < kc; k++) {
    __m256 b0 = _mm256_load_ps(b);
    __m256 b1 = _mm256_load_ps(b + 8);
    __m256 av;
    av = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);
    av = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41);
    av = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51);
    a += MR;
    b += NR;
  }
  __m256 va = _mm256_set1_ps(alpha);
  __m256 rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  if (beta == 0.0f) {
    for (int i = 0; i < MR; i++) {
      _mm256_storeu_ps(c + i * ldc, _mm256_mul_ps(va, rows[i][0]));
      _mm256_storeu_ps(c + i * ldc + 8, _mm256_mul_ps(va, rows[i][1]));
    }
  } else {
    __m256 vb = _mm256_set1_ps(beta);
    for (int i = 0; i < MR; i++) {
      float* ci = c + i * ldc;
      _mm256_storeu_ps(ci, _mm256_fmadd_ps(va, rows[i][0], _mm256_mul_ps(vb, _mm256_loadu_ps(ci))));
      _mm256_storeu_ps(ci + 8, _mm256_fmadd_ps(va, rows[i][1], _mm256_mul_ps(vb, _mm256_loadu_ps(ci + 8))));
    }
  }
}

// micro_avx2 over two adjacent packed B panels at once (an MR x 2NR tile, b0 and b1 each kc x NR), one
// 512-bit accumulator per row and panel: per element the same multiply-adds in the same order, so the same
// results, with half the loads per multiply-add (the 256-bit kernel waits on loads; on CPUs that split
// 512-bit FMAs in two, such as AMD's, that is the gain).
__attribute__((target("avx512f"))) void micro_avx512_pair(long kc, const float* a, const float* b0, const float* b1, float* c,
                                                          long ldc, float alpha, float beta) {
  __m512 acc[MR][2];
  for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (long k = 0; k < kc; k++, a += MR, b0 += NR, b1 += NR) {
    const __m512 v0 = _mm512_load_ps(b0), v1 = _mm512_load_ps(b1);
    for (int i = 0; i < MR; i++) {
      const __m512 av = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(av, v0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(av, v1, acc[i][1]);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha);
  for (int i = 0; i < MR; i++) {
    float* ci = c + i * ldc;
    for (int h = 0; h < 2; h++) {
      if (beta == 0.0f) _mm512_storeu_ps(ci + h * NR, _mm512_mul_ps(va, acc[i][h]));
      else _mm512_storeu_ps(ci + h * NR, _mm512_fmadd_ps(va, acc[i][h], _mm512_mul_ps(_mm512_set1_ps(beta), _mm512_loadu_ps(ci + h * NR))));
    }
  }
}

bool cpu_has_avx2_fma() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
bool cpu_has_avx512() {
  __builtin_cpu_init();
  return cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f");
}
#else
bool cpu_has_avx2_fma() { return false; }
bool cpu_has_avx512() { return false; }
#endif

#ifdef GANTRY_NEON
// micro_avx2 on NEON, the tile in registers (neon_tile.h): the same results. Compilers keep micro_portable's
// float[MR][NR] in memory, reloading and storing it for every k.
void micro_neon(long kc, const float* a, const float* b, float* c, long ldc, float alpha, float beta) {
  neon::Tile6x16 acc = neon::Tile6x16::zero();
  for (long k = 0; k < kc; k++, a += MR, b += NR) acc.madd(neon::load16(b), vld1q_f32(a), vld1_f32(a + 4));
  const float32x4_t va = vdupq_n_f32(alpha), vb = vdupq_n_f32(beta);
  acc.each_row([&](int i, const neon::Row16& row) {
    const float32x4_t quarters[4] = {row.q0, row.q1, row.q2, row.q3};
    for (int q = 0; q < 4; q++) {
      float* cq = c + i * ldc + 4 * q;
      // As micro_avx2: alpha * acc, or fma(alpha, acc, beta * C).
      vst1q_f32(cq, beta == 0.0f ? vmulq_f32(va, quarters[q]) : vfmaq_f32(vmulq_f32(vb, vld1q_f32(cq)), va, quarters[q]));
    }
  });
}
#endif

bool force_portable = false;
bool avx2_forced = false;

MicroKernel pick_kernel() {
#ifdef GANTRY_X86
  if (use_avx2_fma()) return micro_avx2;
#endif
#ifdef GANTRY_NEON
  if (use_neon()) return micro_neon;
#endif
  return micro_portable;
}

// Packs op(A)[i0:i0+mc, p0:p0+kc] as MR-row panels, k-major within a panel, zero-padded to MR.
void pack_a(bool trans, const float* A, long lda, long i0, long p0, long mc, long kc, float* out) {
  for (long ir = 0; ir < mc; ir += MR) {
    int mr = static_cast<int>(std::min<long>(MR, mc - ir));
    float* panel = out + ir * kc;
    if (!trans) {
      for (int i = 0; i < MR; i++) {
        if (i < mr) {
          const float* src = A + (i0 + ir + i) * lda + p0;
          for (long k = 0; k < kc; k++) panel[k * MR + i] = src[k];
        } else {
          for (long k = 0; k < kc; k++) panel[k * MR + i] = 0.0f;
        }
      }
    } else {
      for (long k = 0; k < kc; k++) {
        const float* src = A + (p0 + k) * lda + i0 + ir;
        float* dst = panel + k * MR;
        int i = 0;
        for (; i < mr; i++) dst[i] = src[i];
        for (; i < MR; i++) dst[i] = 0.0f;
      }
    }
  }
}

// Packs op(B)[p0:p0+kc, j0 + jr0 : j0 + jr1] as NR-column panels, zero-padded to NR.
void pack_b_panels(bool trans, const float* B, long ldb, long p0, long j0, long nc, long kc, long jr0, long jr1,
                   float* out) {
  for (long jr = jr0; jr < jr1; jr += NR) {
    int nr = static_cast<int>(std::min<long>(NR, nc - jr));
    float* panel = out + jr * kc;
    if (!trans) {
      for (long k = 0; k < kc; k++) {
        const float* src = B + (p0 + k) * ldb + j0 + jr;
        float* dst = panel + k * NR;
        int j = 0;
        for (; j < nr; j++) dst[j] = src[j];
        for (; j < NR; j++) dst[j] = 0.0f;
      }
    } else {
      for (int j = 0; j < NR; j++) {
        if (j < nr) {
          const float* src = B + (j0 + jr + j) * ldb + p0;
          for (long k = 0; k < kc; k++) panel[k * NR + j] = src[k];
        } else {
          for (long k = 0; k < kc; k++) panel[k * NR + j] = 0.0f;
        }
      }
    }
  }
}

}  // namespace

bool use_avx2_fma() {
  static const bool avx2 = cpu_has_avx2_fma();
  return avx2 && !force_portable;
}

bool use_neon() {
#ifdef GANTRY_NEON
  return !force_portable;
#else
  return false;
#endif
}

bool use_simd_tiles() { return use_avx2_fma() || use_neon(); }

const char* sgemm_kernel_name() {
  return pick_kernel() == micro_portable ? "portable" : use_neon() ? "neon" : use_avx512() ? "avx512" : "avx2-fma";
}
void sgemm_force_portable(bool on) { force_portable = on; }

bool use_avx512() {
  static const bool avx512 = cpu_has_avx512();
  return avx512 && !force_portable && !avx2_forced;
}

void force_avx2(bool on) { avx2_forced = on; }

void sgemm(bool trans_a, bool trans_b, long M, long N, long K, float alpha, const float* A, long lda,
           const float* B, long ldb, float beta, float* C, long ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    for (long i = 0; i < M; i++) {
      float* ci = C + i * ldc;
      if (beta == 0.0f) std::fill(ci, ci + N, 0.0f);
      else for (long j = 0; j < N; j++) ci[j] *= beta;
    }
    return;
  }
  MicroKernel kernel = pick_kernel();
#ifdef GANTRY_X86
  const bool avx512 = use_avx512();
#endif
  const int threads = pool().size();
  // Split M so every thread has a block even when M is small; round to whole micro-panels.
  long mc = std::min<long>(MC_MAX, ((M + threads - 1) / threads + MR - 1) / MR * MR);
  mc = std::max<long>(mc, MR);
  static thread_local AlignedFloats b_buffer;

  for (long j0 = 0; j0 < N; j0 += NC) {
    long nc = std::min(NC, N - j0);
    long nc_padded = (nc + NR - 1) / NR * NR;
    for (long p0 = 0; p0 < K; p0 += KC) {
      long kc = std::min(KC, K - p0);
      float beta_eff = p0 == 0 ? beta : 1.0f;
      float* bp = b_buffer.get(static_cast<size_t>(nc_padded * kc));
      long n_panels = nc_padded / NR;
      parallel_for(n_panels, [&](long a, long b) {
        pack_b_panels(trans_b, B, ldb, p0, j0, nc, kc, a * NR, std::min(nc_padded, b * NR), bp);
      });
      long m_blocks = (M + mc - 1) / mc;
      // With fewer M blocks than threads, also split the columns so no thread idles.
      long n_splits = std::max<long>(1, std::min<long>(n_panels, (threads + m_blocks - 1) / m_blocks));
      long panels_per_split = (n_panels + n_splits - 1) / n_splits;
      pool().run(static_cast<int>(m_blocks * n_splits), [&](int task) {
        long ib = task / n_splits, js = task % n_splits;
        long i0 = ib * mc, mcur = std::min(mc, M - i0);
        long jr0 = js * panels_per_split * NR, jr1 = std::min(nc_padded, jr0 + panels_per_split * NR);
        if (jr0 >= jr1) return;
        static thread_local AlignedFloats a_buffer;
        float* ap = a_buffer.get(static_cast<size_t>((mcur + MR) * kc));
        pack_a(trans_a, A, lda, i0, p0, mcur, kc, ap);
        alignas(64) float tile[MR * NR];
        for (long jr = jr0; jr < jr1; jr += NR) {
#ifdef GANTRY_X86
          // Two whole panels at once: full-row tiles take the 512-bit pair kernel, the last rows each panel alone.
          const bool pair = avx512 && jr + 2 * NR <= jr1 && jr + 2 * NR <= nc;
#else
          const bool pair = false;
#endif
          for (long ir = 0; ir < mcur; ir += MR) {
            long mr = std::min<long>(MR, mcur - ir);
#ifdef GANTRY_X86
            if (pair && mr == MR) {
              micro_avx512_pair(kc, ap + ir * kc, bp + jr * kc, bp + (jr + NR) * kc, C + (i0 + ir) * ldc + j0 + jr, ldc, alpha, beta_eff);
              continue;
            }
#endif
            for (long jh = jr; jh < jr + (pair ? 2 : 1) * NR; jh += NR) {
              long nr = std::min<long>(NR, nc - jh);
              float* cij = C + (i0 + ir) * ldc + j0 + jh;
              if (mr == MR && nr == NR) {
                kernel(kc, ap + ir * kc, bp + jh * kc, cij, ldc, alpha, beta_eff);
              } else {
                // Edge tile: compute into a full tile, then merge the valid part.
                kernel(kc, ap + ir * kc, bp + jh * kc, tile, NR, alpha, 0.0f);
                for (long i = 0; i < mr; i++)
                  for (long j = 0; j < nr; j++) {
                    float v = tile[i * NR + j];
                    cij[i * ldc + j] = beta_eff == 0.0f ? v : v + beta_eff * cij[i * ldc + j];
                  }
              }
            }
          }
          if (pair) jr += NR;
        }
      });
    }
  }
}

}  // namespace gantry
