// Valid convolutions read in place (implicit GEMM): a tile of output pixels times a panel of output
// channels, the patch rows taken straight from the input. See valid_conv.h.
#include "valid_conv.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "aligned.h"
#include "gemm.h"
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

constexpr int TM = 6;                // output pixels a tile
constexpr int TN = 16;               // output channels a tile: one packed weight panel
constexpr long kTilesPerBlock = 16;  // tiles that share each stretch of a weight panel
constexpr long kKc = 256;            // filter rows a stretch: 256 x 16 floats, 16 KiB
constexpr long kPackedBlocks = 4;    // blocks of tiles from which the filter is packed once (see valid_conv)
constexpr long kMaxGroup = 4;        // panels a wide tile covers at most

// Where one output pixel's patch starts in xp; its row i starts rs floats after row i - 1.
struct PixelMap {
  const float* xp;
  long oh, ow, hp, wp, cin, sh, sw;
  const float* operator()(long m) const {
    long img = m / (oh * ow), r = m % (oh * ow);
    return xp + ((img * hp + (r / ow) * sh) * wp + (r % ow) * sw) * cin;
  }
};


// The filter as the convolution reads it, w[k, o] for k < kh * kw * cin: either w itself ([kh, kw, cin, cout])
// or, flipped, the filter of the convolution whose input gradient this is ([kh, kw, cout, cin]) turned half
// a circle with its channel axes swapped.
struct Filter {
  const float* w;
  long kh, kw, cin, cout;
  bool flipped;
  float at(long k, long o) const {
    if (!flipped) return w[k * cout + o];
    long ij = k / cin, c = k % cin;
    long i = ij / kw, j = ij % kw;
    return w[(((kh - 1 - i) * kw + (kw - 1 - j)) * cout + o) * cin + c];
  }
};

// The filter as groups of `group` panels of TN columns, zero past cout: group g's row k holds its panels' TN
// floats side by side, width * TN floats (width = group, or fewer in the last group), at g * K * group * TN +
// k * width * TN, so a tile kernel reads each row of its group as one run. A filter as it is is read a row at a
// time (one run of cout floats, parallel over rows: a filter not in cache streams in); a flipped one per panel
// and kernel position, as 16 rows of cin contiguous floats, transposed.
void pack_panels(const Filter& f, long K, long group, float* out) {
  const long panels = (f.cout + TN - 1) / TN, positions = f.kh * f.kw;
  const auto panel_row = [&](long p, long k) {
    const long g = p / group, width = std::min(group, panels - g * group);
    return out + g * K * group * TN + k * width * TN + p % group * TN;
  };
  if (!f.flipped) {
    parallel_for(K, [&](long a, long b) {
      for (long k = a; k < b; k++) {
        const float* src = f.w + k * f.cout;
        for (long p = 0; p < panels; p++) {
          float* dst = panel_row(p, k);
          const long n = std::min<long>(TN, f.cout - p * TN);
          std::memcpy(dst, src + p * TN, sizeof(float) * n);
          std::fill(dst + n, dst + TN, 0.0f);
        }
      }
    }, 16);
    return;
  }
  parallel_for(panels * positions, [&](long a, long b) {
    for (long q = a; q < b; q++) {
      const long p = q / positions, ij = q % positions;
      const long ld = std::min(group, panels - p / group * group) * TN;
      float* dst = panel_row(p, ij * f.cin);
      const long turned = (f.kh - 1 - ij / f.kw) * f.kw + (f.kw - 1 - ij % f.kw);
      const float* src = f.w + (turned * f.cout + p * TN) * f.cin;
      for (long c = 0; c < f.cin; c++, dst += ld)
        for (int j = 0; j < TN; j++) dst[j] = p * TN + j < f.cout ? src[j * f.cin + c] : 0.0f;
    }
  });
}

// The stretch of patch rows one tile call covers: rows i < nrows of len values, row i of pixel r at a[r] + i * rs,
// its filter rows from b + i * brs, one every ldb floats.
struct Stretch {
  long nrows, rs, len, brs, ldb;
};
using TileKernel = void (*)(const float* const* a, const Stretch& st, const float* b, bool accumulate, float* tile);

// tile[r][j] (+)= sum over the stretch of a[r][i * rs + s] * b[i * brs + s * ldb + j]: TM pixels x TN channels.
void tile_portable(const float* const* a, const Stretch& st, const float* b, bool accumulate, float* tile) {
  float acc[TM][TN] = {};
  if (accumulate) std::memcpy(acc, tile, sizeof(acc));
  for (long i = 0; i < st.nrows; i++)
    for (long s = 0; s < st.len; s++) {
      const float* bk = b + i * st.brs + s * st.ldb;
      for (int r = 0; r < TM; r++) {
        float v = a[r][i * st.rs + s];
        for (int j = 0; j < TN; j++) acc[r][j] += v * bk[j];
      }
    }
  std::memcpy(tile, acc, sizeof(acc));
}

// Few output channels: out[r * CO + o] = sum of a[r]'s patch times wt[o * K ...], vectorised along the patch.
template <int CO, int R>
void dot_portable(const float* const* a, long kh, long seg, long rs, const float* wt, long K, float* out) {
  float acc[R][CO] = {};
  for (long i = 0; i < kh; i++)
    for (int r = 0; r < R; r++) {
      const float* x = a[r] + i * rs;
      for (int o = 0; o < CO; o++) {
        const float* w = wt + o * K + i * seg;
        float s = 0.0f;
        for (long k = 0; k < seg; k++) s += x[k] * w[k];
        acc[r][o] += s;
      }
    }
  for (int r = 0; r < R; r++)
    for (int o = 0; o < CO; o++) out[r * CO + o] = acc[r][o];
}

