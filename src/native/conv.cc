// Convolutions, NHWC. Undilated ones are valid convolutions of the zero-padded input (or, for stride-1
// input gradients, of dy) read in place (valid_conv.cc); the rest, dilated convolutions and strided input
// gradients, go through im2col / col2im + GEMM: an im2col row (one output pixel) is KH*KW runs of C
// contiguous input values, so packing is a few memcpy calls a row, and the GEMM's output is already NHWC.
// Images are processed in chunks so the column buffer stays a few MiB.
#include "conv.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "aligned.h"
#include "gemm.h"
#include "thread_pool.h"
#include "valid_conv.h"

namespace gantry {
namespace {

constexpr long kChunkFloats = 1L << 21;  // 8 MiB of im2col columns per chunk

long images_per_chunk(const ConvGeom& g) {
  long per_image = g.rows() * g.cols();
  return std::max<long>(1, std::min<long>(g.n, kChunkFloats / std::max<long>(per_image, 1)));
}

bool is_pointwise(const ConvGeom& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pad_top == 0 && g.pad_left == 0 && g.oh == g.h &&
         g.ow == g.w;
}

// cols[(img * OH + oh) * OW + ow, (kh * KW + kw) * C + c] = x[img, ih, iw, c] or 0 outside.
void im2col(const ConvGeom& g, const float* x, long images, float* cols) {
  const long rows = images * g.rows();
  const long ncols = g.cols();
  parallel_for(rows, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      long img = r / g.rows(), p = r % g.rows();
      long oh = p / g.ow, ow = p % g.ow;
      const float* xi = x + img * g.h * g.w * g.c;
      float* dst = cols + r * ncols;
      for (long i = 0; i < g.kh; i++) {
        long ih = oh * g.sh - g.pad_top + i * g.dh;
        for (long j = 0; j < g.kw; j++, dst += g.c) {
          long iw = ow * g.sw - g.pad_left + j * g.dw;
          if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) {
            std::memset(dst, 0, sizeof(float) * g.c);
          } else {
            std::memcpy(dst, xi + (ih * g.w + iw) * g.c, sizeof(float) * g.c);
          }
        }
      }
    }
  }, 16);
}

// dx[img, ih, iw, c] += cols[...]: the adjoint of im2col. Parallel over images, which never overlap;
// with fewer images than threads (batch 1), over blocks of channels, which never overlap either.
void col2im(const ConvGeom& g, const float* cols, long images, float* dx) {
  const long ncols = g.cols();
  auto one_image = [&](long img, long c0, long c1) {
    float* xi = dx + img * g.h * g.w * g.c;
    for (long oh = 0; oh < g.oh; oh++)
      for (long ow = 0; ow < g.ow; ow++) {
        const float* src = cols + ((img * g.oh + oh) * g.ow + ow) * ncols;
        for (long i = 0; i < g.kh; i++) {
          long ih = oh * g.sh - g.pad_top + i * g.dh;
          for (long j = 0; j < g.kw; j++, src += g.c) {
            long iw = ow * g.sw - g.pad_left + j * g.dw;
            if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) continue;
            float* d = xi + (ih * g.w + iw) * g.c;
            for (long c = c0; c < c1; c++) d[c] += src[c];
          }
        }
      }
  };
  if (images >= pool().size()) {
    parallel_for(images, [&](long a, long b) {
      for (long img = a; img < b; img++) one_image(img, 0, g.c);
    });
  } else {
    for (long img = 0; img < images; img++) parallel_for(g.c, [&](long c0, long c1) { one_image(img, c0, c1); }, 8);
  }
}

// x [n, h, w, c] placed at (top, left) in a zero [n, hp, wp, c] (rows and columns past hp, wp dropped).
// Without offsets or padding, x itself, read with its own row length. Each row of the result is written once,
// its zeros and its copied part together, on the pool's threads.
struct Placed {
  const float* data;
  long hp, wp;
};
Placed place(const float* x, long n, long h, long w, long c, long top, long left, long hp, long wp,
             AlignedFloats& buffer) {
  if (top == 0 && left == 0 && hp <= h && wp <= w) return {x, h, w};
  float* out = buffer.get(static_cast<size_t>(n * hp * wp * c));
  const long s0 = std::max<long>(0, left), s1 = std::max(s0, std::min<long>(wp, w + left));
  parallel_for(n * hp, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      float* row = out + r * wp * c;
      const long img = r / hp, ih = r % hp - top;
      if (ih < 0 || ih >= h || s0 == s1) {
        std::memset(row, 0, sizeof(float) * wp * c);
        continue;
      }
      std::memset(row, 0, sizeof(float) * s0 * c);
      std::memcpy(row + s0 * c, x + ((img * h + ih) * w + s0 - left) * c, sizeof(float) * (s1 - s0) * c);
      std::memset(row + s1 * c, 0, sizeof(float) * (wp - s1) * c);
    }
  }, 16);
  return {out, hp, wp};
}
thread_local AlignedFloats place_buffer;

// The extent of input a valid convolution reads for an output of oh x ow.
long reach(long out, long stride, long k) { return (out - 1) * stride + k; }

thread_local AlignedFloats col_buffer;

constexpr long kFilterGradFewPixels = 256;
bool in_place_filter_grad_forced = false;

}  // namespace

void force_in_place_filter_grad(bool on) { in_place_filter_grad_forced = on; }