// dwt[o * K + i * seg + s] += sum_r g[r * CO + o] * a[r][i * rs + s]: the filter gradient's update of R pixels.
template <int CO, int R>
void axpy_portable(const float* const* a, const float* g, long kh, long seg, long rs, long K, float* dwt) {
  for (long i = 0; i < kh; i++)
    for (int o = 0; o < CO; o++) {
      float* d = dwt + o * K + i * seg;
      for (int r = 0; r < R; r++) {
        const float* x = a[r] + i * rs;
        float gv = g[r * CO + o];
        for (long k = 0; k < seg; k++) d[k] += gv * x[k];
      }
    }
}

#ifdef GANTRY_X86
__attribute__((target("avx2,fma"))) void tile_avx2(const float* const* a, const Stretch& st, const float* b0_,
                                                   bool accumulate, float* tile) {
  __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
  if (accumulate) {
    c00 = _mm256_load_ps(tile + 0 * TN); c01 = _mm256_load_ps(tile + 0 * TN + 8);
    c10 = _mm256_load_ps(tile + 1 * TN); c11 = _mm256_load_ps(tile + 1 * TN + 8);
    c20 = _mm256_load_ps(tile + 2 * TN); c21 = _mm256_load_ps(tile + 2 * TN + 8);
    c30 = _mm256_load_ps(tile + 3 * TN); c31 = _mm256_load_ps(tile + 3 * TN + 8);
    c40 = _mm256_load_ps(tile + 4 * TN); c41 = _mm256_load_ps(tile + 4 * TN + 8);
    c50 = _mm256_load_ps(tile + 5 * TN); c51 = _mm256_load_ps(tile + 5 * TN + 8);
  } else {
    c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
  }
  for (long i = 0; i < st.nrows; i++) {
    const float *a0 = a[0] + i * st.rs, *a1 = a[1] + i * st.rs, *a2 = a[2] + i * st.rs;
    const float *a3 = a[3] + i * st.rs, *a4 = a[4] + i * st.rs, *a5 = a[5] + i * st.rs;
    const float* b = b0_ + i * st.brs;
    for (long s = 0; s < st.len; s++, b += st.ldb) {
      __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), v;
      v = _mm256_broadcast_ss(a0 + s); c00 = _mm256_fmadd_ps(v, b0, c00); c01 = _mm256_fmadd_ps(v, b1, c01);
      v = _mm256_broadcast_ss(a1 + s); c10 = _mm256_fmadd_ps(v, b0, c10); c11 = _mm256_fmadd_ps(v, b1, c11);
      v = _mm256_broadcast_ss(a2 + s); c20 = _mm256_fmadd_ps(v, b0, c20); c21 = _mm256_fmadd_ps(v, b1, c21);
      v = _mm256_broadcast_ss(a3 + s); c30 = _mm256_fmadd_ps(v, b0, c30); c31 = _mm256_fmadd_ps(v, b1, c31);
      v = _mm256_broadcast_ss(a4 + s); c40 = _mm256_fmadd_ps(v, b0, c40); c41 = _mm256_fmadd_ps(v, b1, c41);
      v = _mm256_broadcast_ss(a5 + s); c50 = _mm256_fmadd_ps(v, b0, c50); c51 = _mm256_fmadd_ps(v, b1, c51);
    }
  }
  _mm256_store_ps(tile + 0 * TN, c00); _mm256_store_ps(tile + 0 * TN + 8, c01);
  _mm256_store_ps(tile + 1 * TN, c10); _mm256_store_ps(tile + 1 * TN + 8, c11);
  _mm256_store_ps(tile + 2 * TN, c20); _mm256_store_ps(tile + 2 * TN + 8, c21);
  _mm256_store_ps(tile + 3 * TN, c30); _mm256_store_ps(tile + 3 * TN + 8, c31);
  _mm256_store_ps(tile + 4 * TN, c40); _mm256_store_ps(tile + 4 * TN + 8, c41);
  _mm256_store_ps(tile + 5 * TN, c50); _mm256_store_ps(tile + 5 * TN + 8, c51);
}

// Two tiles at once, 12 pixels x TN channels (tile holds both, one after the other), with one 512-bit
// accumulator per pixel: twice the multiply-adds per instruction of tile_avx2.
__attribute__((target("avx512f"))) void tile12_avx512(const float* const* a, const Stretch& st, const float* b0_,
                                                     bool accumulate, float* tile) {
  constexpr int R = 2 * TM;
  __m512 c[R];
  for (int r = 0; r < R; r++) c[r] = accumulate ? _mm512_load_ps(tile + r * TN) : _mm512_setzero_ps();
  for (long i = 0; i < st.nrows; i++) {
    const float* ar[R];
    for (int r = 0; r < R; r++) ar[r] = a[r] + i * st.rs;
    const float* b = b0_ + i * st.brs;
    for (long s = 0; s < st.len; s++, b += st.ldb) {
      const __m512 bv = _mm512_loadu_ps(b);
      for (int r = 0; r < R; r++) c[r] = _mm512_fmadd_ps(_mm512_set1_ps(ar[r][s]), bv, c[r]);
    }
  }
  for (int r = 0; r < R; r++) _mm512_store_ps(tile + r * TN, c[r]);
}

// One tile of TM pixels over P panels, P * TN channels (the stretch's rows hold the P panels' 16 floats one
// after the other, ld = P * TN): P 512-bit accumulators per pixel, so each broadcast of an input value feeds P
// multiply-adds and six row pointers stay in registers (tile12_avx512 needs twelve). With four panels, 24
// accumulators, a row of the filter is read once per 24 multiply-adds rather than once per 12. Each channel's
// sum takes its terms in the order of tile_avx2's, so the same bits.
template <int P>
__attribute__((target("avx512f"))) void tile6xP_avx512(const float* const* a, const Stretch& st, const float* b0_,
                                                      bool accumulate, float* tile) {
  constexpr int W = P * TN;
  __m512 c[TM][P];
  for (int r = 0; r < TM; r++)
    for (int p = 0; p < P; p++) c[r][p] = accumulate ? _mm512_load_ps(tile + r * W + p * TN) : _mm512_setzero_ps();
  for (long i = 0; i < st.nrows; i++) {
    const float* ar[TM];
    for (int r = 0; r < TM; r++) ar[r] = a[r] + i * st.rs;
    const float* b = b0_ + i * st.brs;
    for (long s = 0; s < st.len; s++, b += st.ldb) {
      __m512 bv[P];
      for (int p = 0; p < P; p++) bv[p] = _mm512_load_ps(b + p * TN);
      for (int r = 0; r < TM; r++) {
        const __m512 v = _mm512_set1_ps(ar[r][s]);
        for (int p = 0; p < P; p++) c[r][p] = _mm512_fmadd_ps(v, bv[p], c[r][p]);
      }
    }
  }
  for (int r = 0; r < TM; r++)
    for (int p = 0; p < P; p++) _mm512_store_ps(tile + r * W + p * TN, c[r][p]);
}

__attribute__((target("avx2"))) inline __m256i tail_mask(long n) {
  alignas(32) int32_t m[8];
  for (int k = 0; k < 8; k++) m[k] = k < n ? -1 : 0;
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(m));
}

__attribute__((target("avx2,fma"))) inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

template <int CO, int R>
__attribute__((target("avx2,fma"))) void dot_avx2(const float* const* a, long kh, long seg, long rs, const float* wt, long K,
                                                  float* out) {
  __m256 acc[R][CO];
  for (int r = 0; r < R; r++)
    for (int o = 0; o < CO; o++) acc[r][o] = _mm256_setzero_ps();
  const long full = seg & ~7L;
  const __m256i mask = tail_mask(seg - full);
  for (long i = 0; i < kh; i++) {
    for (long s = 0; s < full; s += 8) {
      __m256 wv[CO];
      for (int o = 0; o < CO; o++) wv[o] = _mm256_loadu_ps(wt + o * K + i * seg + s);
      for (int r = 0; r < R; r++) {
        __m256 xv = _mm256_loadu_ps(a[r] + i * rs + s);
        for (int o = 0; o < CO; o++) acc[r][o] = _mm256_fmadd_ps(xv, wv[o], acc[r][o]);
      }
    }
    if (full < seg) {
      __m256 wv[CO];
      for (int o = 0; o < CO; o++) wv[o] = _mm256_maskload_ps(wt + o * K + i * seg + full, mask);
      for (int r = 0; r < R; r++) {
        __m256 xv = _mm256_maskload_ps(a[r] + i * rs + full, mask);
        for (int o = 0; o < CO; o++) acc[r][o] = _mm256_fmadd_ps(xv, wv[o], acc[r][o]);
      }
    }
  }
  for (int r = 0; r < R; r++)
    for (int o = 0; o < CO; o++) out[r * CO + o] = hsum(acc[r][o]);
}

template <int CO, int R>
__attribute__((target("avx2,fma"))) void axpy_avx2(const float* const* a, const float* g, long kh, long seg, long rs, long K,
                                                   float* dwt) {
  __m256 gv[R][CO];
  for (int r = 0; r < R; r++)
    for (int o = 0; o < CO; o++) gv[r][o] = _mm256_set1_ps(g[r * CO + o]);
  const long full = seg & ~7L;
  const __m256i mask = tail_mask(seg - full);
  for (long i = 0; i < kh; i++) {
    for (long s = 0; s < full; s += 8) {
      __m256 d[CO];
      for (int o = 0; o < CO; o++) d[o] = _mm256_loadu_ps(dwt + o * K + i * seg + s);
      for (int r = 0; r < R; r++) {
        __m256 xv = _mm256_loadu_ps(a[r] + i * rs + s);
        for (int o = 0; o < CO; o++) d[o] = _mm256_fmadd_ps(gv[r][o], xv, d[o]);
      }
      for (int o = 0; o < CO; o++) _mm256_storeu_ps(dwt + o * K + i * seg + s, d[o]);
    }
    if (full < seg) {
      __m256 d[CO];
      for (int o = 0; o < CO; o++) d[o] = _mm256_maskload_ps(dwt + o * K + i * seg + full, mask);
      for (int r = 0; r < R; r++) {
        __m256 xv = _mm256_maskload_ps(a[r] + i * rs + full, mask);
        for (int o = 0; o < CO; o++) d[o] = _mm256_fmadd_ps(gv[r][o], xv, d[o]);
      }
      for (int o = 0; o < CO; o++) _mm256_maskstore_ps(dwt + o * K + i * seg + full, mask, d[o]);
    }
  }
}