void conv2d_forward(const ConvGeom& g, const float* x, const float* w, float* y) {
  const long K = g.cols();
  if (is_pointwise(g)) {
    sgemm(false, false, g.n * g.rows(), g.oc, K, 1.0f, x, K, w, g.oc, 0.0f, y, g.oc);
    return;
  }
  if (g.dh == 1 && g.dw == 1) {
    Placed xp = place(x, g.n, g.h, g.w, g.c, g.pad_top, g.pad_left, reach(g.oh, g.sh, g.kh), reach(g.ow, g.sw, g.kw), place_buffer);
    valid_conv(xp.data, g.n, xp.hp, xp.wp, g.c, w, false, g.kh, g.kw, g.oc, g.sh, g.sw, y, g.oh, g.ow);
    return;
  }
  const long chunk = images_per_chunk(g);
  float* cols = col_buffer.get(static_cast<size_t>(chunk * g.rows() * K));
  for (long n0 = 0; n0 < g.n; n0 += chunk) {
    long images = std::min(chunk, g.n - n0);
    im2col(g, x + n0 * g.h * g.w * g.c, images, cols);
    sgemm(false, false, images * g.rows(), g.oc, K, 1.0f, cols, K, w, g.oc, 0.0f, y + n0 * g.rows() * g.oc, g.oc);
  }
}

void conv2d_backprop_input(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  const long K = g.cols();
  if (is_pointwise(g)) {
    sgemm(false, true, g.n * g.rows(), K, g.oc, 1.0f, dy, g.oc, w, g.oc, 0.0f, dx, K);
    return;
  }
  if (g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.pad_top < g.kh && g.pad_left < g.kw) {
    // Stride 1: dx is the valid convolution of dy, offset by (kh - 1 - top, kw - 1 - left), with the filter
    // turned half a circle and its channel axes swapped.
    Placed dyp = place(dy, g.n, g.oh, g.ow, g.oc, g.kh - 1 - g.pad_top, g.kw - 1 - g.pad_left, g.h + g.kh - 1,
                       g.w + g.kw - 1, place_buffer);
    valid_conv(dyp.data, g.n, dyp.hp, dyp.wp, g.oc, w, true, g.kh, g.kw, g.c, 1, 1, dx, g.h, g.w);
    return;
  }
  std::memset(dx, 0, sizeof(float) * g.n * g.h * g.w * g.c);
  const long chunk = images_per_chunk(g);
  float* cols = col_buffer.get(static_cast<size_t>(chunk * g.rows() * K));
  for (long n0 = 0; n0 < g.n; n0 += chunk) {
    long images = std::min(chunk, g.n - n0);
    // cols = dy_chunk [rows, OC] x W^T [OC, K]
    sgemm(false, true, images * g.rows(), K, g.oc, 1.0f, dy + n0 * g.rows() * g.oc, g.oc, w, g.oc, 0.0f, cols, K);
    col2im(g, cols, images, dx + n0 * g.h * g.w * g.c);
  }
}

void conv2d_backprop_filter(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  const long K = g.cols();
  // A 1x1 convolution's filter gradient is one product x^T dy over every pixel: sgemm runs it as a few-column
  // product with a long sum, a pass (and two waits for its threads) per 256 pixels, where the in-place tiles
  // sum a chunk of pixels per thread with one wait (bench/convs.ts --set dfgan). Without AVX2 or NEON the
  // tiles are plain loops, and sgemm keeps it.
  if (is_pointwise(g) && !use_simd_tiles()) {
    sgemm(true, false, K, g.oc, g.n * g.rows(), 1.0f, x, K, dy, g.oc, 0.0f, dw, g.oc);
    return;
  }
  // Few output pixels to sum over (a batch of 4x4 maps, one image's 4x8 to 8x16 maps of 256-512 channels)
  // leave the in-place tiles bound by their scattered loads; unfolded patches go through sgemm's packed
  // panels (bench/conv-filter-grad.ts: 1.4-2.8x at 32-256 pixels; from 512 on the in-place tiles win).
  const bool few_pixels = g.n * g.rows() <= kFilterGradFewPixels && g.oc > kValidConvFewChannels && !in_place_filter_grad_forced;
  if (g.dh == 1 && g.dw == 1 && !few_pixels) {
    Placed xp = place(x, g.n, g.h, g.w, g.c, g.pad_top, g.pad_left, reach(g.oh, g.sh, g.kh), reach(g.ow, g.sw, g.kw), place_buffer);
    (g.oc <= kValidConvFewChannels ? valid_conv_filter_grad_few : valid_conv_filter_grad)(
        xp.data, g.n, xp.hp, xp.wp, g.c, dy, g.kh, g.kw, g.oc, g.sh, g.sw, g.oh, g.ow, dw);
    return;
  }
  const long chunk = images_per_chunk(g);
  float* cols = col_buffer.get(static_cast<size_t>(chunk * g.rows() * K));
  for (long n0 = 0; n0 < g.n; n0 += chunk) {
    long images = std::min(chunk, g.n - n0);
    im2col(g, x + n0 * g.h * g.w * g.c, images, cols);
    // dw [K, OC] (+)= cols^T [K, rows] x dy_chunk [rows, OC]
    sgemm(true, false, K, g.oc, images * g.rows(), 1.0f, cols, K, dy + n0 * g.rows() * g.oc, g.oc,
          n0 == 0 ? 0.0f : 1.0f, dw, g.oc);
  }
}

}  // namespace gantry