// acc[r * ldc + j] += sum over pixels m < len of base[m][off[r]] * dyc[m * ldc + j], r < TM, j < TN.
__attribute__((target("avx2,fma"))) void grad_tile_avx2(long len, const float* const* base, const long* off,
                                                        const float* dyc, long ldc, float* acc) {
  __m256 c00 = _mm256_load_ps(acc + 0 * ldc), c01 = _mm256_load_ps(acc + 0 * ldc + 8);
  __m256 c10 = _mm256_load_ps(acc + 1 * ldc), c11 = _mm256_load_ps(acc + 1 * ldc + 8);
  __m256 c20 = _mm256_load_ps(acc + 2 * ldc), c21 = _mm256_load_ps(acc + 2 * ldc + 8);
  __m256 c30 = _mm256_load_ps(acc + 3 * ldc), c31 = _mm256_load_ps(acc + 3 * ldc + 8);
  __m256 c40 = _mm256_load_ps(acc + 4 * ldc), c41 = _mm256_load_ps(acc + 4 * ldc + 8);
  __m256 c50 = _mm256_load_ps(acc + 5 * ldc), c51 = _mm256_load_ps(acc + 5 * ldc + 8);
  const long o0 = off[0], o1 = off[1], o2 = off[2], o3 = off[3], o4 = off[4], o5 = off[5];
  for (long m = 0; m < len; m++, dyc += ldc) {
    const float* x = base[m];
    __m256 b0 = _mm256_load_ps(dyc), b1 = _mm256_load_ps(dyc + 8), v;
    v = _mm256_broadcast_ss(x + o0); c00 = _mm256_fmadd_ps(v, b0, c00); c01 = _mm256_fmadd_ps(v, b1, c01);
    v = _mm256_broadcast_ss(x + o1); c10 = _mm256_fmadd_ps(v, b0, c10); c11 = _mm256_fmadd_ps(v, b1, c11);
    v = _mm256_broadcast_ss(x + o2); c20 = _mm256_fmadd_ps(v, b0, c20); c21 = _mm256_fmadd_ps(v, b1, c21);
    v = _mm256_broadcast_ss(x + o3); c30 = _mm256_fmadd_ps(v, b0, c30); c31 = _mm256_fmadd_ps(v, b1, c31);
    v = _mm256_broadcast_ss(x + o4); c40 = _mm256_fmadd_ps(v, b0, c40); c41 = _mm256_fmadd_ps(v, b1, c41);
    v = _mm256_broadcast_ss(x + o5); c50 = _mm256_fmadd_ps(v, b0, c50); c51 = _mm256_fmadd_ps(v, b1, c51);
  }
  _mm256_store_ps(acc + 0 * ldc, c00); _mm256_store_ps(acc + 0 * ldc + 8, c01);
  _mm256_store_ps(acc + 1 * ldc, c10); _mm256_store_ps(acc + 1 * ldc + 8, c11);
  _mm256_store_ps(acc + 2 * ldc, c20); _mm256_store_ps(acc + 2 * ldc + 8, c21);
  _mm256_store_ps(acc + 3 * ldc, c30); _mm256_store_ps(acc + 3 * ldc + 8, c31);
  _mm256_store_ps(acc + 4 * ldc, c40); _mm256_store_ps(acc + 4 * ldc + 8, c41);
  _mm256_store_ps(acc + 5 * ldc, c50); _mm256_store_ps(acc + 5 * ldc + 8, c51);
}

// grad_tile_avx2 over P * TN columns at once, one 512-bit accumulator per row and panel: per pixel the same
// multiply-adds in the same order, so the same sums, at P times the columns per instruction.
template <int P>
__attribute__((target("avx512f"))) void grad_tileP_avx512(long len, const float* const* base, const long* off,
                                                          const float* dyc, long ldc, float* acc) {
  __m512 c[TM][P];
  long o[TM];
  for (int r = 0; r < TM; r++) {
    for (int p = 0; p < P; p++) c[r][p] = _mm512_load_ps(acc + r * ldc + p * TN);
    o[r] = off[r];
  }
  for (long m = 0; m < len; m++, dyc += ldc) {
    const float* x = base[m];
    __m512 b[P];
    for (int p = 0; p < P; p++) b[p] = _mm512_load_ps(dyc + p * TN);
    for (int r = 0; r < TM; r++) {
      const __m512 v = _mm512_set1_ps(x[o[r]]);
      for (int p = 0; p < P; p++) c[r][p] = _mm512_fmadd_ps(v, b[p], c[r][p]);
    }
  }
  for (int r = 0; r < TM; r++)
    for (int p = 0; p < P; p++) _mm512_store_ps(acc + r * ldc + p * TN, c[r][p]);
}

#endif

#ifdef GANTRY_NEON
// The AVX2 kernels on AArch64's NEON, each with the same multiply-adds in the same order as its AVX2 twin, so
// the same results: 6 pixels x 16 channels is neon_tile.h's tile, an 8-float AVX2 vector two 128-bit ones.

// tile_avx2.
void tile_neon(const float* const* a, const Stretch& st, const float* b0_, bool accumulate, float* tile) {
  neon::Tile6x16 c = accumulate ? neon::Tile6x16::load(tile, TN) : neon::Tile6x16::zero();
  for (long i = 0; i < st.nrows; i++) {
    const float *a0 = a[0] + i * st.rs, *a1 = a[1] + i * st.rs, *a2 = a[2] + i * st.rs;
    const float *a3 = a[3] + i * st.rs, *a4 = a[4] + i * st.rs, *a5 = a[5] + i * st.rs;
    const float* b = b0_ + i * st.brs;
    for (long s = 0; s < st.len; s++, b += st.ldb) c.madd(neon::load16(b), a0 + s, a1 + s, a2 + s, a3 + s, a4 + s, a5 + s);
  }
  c.store(tile, TN);
}

// grad_tile_avx2.
void grad_tile_neon(long len, const float* const* base, const long* off, const float* dyc, long ldc, float* acc) {
  neon::Tile6x16 c = neon::Tile6x16::load(acc, ldc);
  const long o0 = off[0], o1 = off[1], o2 = off[2], o3 = off[3], o4 = off[4], o5 = off[5];
  for (long m = 0; m < len; m++, dyc += ldc) {
    const float* x = base[m];
    c.madd(neon::load16(dyc), x + o0, x + o1, x + o2, x + o3, x + o4, x + o5);
  }
  c.store(acc, ldc);
}

// Eight floats from p, zeros past n (AVX2's masked load).
struct Eight {
  float32x4_t lo, hi;
};
inline Eight load8(const float* p) { return {vld1q_f32(p), vld1q_f32(p + 4)}; }
inline Eight load8(const float* p, long n) {
  alignas(16) float v[8] = {};
  std::memcpy(v, p, sizeof(float) * n);
  return load8(v);
}

// step(i, s, n) for each kernel row i < kh over its seg floats in runs of 8, the last n < 8 long where 8 does
// not divide seg (AVX2's masked tail).
template <typename Step>
void each_run_of_8(long kh, long seg, Step step) {
  const long full = seg & ~7L;
  for (long i = 0; i < kh; i++) {
    for (long s = 0; s < full; s += 8) step(i, s, 8);
    if (full < seg) step(i, full, seg - full);
  }
}

// dot_avx2: each sum in eight lanes, added up as _mm256's halves, then pairs, then the last two.
template <int CO, int R>
void dot_neon(const float* const* a, long kh, long seg, long rs, const float* wt, long K, float* out) {
  Eight acc[R][CO];
  for (int r = 0; r < R; r++)
    for (int o = 0; o < CO; o++) acc[r][o] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)};
  auto step = [&](long i, long s, long n) {
    Eight wv[CO];
    for (int o = 0; o < CO; o++) wv[o] = n == 8 ? load8(wt + o * K + i * seg + s) : load8(wt + o * K + i * seg + s, n);
    for (int r = 0; r < R; r++) {
      const Eight xv = n == 8 ? load8(a[r] + i * rs + s) : load8(a[r] + i * rs + s, n);
      for (int o = 0; o < CO; o++) {
        acc[r][o].lo = vfmaq_f32(acc[r][o].lo, xv.lo, wv[o].lo);
        acc[r][o].hi = vfmaq_f32(acc[r][o].hi, xv.hi, wv[o].hi);
      }
    }
  };
  each_run_of_8(kh, seg, step);
  for (int r = 0; r < R; r++)
    for (int o = 0; o < CO; o++) {
      const float32x4_t h = vaddq_f32(acc[r][o].lo, acc[r][o].hi);
      const float32x2_t p = vadd_f32(vget_low_f32(h), vget_high_f32(h));
      out[r * CO + o] = vget_lane_f32(p, 0) + vget_lane_f32(p, 1);
    }
}

// axpy_avx2.
template <int CO, int R>
void axpy_neon(const float* const* a, const float* g, long kh, long seg, long rs, long K, float* dwt) {
  auto step = [&](long i, long s, long n) {
    Eight d[CO];
    for (int o = 0; o < CO; o++) d[o] = n == 8 ? load8(dwt + o * K + i * seg + s) : load8(dwt + o * K + i * seg + s, n);
    for (int r = 0; r < R; r++) {
      const Eight xv = n == 8 ? load8(a[r] + i * rs + s) : load8(a[r] + i * rs + s, n);
      for (int o = 0; o < CO; o++) {
        const float gv = g[r * CO + o];
        d[o].lo = vfmaq_n_f32(d[o].lo, xv.lo, gv);
        d[o].hi = vfmaq_n_f32(d[o].hi, xv.hi, gv);
      }
    }
    for (int o = 0; o < CO; o++) {
      float* dst = dwt + o * K + i * seg + s;
      if (n == 8) {
        vst1q_f32(dst, d[o].lo);
        vst1q_f32(dst + 4, d[o].hi);
      } else {
        alignas(16) float v[8];
        vst1q_f32(v, d[o].lo);
        vst1q_f32(v + 4, d[o].hi);
        std::memcpy(dst, v, sizeof(float) * n);
      }
    }
  };
  each_run_of_8(kh, seg, step);
}
#endif

void grad_tile_portable(long len, const float* const* base, const long* off, const float* dyc, long ldc, float* acc) {
  for (long m = 0; m < len; m++)
    for (int r = 0; r < TM; r++) {
      float v = base[m][off[r]];
      for (int j = 0; j < TN; j++) acc[r * ldc + j] += v * dyc[m * ldc + j];
    }
}

// Pixels a few-channel kernel takes at once: as many as keep R * CO accumulators in 16 vector registers.
template <int CO>
constexpr int few_rows() {
  return CO <= 2 ? 6 : CO == 3 ? 4 : 3;
}

template <int CO>
void few_channel_conv(const PixelMap& at, long M, const float* wt, long kh, long seg, long rs, long K, float* y) {
  constexpr int R = few_rows<CO>();
  const bool simd = use_simd_tiles();
  const long groups = (M + R - 1) / R;
  parallel_for(groups, [&](long g0, long g1) {
    const float* a[R];
    float out[R * CO];
    for (long g = g0; g < g1; g++) {
      long m0 = g * R;
      int rows = static_cast<int>(std::min<long>(R, M - m0));
      for (int r = 0; r < R; r++) a[r] = at(m0 + (r < rows ? r : 0));
#if defined(GANTRY_X86)
      if (simd) dot_avx2<CO, R>(a, kh, seg, rs, wt, K, out);
      else
#elif defined(GANTRY_NEON)
      if (simd) dot_neon<CO, R>(a, kh, seg, rs, wt, K, out);
      else
#endif
        dot_portable<CO, R>(a, kh, seg, rs, wt, K, out);
      std::memcpy(y + m0 * CO, out, sizeof(float) * rows * CO);
    }
  }, 8);
}

template <int CO>
void few_channel_filter_grad(const PixelMap& at, long M, const float* dy, long kh, long seg, long rs, long K, float* dwt) {
  constexpr int R = few_rows<CO>();
  const bool simd = use_simd_tiles();
  const int threads = pool().size();
  std::vector<std::vector<float>> partial(threads, std::vector<float>(CO * K, 0.0f));
  const long per = (M + threads - 1) / threads;
  pool().run(threads, [&](int t) {
    long m_begin = t * per, m_end = std::min(M, m_begin + per);
    float* acc = partial[t].data();
    const float* a[R];
    float g[R * CO];
    for (long m0 = m_begin; m0 < m_end; m0 += R) {
      int rows = static_cast<int>(std::min<long>(R, m_end - m0));
      for (int r = 0; r < R; r++) {
        a[r] = at(m0 + (r < rows ? r : 0));
        for (int o = 0; o < CO; o++) g[r * CO + o] = r < rows ? dy[(m0 + r) * CO + o] : 0.0f;
      }
#if defined(GANTRY_X86)
      if (simd) axpy_avx2<CO, R>(a, g, kh, seg, rs, K, acc);
      else
#elif defined(GANTRY_NEON)
      if (simd) axpy_neon<CO, R>(a, g, kh, seg, rs, K, acc);
      else
#endif
        axpy_portable<CO, R>(a, g, kh, seg, rs, K, acc);
    }
  });
  std::fill(dwt, dwt + CO * K, 0.0f);
  for (auto& p : partial)
    for (long k = 0; k < CO * K; k++) dwt[k] += p[k];
}

}  // namespace

void valid_conv(const float* xp, long n, long hp, long wp, long cin, const float* w, bool flipped, long kh, long kw,
                long cout, long sh, long sw, float* y, long oh, long ow) {
  const long M = n * oh * ow, seg = kw * cin, rs = wp * cin, K = kh * seg;
  if (M <= 0 || cout <= 0) return;
  const PixelMap at{xp, oh, ow, hp, wp, cin, sh, sw};
  const Filter filter{w, kh, kw, cin, cout, flipped};
  if (cout <= kValidConvFewChannels) {
    std::vector<float> wt(cout * K);
    for (long k = 0; k < K; k++)
      for (long o = 0; o < cout; o++) wt[o * K + k] = filter.at(k, o);
    switch (cout) {
      case 1: few_channel_conv<1>(at, M, wt.data(), kh, seg, rs, K, y); break;
      case 2: few_channel_conv<2>(at, M, wt.data(), kh, seg, rs, K, y); break;
      case 3: few_channel_conv<3>(at, M, wt.data(), kh, seg, rs, K, y); break;
      default: few_channel_conv<4>(at, M, wt.data(), kh, seg, rs, K, y); break;
    }
    return;
  }
  const long panels = (cout + TN - 1) / TN;
  // wide_kernels[P]: a tile over P panels at once (none: one panel a tile).
  TileKernel wide_kernels[kMaxGroup + 1] = {};
#ifdef GANTRY_X86
  const TileKernel kernel = use_avx2_fma() ? tile_avx2 : tile_portable;
  const TileKernel pair_kernel = use_avx512() ? tile12_avx512 : nullptr;
  if (use_avx512()) {
    wide_kernels[2] = tile6xP_avx512<2>;
    wide_kernels[3] = tile6xP_avx512<3>;
    wide_kernels[4] = tile6xP_avx512<4>;
  }
#elif defined(GANTRY_NEON)
  const TileKernel kernel = use_neon() ? tile_neon : tile_portable;
  const TileKernel pair_kernel = nullptr;
#else
  const TileKernel kernel = tile_portable;
  const TileKernel pair_kernel = nullptr;
#endif
  // A task takes a block of tiles over one panel, or over up to kMaxGroup where the wide kernels exist; over
  // two where four would leave fewer than four tasks a thread (a small map: threads idle while one works).
  const long tiles = (M + TM - 1) / TM;
  const long blocks = (tiles + kTilesPerBlock - 1) / kTilesPerBlock;
  long group = wide_kernels[2] ? std::min(panels, kMaxGroup) : 1;
  if (group > 2 && blocks * ((panels + group - 1) / group) < 4L * pool().size()) group = 2;
  const long groups = (panels + group - 1) / group;
  // The tiles read each group's rows as one run of its panels' columns. Over many blocks of tiles the filter is
  // packed so once, for every task to read; over a few (a small map), where a packing pass costs more than the
  // copies, each task copies its stretches of the filter as it is, whose rows are cout floats apart (on a few L1
  // sets). The filter read in place needs whole panels and rows less than a page apart (a TLB miss each).
  const bool in_place = blocks < kPackedBlocks && !flipped && cout % TN == 0 && cout * sizeof(float) < 4096;
  static thread_local AlignedFloats panel_buffer;
  float* packed = in_place ? nullptr : panel_buffer.get(static_cast<size_t>(panels * K * TN));
  if (!in_place) pack_panels(filter, K, group, packed);
  pool().run(static_cast<int>(blocks * groups), [&](int task) {
    const long block = task / groups, p0 = task % groups * group;
    const long width = std::min(group, panels - p0);  // panels this task covers
    const long ldt = width * TN;                        // floats an accumulator row and a packed filter row
    const long j0 = p0 * TN, nr = std::min(ldt, cout - j0);
    const long t0 = block * kTilesPerBlock, t_end = std::min(tiles, t0 + kTilesPerBlock);
    // Flat, so that two consecutive tiles' rows and accumulators are one run for the pair kernel.
    alignas(64) float tiles_acc[kTilesPerBlock * TM * kMaxGroup * TN];
    const float* a[2 * TM];
    const float* starts[kTilesPerBlock * TM];
    for (long t = t0; t < t_end; t++)
      for (int r = 0; r < TM; r++) starts[(t - t0) * TM + r] = at(std::min(t * TM + r, M - 1));
    // A stretch of filter rows stays in L1 while every tile of the block uses it (16 KiB of one panel, 32 KiB
    // of more): the whole filter when it is that small, else one piece of a patch row at a time.
    const long kc = width == 1 ? kKc : 2 * kKc / width;
    const bool whole = K <= kc;
    alignas(64) float stretch[2 * kKc * TN];
    for (long i = 0; i < (whole ? 1 : kh); i++)
      for (long s0 = 0; s0 < (whole ? 1 : seg); s0 += kc) {
        const long rows = whole ? K : std::min(kc, seg - s0);
        const long k0 = i * seg + s0;
        if (in_place)
          for (long k = 0; k < rows; k++) std::memcpy(stretch + k * ldt, w + (k0 + k) * cout + j0, sizeof(float) * ldt);
        const float* b = in_place ? stretch : packed + p0 * K * TN + k0 * ldt;
        const Stretch st = whole ? Stretch{kh, rs, seg, seg * ldt, ldt} : Stretch{1, rs, rows, 0, ldt};
        for (long t = t0; t < t_end;) {
          float* acc = tiles_acc + (t - t0) * TM * ldt;
          if (width > 1) {
            for (int r = 0; r < TM; r++) a[r] = starts[(t - t0) * TM + r] + i * rs + s0;
            wide_kernels[width](a, st, b, i > 0 || s0 > 0, acc);
            t += 1;
            continue;
          }
          // Two tiles together where the pair kernel exists: their rows and accumulators lie one after the other.
          const int pair = pair_kernel && t + 1 < t_end ? 2 : 1;
          for (int r = 0; r < pair * TM; r++) a[r] = starts[(t - t0) * TM + r] + i * rs + s0;
          (pair == 2 ? pair_kernel : kernel)(a, st, b, i > 0 || s0 > 0, acc);
          t += pair;
        }
      }
    for (long t = t0; t < t_end; t++) {
      long m0 = t * TM;
      int rows = static_cast<int>(std::min<long>(TM, M - m0));
      for (int r = 0; r < rows; r++) std::memcpy(y + (m0 + r) * cout + j0, tiles_acc + ((t - t0) * TM + r) * ldt, sizeof(float) * nr);
    }
  });
}

// Per-thread filter-gradient sums kept between calls (256 MB): a large filter's on many threads are freed.
constexpr size_t kKeptPartialFloats = size_t(1) << 26;

void valid_conv_filter_grad(const float* xp, long n, long hp, long wp, long cin, const float* dy, long kh, long kw,
                            long cout, long sh, long sw, long oh, long ow, float* dw) {
  constexpr long kChunk = 256;  // pixels whose dy rows (padded to 16 channels) stay in L1 across the tiles
  const long M = n * oh * ow, seg = kw * cin, rs = wp * cin, K = kh * seg;
  const long Kp = (K + TM - 1) / TM * TM, Cp = (cout + TN - 1) / TN * TN;
  if (M <= 0) {
    std::fill(dw, dw + K * cout, 0.0f);
    return;
  }
  const PixelMap at{xp, oh, ow, hp, wp, cin, sh, sw};
  std::vector<const float*> base(M);
  for (long m = 0; m < M; m++) base[m] = at(m);
  std::vector<long> off(Kp);
  for (long e = 0; e < Kp; e++) off[e] = e < K ? (e / seg) * rs + e % seg : 0;
  // Groups of pixel chunks, each summed into its own accumulator; with fewer chunks than threads (a small
  // feature map) a group's tiles of patch elements are split over threads too, which write disjoint rows.
  const long chunks = (M + kChunk - 1) / kChunk;
  const int threads = static_cast<int>(std::min<long>(pool().size(), chunks));
  const long per = (chunks + threads - 1) / threads;
  const long etiles = Kp / TM;
  const long splits = std::min<long>(etiles, std::max<long>(1, pool().size() / threads));
  const long tiles_per_split = (etiles + splits - 1) / splits;
  // Each thread's sums, kept from call to call up to kKeptPartialFloats in all: fresh ones for a 1024-channel
  // 3x3 filter (38 MB a thread) cost more in page faults than the products summed into them. (A reference,
  // so that the pool's threads see the calling thread's buffers rather than their own thread_local ones.)
  static thread_local std::vector<AlignedFloats> partial_buffers;
  std::vector<AlignedFloats>& partial = partial_buffers;
  if (partial.size() < static_cast<size_t>(threads)) partial.resize(threads);
  for (int t = 0; t < threads; t++) partial[t].get(static_cast<size_t>(Kp * Cp));
  struct Trim {
    std::vector<AlignedFloats>& buffers;
    ~Trim() {
      size_t kept = 0;
      for (auto& b : buffers) kept += b.storage.size();
      if (kept > kKeptPartialFloats) buffers.clear();
    }
  } trim{partial};
#if defined(GANTRY_X86)
  const bool avx2 = use_avx2_fma(), avx512 = use_avx512();
#elif defined(GANTRY_NEON)
  const bool neon = use_neon();
#endif
  pool().run(static_cast<int>(threads * splits), [&](int task) {
    const int t = static_cast<int>(task / splits);
    const long e_begin = (task % splits) * tiles_per_split * TM, e_end = std::min(Kp, e_begin + tiles_per_split * TM);
    float* acc = partial[t].get(static_cast<size_t>(Kp * Cp));
    if (e_begin >= e_end) return;
    std::fill(acc + e_begin * Cp, acc + e_end * Cp, 0.0f);
    static thread_local AlignedFloats dy_buffer;
    float* dyc = dy_buffer.get(static_cast<size_t>(kChunk * Cp));
    for (long ch = t * per; ch < std::min(chunks, (t + 1) * per); ch++) {
      long m0 = ch * kChunk, len = std::min(kChunk, M - m0);
      for (long m = 0; m < len; m++) {
        std::memcpy(dyc + m * Cp, dy + (m0 + m) * cout, sizeof(float) * cout);
        std::fill(dyc + m * Cp + cout, dyc + (m + 1) * Cp, 0.0f);
      }
      for (long e0 = e_begin; e0 < e_end; e0 += TM) {
        long j0 = 0;
#ifdef GANTRY_X86
        if (avx512) {
          for (; j0 + 4 * TN <= Cp; j0 += 4 * TN) grad_tileP_avx512<4>(len, base.data() + m0, off.data() + e0, dyc + j0, Cp, acc + e0 * Cp + j0);
          for (; j0 + 2 * TN <= Cp; j0 += 2 * TN) grad_tileP_avx512<2>(len, base.data() + m0, off.data() + e0, dyc + j0, Cp, acc + e0 * Cp + j0);
        }
#endif
        for (; j0 < Cp; j0 += TN) {
#if defined(GANTRY_X86)
          if (avx2) grad_tile_avx2(len, base.data() + m0, off.data() + e0, dyc + j0, Cp, acc + e0 * Cp + j0);
          else
#elif defined(GANTRY_NEON)
          if (neon) grad_tile_neon(len, base.data() + m0, off.data() + e0, dyc + j0, Cp, acc + e0 * Cp + j0);
          else
#endif
            grad_tile_portable(len, base.data() + m0, off.data() + e0, dyc + j0, Cp, acc + e0 * Cp + j0);
        }
      }
    }
  });
  std::vector<const float*> sums(threads);
  for (int t = 0; t < threads; t++) sums[t] = partial[t].get(static_cast<size_t>(Kp * Cp));
  parallel_for(K, [&](long k0, long k1) {
    for (long k = k0; k < k1; k++)
      for (long o = 0; o < cout; o++) {
        float s = 0.0f;
        for (int t = 0; t < threads; t++) s += sums[t][k * Cp + o];
        dw[k * cout + o] = s;
      }
  }, 64);
}

void valid_conv_filter_grad_few(const float* xp, long n, long hp, long wp, long cin, const float* dy, long kh, long kw,
                                long cout, long sh, long sw, long oh, long ow, float* dw) {
  const long M = n * oh * ow, seg = kw * cin, rs = wp * cin, K = kh * seg;
  const PixelMap at{xp, oh, ow, hp, wp, cin, sh, sw};
  std::vector<float> dwt(cout * K);
  switch (cout) {
    case 1: few_channel_filter_grad<1>(at, M, dy, kh, seg, rs, K, dwt.data()); break;
    case 2: few_channel_filter_grad<2>(at, M, dy, kh, seg, rs, K, dwt.data()); break;
    case 3: few_channel_filter_grad<3>(at, M, dy, kh, seg, rs, K, dwt.data()); break;
    default: few_channel_filter_grad<4>(at, M, dy, kh, seg, rs, K, dwt.data()); break;
  }
  for (long k = 0; k < K; k++)
    for (long o = 0; o < cout; o++) dw[k * cout + o] = dwt[o * K + k];
}

}  // namespace gantry
