// Fused element-wise and per-channel kernels: the steps of a training loop that tfjs would otherwise
// run as chains of broadcasting ops (batch norm and its gradient, activation gradients, Adam).
// Channels are the innermost (NHWC) dimension throughout.
#include "ops.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "linalg.h"
#include "napi_call.h"
#include "tanh.h"
#include "thread_pool.h"

namespace gantry {
namespace {

// Per-channel sums over rows, with one partial sum per thread combined in double precision.
template <typename RowFn>
void channel_reduce(long rows, long C, int outputs, std::vector<double>& result, RowFn fn) {
  int threads = pool().size();
  std::vector<std::vector<double>> partial(threads, std::vector<double>(outputs * C, 0.0));
  long per = (rows + threads - 1) / threads;
  pool().run(threads, [&](int t) {
    long r0 = t * per, r1 = std::min(rows, r0 + per);
    std::vector<double>& acc = partial[t];
    std::vector<float> local(outputs * C);
    // Accumulate blocks of rows in float, then add to double, so float error stays bounded.
    for (long b = r0; b < r1; b += 64) {
      std::fill(local.begin(), local.end(), 0.0f);
      long be = std::min(r1, b + 64);
      for (long r = b; r < be; r++) fn(r, local.data());
      for (int k = 0; k < outputs * C; k++) acc[k] += local[k];
    }
  });
  result.assign(outputs * C, 0.0);
  for (auto& p : partial)
    for (int k = 0; k < outputs * C; k++) result[k] += p[k];
}

// Per-channel mean and biased variance of rows x C values (two passes: the variance from the deviations).
void channel_moments(long rows, long C, const float* x, float* mean, float* var) {
  std::vector<double> sums;
  channel_reduce(rows, C, 1, sums, [&](long r, float* acc) {
    const float* xr = x + r * C;
    for (long c = 0; c < C; c++) acc[c] += xr[c];
  });
  for (long c = 0; c < C; c++) mean[c] = static_cast<float>(sums[c] / rows);
  channel_reduce(rows, C, 1, sums, [&](long r, float* acc) {
    const float* xr = x + r * C;
    for (long c = 0; c < C; c++) {
      float d = xr[c] - mean[c];
      acc[c] += d * d;
    }
  });
  for (long c = 0; c < C; c++) var[c] = static_cast<float>(sums[c] / rows);
}

}  // namespace

// Training-mode batch norm. mean and var (biased) are outputs, for the running statistics.
void batch_norm_forward(long rows, long C, const float* x, const float* gamma, const float* beta, float eps, float* y,
                        float* mean_out, float* var_out) {
  std::vector<float> mean(C), variance(C);
  channel_moments(rows, C, x, mean.data(), variance.data());
  std::vector<float> scale(C), shift(C);
  for (long c = 0; c < C; c++) {
    float var = variance[c];
    mean_out[c] = mean[c];
    var_out[c] = var;
    scale[c] = gamma[c] / std::sqrt(var + eps);
    shift[c] = beta[c] - mean[c] * scale[c];
  }
  parallel_for(rows, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      const float* xr = x + r * C;
      float* yr = y + r * C;
      for (long c = 0; c < C; c++) yr[c] = xr[c] * scale[c] + shift[c];
    }
  });
}

// Gradient of training-mode batch norm with respect to x, gamma and beta.
void batch_norm_backward(long rows, long C, const float* dy, const float* x, const float* gamma, const float* mean,
                         const float* var, float eps, float* dx, float* dgamma, float* dbeta) {
  std::vector<float> rstd(C);
  for (long c = 0; c < C; c++) rstd[c] = 1.0f / std::sqrt(var[c] + eps);
  std::vector<double> sums;  // [sum dy, sum dy * xhat]
  channel_reduce(rows, C, 2, sums, [&](long r, float* acc) {
    const float* dyr = dy + r * C;
    const float* xr = x + r * C;
    for (long c = 0; c < C; c++) {
      acc[c] += dyr[c];
      acc[C + c] += dyr[c] * (xr[c] - mean[c]) * rstd[c];
    }
  });
  std::vector<float> k1(C), k2(C), k3(C);
  for (long c = 0; c < C; c++) {
    dbeta[c] = static_cast<float>(sums[c]);
    dgamma[c] = static_cast<float>(sums[C + c]);
    // dx = gamma * rstd * (dy - dbeta / rows - xhat * dgamma / rows)
    k1[c] = gamma[c] * rstd[c];
    k2[c] = static_cast<float>(sums[c] / rows);
    k3[c] = static_cast<float>(sums[C + c] / rows) * rstd[c];
  }
  parallel_for(rows, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      const float* dyr = dy + r * C;
      const float* xr = x + r * C;
      float* dxr = dx + r * C;
      for (long c = 0; c < C; c++) dxr[c] = k1[c] * (dyr[c] - k2[c] - (xr[c] - mean[c]) * k3[c]);
    }
  });
}

// The elementwise loops read the closure's pointers and scalars into locals (a float store may alias a
// member of the closure, which would then be reloaded each iteration) and load each input once: then GCC
// vectorizes their selects as blends (with -fno-trapping-math).

// y = x where x > 0, alpha * x elsewhere; ReLU (alpha = 0) gives +0, as tfjs does, not -0.
void leaky_relu(long n, const float* x, float alpha, float* y) {
  parallel_for(n, [=](long a, long b) {
    const float* in = x;
    float* out = y;
    const float k = alpha;
    if (k == 0.0f) {
      for (long i = a; i < b; i++) {
        float v = in[i];
        out[i] = v > 0.0f ? v : 0.0f;
      }
    } else {
      for (long i = a; i < b; i++) {
        float v = in[i];
        out[i] = v > 0.0f ? v : k * v;
      }
    }
  }, 1 << 15);
}

// dx = dy where x > 0, alpha * dy elsewhere (ReLU is alpha = 0).
void leaky_relu_grad(long n, const float* dy, const float* x, float alpha, float* dx) {
  parallel_for(n, [=](long a, long b) {
    const float* d = dy;
    const float* in = x;
    float* out = dx;
    const float k = alpha;
    for (long i = a; i < b; i++) {
      float g = d[i];
      out[i] = in[i] > 0.0f ? g : k * g;
    }
  }, 1 << 15);
}

// y = tanh(x), elementwise.
void tanh_values(long n, const float* x, float* y) {
  parallel_for(n, [=](long a, long b) {
    const float* in = x;
    float* out = y;
    for (long i = a; i < b; i++) out[i] = tanh_float(in[i]);
  }, 1 << 15);
}

// 2-D max or average pooling, NHWC. Average pooling divides by the number of window pixels inside the
// image (TensorFlow's and tfjs's convention; PyTorch's count_include_pad=False). Max ignores padding.
// geometry: [n, h, w, c, kh, kw, oh, ow, sh, sw, pad_top, pad_left]
void pool2d(bool is_max, const int32_t* g, const float* x, float* y) {
  long n = g[0], h = g[1], w = g[2], c = g[3], kh = g[4], kw = g[5], oh = g[6], ow = g[7], sh = g[8], sw = g[9],
       pt = g[10], pl = g[11];
  parallel_for(n * oh, [&](long r0, long r1) {
    std::vector<float> acc(c);
    for (long r = r0; r < r1; r++) {
      long img = r / oh, oy = r % oh;
      for (long ox = 0; ox < ow; ox++) {
        std::fill(acc.begin(), acc.end(), is_max ? -INFINITY : 0.0f);
        long count = 0;
        for (long i = 0; i < kh; i++) {
          long iy = oy * sh - pt + i;
          if (iy < 0 || iy >= h) continue;
          for (long j = 0; j < kw; j++) {
            long ix = ox * sw - pl + j;
            if (ix < 0 || ix >= w) continue;
            const float* src = x + ((img * h + iy) * w + ix) * c;
            if (is_max) {
              for (long k = 0; k < c; k++) acc[k] = std::max(acc[k], src[k]);
            } else {
              for (long k = 0; k < c; k++) acc[k] += src[k];
            }
            count++;
          }
        }
        float* dst = y + ((img * oh + oy) * ow + ox) * c;
        if (is_max) {
          for (long k = 0; k < c; k++) dst[k] = acc[k];
        } else {
          float inv = count ? 1.0f / count : 0.0f;
          for (long k = 0; k < c; k++) dst[k] = acc[k] * inv;
        }
      }
    }
  });
}

// In place: y = act(y + bias[channel]); act 0 linear, 1 relu, 2 relu6, 3 leaky relu (alpha), 4 elu, 5 sigmoid.
void bias_activation(long rows, long c, float* y, const float* bias, int act, float alpha) {
  parallel_for(rows, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      float* yr = y + r * c;
      if (bias)
        for (long k = 0; k < c; k++) yr[k] += bias[k];
      switch (act) {
        case 1: for (long k = 0; k < c; k++) yr[k] = yr[k] > 0.0f ? yr[k] : 0.0f; break;
        case 2: for (long k = 0; k < c; k++) yr[k] = std::min(6.0f, std::max(0.0f, yr[k])); break;
        case 3: for (long k = 0; k < c; k++) yr[k] = yr[k] > 0.0f ? yr[k] : alpha * yr[k]; break;
        case 4: for (long k = 0; k < c; k++) yr[k] = yr[k] > 0.0f ? yr[k] : std::expm1(yr[k]); break;
        case 5: for (long k = 0; k < c; k++) yr[k] = 1.0f / (1.0f + std::exp(-yr[k])); break;
        default: break;
      }
    }
  }, 64);
}

// torch.optim.Adam's update, fused: new param, m and v written to the out arrays.
void adam_update(long n, const float* p, const float* g, const float* m, const float* v, float lr, float beta1,
                 float beta2, float eps, float bc1, float bc2, float* p_out, float* m_out, float* v_out) {
  const float step = lr / bc1;
  const float inv_sqrt_bc2 = 1.0f / std::sqrt(bc2);
  parallel_for(n, [&](long a, long b) {
    for (long i = a; i < b; i++) {
      float mi = beta1 * m[i] + (1.0f - beta1) * g[i];
      float vi = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
      m_out[i] = mi;
      v_out[i] = vi;
      p_out[i] = p[i] - step * mi / (std::sqrt(vi) * inv_sqrt_bc2 + eps);
    }
  }, 1 << 14);
}

// DF-GAN's Affine, NHWC: y = x * gamma + beta with gamma, beta [n, C] (float32 operations, as the
// broadcasting multiply and add give it). The gradient: dx = dy * gamma; per image and channel dgamma =
// sum of dy * x (each product rounded to float32, as the multiply gives it) and dbeta = sum of dy, both
// in double, pixels in order (as the broadcasting sums add them).
void affine_forward(long n, long area, long C, const float* x, const float* gamma, const float* beta, float* y) {
  parallel_for(n * area, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      const float* g = gamma + (r / area) * C;
      const float* b = beta + (r / area) * C;
      for (long c = 0; c < C; c++) y[r * C + c] = x[r * C + c] * g[c] + b[c];
    }
  }, std::max<long>(1, (1 << 14) / std::max<long>(C, 1)));
}

void affine_backward(long n, long area, long C, const float* dy, const float* x, const float* gamma, float* dx, float* dgamma,
                     float* dbeta) {
  parallel_for(n * area, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      const float* g = gamma + (r / area) * C;
      for (long c = 0; c < C; c++) dx[r * C + c] = dy[r * C + c] * g[c];
    }
  }, std::max<long>(1, (1 << 14) / std::max<long>(C, 1)));
  parallel_for(n, [&](long s0, long s1) {
    std::vector<double> sg(C), sb(C);
    for (long s = s0; s < s1; s++) {
      std::fill(sg.begin(), sg.end(), 0.0);
      std::fill(sb.begin(), sb.end(), 0.0);
      for (long p = 0; p < area; p++) {
        const long at = (s * area + p) * C;
        for (long c = 0; c < C; c++) {
          sg[c] += dy[at + c] * x[at + c];
          sb[c] += dy[at + c];
        }
      }
      for (long c = 0; c < C; c++) dgamma[s * C + c] = static_cast<float>(sg[c]), dbeta[s * C + c] = static_cast<float>(sb[c]);
    }
  });
}

// pix2pixHD's per-image ops, NHWC. Instance norm (no affine): y = (x - mean) * inv_std per image and channel,
// the variance biased, as torch.nn.InstanceNorm2d; inv_std [n, C] is kept for the gradient.
void instance_norm_forward(long n, long area, long C, const float* x, float eps, float* y, float* inv_std) {
  std::vector<float> mean(C), var(C), rstd(C);
  for (long s = 0; s < n; s++) {
    const float* xs = x + s * area * C;
    float* ys = y + s * area * C;
    channel_moments(area, C, xs, mean.data(), var.data());
    for (long c = 0; c < C; c++) inv_std[s * C + c] = rstd[c] = 1.0f / std::sqrt(var[c] + eps);
    parallel_for(area, [&](long r0, long r1) {
      for (long r = r0; r < r1; r++)
        for (long c = 0; c < C; c++) ys[r * C + c] = (xs[r * C + c] - mean[c]) * rstd[c];
    }, 256);
  }
}

// dx = inv_std * (dy - mean(dy) - y * mean(dy * y)), means over each image's pixels, per channel.
void instance_norm_backward(long n, long area, long C, const float* dy, const float* y, const float* inv_std, float* dx) {
  std::vector<double> sums;
  std::vector<float> mdy(C), mdyy(C);
  for (long s = 0; s < n; s++) {
    const long base = s * area * C;
    channel_reduce(area, C, 2, sums, [&](long r, float* acc) {
      const float* g = dy + base + r * C;
      const float* v = y + base + r * C;
      for (long c = 0; c < C; c++) {
        acc[c] += g[c];
        acc[C + c] += g[c] * v[c];
      }
    });
    for (long c = 0; c < C; c++) {
      mdy[c] = static_cast<float>(sums[c] / area);
      mdyy[c] = static_cast<float>(sums[C + c] / area);
    }
    const float* rstd = inv_std + s * C;
    parallel_for(area, [&](long r0, long r1) {
      for (long i = base + r0 * C; i < base + r1 * C; i += C)
        for (long c = 0; c < C; c++) dx[i + c] = rstd[c] * (dy[i + c] - mdy[c] - y[i + c] * mdyy[c]);
    }, 256);
  }
}

namespace {
// Index in the unpadded axis of padded coordinate i: mirrored at the edges without repeating them.
inline long reflect(long i, long p, long size) {
  long j = i - p;
  return j < 0 ? -j : j >= size ? 2 * (size - 1) - j : j;
}
}  // namespace

// Reflection padding by p (y [n, h + 2p, w + 2p, c]), or its adjoint: dst [n, h, w, c], zeroed by the
// caller, accumulates every padded pixel that mirrors it. Parallel over the rows written.
void reflection_pad(bool adjoint, long n, long h, long w, long c, long p, const float* src, float* dst) {
  const long H = h + 2 * p, W = w + 2 * p;
  if (!adjoint) {
    parallel_for(n * H, [&](long r0, long r1) {
      for (long r = r0; r < r1; r++) {
        const float* from = src + ((r / H) * h + reflect(r % H, p, h)) * w * c;
        float* to = dst + r * W * c;
        for (long j = 0; j < W; j++) std::memcpy(to + j * c, from + reflect(j, p, w) * c, sizeof(float) * c);
      }
    }, 4);
    return;
  }
  parallel_for(n * h, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      long img = r / h, row = r % h;
      float* to = dst + r * w * c;
      long rows[3] = {row + p, p - row, p + 2 * (h - 1) - row};
      for (int k = 0; k < 3; k++) {
        long i = rows[k];
        if (i < 0 || i >= H || reflect(i, p, h) != row || (k > 0 && i == rows[0]) || (k == 2 && i == rows[1])) continue;
        const float* from = src + (img * H + i) * W * c;
        for (long j = 0; j < W; j++) {
          float* d = to + reflect(j, p, w) * c;
          const float* s = from + j * c;
          for (long q = 0; q < c; q++) d[q] += s[q];
        }
      }
    }
  }, 4);
}

// The gradient of pix2pixHD's 3x3 stride-2 average pooling with padding 1 that counts only in-image pixels
// (pool2d's average over [n, h, w, c]): dy [n, (h-1)/2+1, (w-1)/2+1, c] spread into dst [n, h, w, c], zeroed by
// the caller. Parallel over the rows written.
void avg_pool_3x3s2_grad(long n, long h, long w, long c, const float* src, float* dst) {
  const long oh = (h - 1) / 2 + 1, ow = (w - 1) / 2 + 1;
  auto span = [](long o, long size, long& a, long& b) {
    a = std::max<long>(0, 2 * o - 1);
    b = std::min<long>(size - 1, 2 * o + 1);
  };
  parallel_for(n * h, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      long img = r / h, y = r % h;
      float* to = dst + r * w * c;
      for (long oy = std::max<long>(0, y / 2 - 1); oy <= std::min(oh - 1, y / 2 + 1); oy++) {
        long y0, y1;
        span(oy, h, y0, y1);
        if (y < y0 || y > y1) continue;
        for (long ox = 0; ox < ow; ox++) {
          long x0, x1;
          span(ox, w, x0, x1);
          float scale = 1.0f / static_cast<float>((y1 - y0 + 1) * (x1 - x0 + 1));
          const float* s = src + ((img * oh + oy) * ow + ox) * c;
          for (long x = x0; x <= x1; x++)
            for (long q = 0; q < c; q++) to[x * c + q] += s[q] * scale;
        }
      }
    }
  }, 2);
}

// AvgPool's gradient where the windows tile the input (stride = window, no padding; DF-GAN's 2x2 pools): each
// input takes its window's dy times 1 / window area, the product in double as tfjs's kernel rounds it; rows and
// columns past the last whole window get zeros. geometry: [n, h, w, c, fh, fw, oh, ow]. Parallel over rows.
void avg_pool_tiles_grad(const int32_t* g, const float* dy, float* dx) {
  const long n = g[0], h = g[1], w = g[2], c = g[3], fh = g[4], fw = g[5], oh = g[6], ow = g[7];
  const double scale = 1.0 / static_cast<double>(fh * fw);
  parallel_for(n * h, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++) {
      const long img = r / h, y = r % h, oy = y / fh;
      float* to = dx + r * w * c;
      if (oy >= oh) {
        std::memset(to, 0, sizeof(float) * w * c);
        continue;
      }
      for (long x = 0; x < w; x++) {
        const long ox = x / fw;
        if (ox >= ow) {
          std::memset(to + x * c, 0, sizeof(float) * c);
          continue;
        }
        const float* from = dy + ((img * oh + oy) * ow + ox) * c;
        for (long q = 0; q < c; q++) to[x * c + q] = static_cast<float>(static_cast<double>(from[q]) * scale);
      }
    }
  }, 2);
}

// MaxPool's gradient (geometry as pool2d): each output's gradient goes to the first largest input of its window
// in scan order (tfjs's choice), summed in double where windows overlap. Parallel over channels.
void max_pool_grad(const int32_t* g, const float* x, const float* dy, float* dx) {
  long n = g[0], h = g[1], w = g[2], c = g[3], kh = g[4], kw = g[5], oh = g[6], ow = g[7], sh = g[8], sw = g[9],
       pt = g[10], pl = g[11];
  // Windows that do not overlap (VGG's 2x2 / 2): each input gets at most one term, stored as it is. A
  // window's positions are scanned for all channels at once (the channel loops vectorise).
  if (sh >= kh && sw >= kw) {
    parallel_for(n * h * w * c, [&](long i0, long i1) { std::memset(dx + i0, 0, sizeof(float) * (i1 - i0)); }, 1 << 14);
    parallel_for(n * oh, [&](long r0, long r1) {
      std::vector<float> best_value(static_cast<size_t>(c));
      std::vector<long> best(static_cast<size_t>(c));
      for (long r = r0; r < r1; r++) {
        long b = r / oh, oy = r % oh, y0 = oy * sh - pt;
        for (long ox = 0; ox < ow; ox++) {
          long x0 = ox * sw - pl;
          bool first = true;
          for (long fy = std::max<long>(0, -y0); fy < kh && y0 + fy < h; fy++)
            for (long fx = std::max<long>(0, -x0); fx < kw && x0 + fx < w; fx++) {
              const long at = ((b * h + y0 + fy) * w + x0 + fx) * c;
              const float* xs = x + at;
              if (first) {
                for (long ch = 0; ch < c; ch++) best_value[ch] = xs[ch], best[ch] = at;
                first = false;
              } else {
                for (long ch = 0; ch < c; ch++) {
                  bool more = xs[ch] > best_value[ch];
                  best_value[ch] = more ? xs[ch] : best_value[ch];
                  best[ch] = more ? at : best[ch];
                }
              }
            }
          if (first) continue;
          const float* g = dy + ((b * oh + oy) * ow + ox) * c;
          for (long ch = 0; ch < c; ch++) dx[best[ch] + ch] = g[ch];
        }
      }
    }, 1);
    return;
  }
  std::vector<double> acc(static_cast<size_t>(n * h * w * c), 0.0);
  parallel_for(c, [&](long c0, long c1) {
    for (long b = 0; b < n; b++)
      for (long oy = 0; oy < oh; oy++)
        for (long ox = 0; ox < ow; ox++) {
          long y0 = oy * sh - pt, x0 = ox * sw - pl;
          for (long ch = c0; ch < c1; ch++) {
            long best = -1;
            float best_value = 0.0f;
            for (long fy = std::max<long>(0, -y0); fy < kh && y0 + fy < h; fy++)
              for (long fx = std::max<long>(0, -x0); fx < kw && x0 + fx < w; fx++) {
                long i = ((b * h + y0 + fy) * w + x0 + fx) * c + ch;
                if (best < 0 || x[i] > best_value) {
                  best_value = x[i];
                  best = i;
                }
              }
            if (best >= 0) acc[best] += dy[((b * oh + oy) * ow + ox) * c + ch];
          }
        }
  }, 1);
  parallel_for(n * h * w * c, [&](long i0, long i1) {
    for (long i = i0; i < i1; i++) dx[i] = static_cast<float>(acc[i]);
  }, 1 << 14);
}

// rows of `width` floats from src (rows `src_row` apart, from src_offset) to dst (dst_row, dst_offset): concat
// and split along the last axis.
void copy_rows(long rows, long width, const float* src, long src_row, long src_offset, float* dst, long dst_row,
               long dst_offset) {
  parallel_for(rows, [&](long r0, long r1) {
    for (long r = r0; r < r1; r++)
      std::memcpy(dst + r * dst_row + dst_offset, src + r * src_row + src_offset, sizeof(float) * width);
  }, std::max<long>(1, (1 << 14) / std::max<long>(width, 1)));
}

namespace {

// copyRows(rows, width, src, srcRow, srcOffset, dst, dstRow, dstOffset)
napi_value CopyRows(napi_env env, napi_callback_info info) {
  Call c(env, info, 8);
  long rows = static_cast<long>(c.num(0)), width = static_cast<long>(c.num(1));
  long src_row = static_cast<long>(c.num(3)), src_offset = static_cast<long>(c.num(4));
  long dst_row = static_cast<long>(c.num(6)), dst_offset = static_cast<long>(c.num(7));
  if (c.ok && (width < 0 || src_offset + width > src_row || dst_offset + width > dst_row)) c.fail("copyRows: a row's values must fit in its row");
  const float* src = c.f32(2, rows > 0 ? (rows - 1) * src_row + src_offset + width : 0, "src");
  float* dst = c.f32(5, rows > 0 ? (rows - 1) * dst_row + dst_offset + width : 0, "dst");
  if (c.ok) copy_rows(rows, width, src, src_row, src_offset, dst, dst_row, dst_offset);
  return nullptr;
}

// maxPoolGrad(geometry Int32Array[12], x, dy, dx)
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  Call c(env, info, 4);
  const int32_t* g = c.i32(0, 12, "geometry");
  if (!c.ok) return nullptr;
  long in_len = static_cast<long>(g[0]) * g[1] * g[2] * g[3], out_len = static_cast<long>(g[0]) * g[6] * g[7] * g[3];
  const float* x = c.f32(1, in_len, "x");
  const float* dy = c.f32(2, out_len, "dy");
  float* dx = c.f32(3, in_len, "dx");
  if (c.ok) max_pool_grad(g, x, dy, dx);
  return nullptr;
}

// affine(n, area, C, x, gamma, beta, y)
napi_value Affine(napi_env env, napi_callback_info info) {
  Call c(env, info, 7);
  long n = static_cast<long>(c.num(0)), area = static_cast<long>(c.num(1)), C = static_cast<long>(c.num(2));
  const float* x = c.f32(3, n * area * C, "x");
  const float* gamma = c.f32(4, n * C, "gamma");
  const float* beta = c.f32(5, n * C, "beta");
  float* y = c.f32(6, n * area * C, "y");
  if (c.ok) affine_forward(n, area, C, x, gamma, beta, y);
  return nullptr;
}

// affineGrad(n, area, C, dy, x, gamma, dx, dgamma, dbeta)
napi_value AffineGrad(napi_env env, napi_callback_info info) {
  Call c(env, info, 9);
  long n = static_cast<long>(c.num(0)), area = static_cast<long>(c.num(1)), C = static_cast<long>(c.num(2));
  const float* dy = c.f32(3, n * area * C, "dy");
  const float* x = c.f32(4, n * area * C, "x");
  const float* gamma = c.f32(5, n * C, "gamma");
  float* dx = c.f32(6, n * area * C, "dx");
  float* dgamma = c.f32(7, n * C, "dgamma");
  float* dbeta = c.f32(8, n * C, "dbeta");
  if (c.ok) affine_backward(n, area, C, dy, x, gamma, dx, dgamma, dbeta);
  return nullptr;
}

// instanceNorm(n, area, C, x, eps, y, invStd)
napi_value InstanceNorm(napi_env env, napi_callback_info info) {
  Call c(env, info, 7);
  long n = static_cast<long>(c.num(0)), area = static_cast<long>(c.num(1)), C = static_cast<long>(c.num(2));
  const float* x = c.f32(3, n * area * C, "x");
  float eps = static_cast<float>(c.num(4));
  float* y = c.f32(5, n * area * C, "y");
  float* inv_std = c.f32(6, n * C, "invStd");
  if (c.ok) instance_norm_forward(n, area, C, x, eps, y, inv_std);
  return nullptr;
}

// instanceNormGrad(n, area, C, dy, y, invStd, dx)
napi_value InstanceNormGrad(napi_env env, napi_callback_info info) {
  Call c(env, info, 7);
  long n = static_cast<long>(c.num(0)), area = static_cast<long>(c.num(1)), C = static_cast<long>(c.num(2));
  const float* dy = c.f32(3, n * area * C, "dy");
  const float* y = c.f32(4, n * area * C, "y");
  const float* inv_std = c.f32(5, n * C, "invStd");
  float* dx = c.f32(6, n * area * C, "dx");
  if (c.ok) instance_norm_backward(n, area, C, dy, y, inv_std, dx);
  return nullptr;
}

// reflectionPad(adjoint, n, h, w, c, p, src, dst): h, w unpadded
napi_value ReflectionPad(napi_env env, napi_callback_info info) {
  Call c(env, info, 8);
  bool adjoint = c.flag(0);
  long n = static_cast<long>(c.num(1)), h = static_cast<long>(c.num(2)), w = static_cast<long>(c.num(3));
  long ch = static_cast<long>(c.num(4)), p = static_cast<long>(c.num(5));
  if (c.ok && (p < 0 || p >= h || p >= w)) c.fail("reflection padding must be smaller than the image");
  long plain = n * h * w * ch, padded = n * (h + 2 * p) * (w + 2 * p) * ch;
  const float* src = c.f32(6, adjoint ? padded : plain, "src");
  float* dst = c.f32(7, adjoint ? plain : padded, "dst");
  if (c.ok) reflection_pad(adjoint, n, h, w, ch, p, src, dst);
  return nullptr;
}

// avgPool3x3s2Grad(n, h, w, c, dy, dx): h, w of the unpooled image
napi_value AvgPool3x3s2Grad(napi_env env, napi_callback_info info) {
  Call c(env, info, 6);
  long n = static_cast<long>(c.num(0)), h = static_cast<long>(c.num(1)), w = static_cast<long>(c.num(2));
  long ch = static_cast<long>(c.num(3));
  long plain = n * h * w * ch, pooled = n * ((h - 1) / 2 + 1) * ((w - 1) / 2 + 1) * ch;
  const float* src = c.f32(4, pooled, "dy");
  float* dst = c.f32(5, plain, "dx");
  if (c.ok) avg_pool_3x3s2_grad(n, h, w, ch, src, dst);
  return nullptr;
}

// avgPoolTilesGrad(geometry Int32Array[8], dy, dx)
napi_value AvgPoolTilesGrad(napi_env env, napi_callback_info info) {
  Call c(env, info, 3);
  const int32_t* g = c.i32(0, 8, "geometry");
  if (!c.ok) return nullptr;
  const float* dy = c.f32(1, static_cast<long>(g[0]) * g[6] * g[7] * g[3], "dy");
  float* dx = c.f32(2, static_cast<long>(g[0]) * g[1] * g[2] * g[3], "dx");
  if (c.ok) avg_pool_tiles_grad(g, dy, dx);
  return nullptr;
}

// batchNormForward(rows, C, x, gamma, beta, eps, y, mean, var)
napi_value BatchNormForward(napi_env env, napi_callback_info info) {
  Call c(env, info, 9);
  long rows = static_cast<long>(c.num(0)), C = static_cast<long>(c.num(1));
  const float* x = c.f32(2, rows * C, "x");
  const float* gamma = c.f32(3, C, "gamma");
  const float* beta = c.f32(4, C, "beta");
  float eps = static_cast<float>(c.num(5));
  float* y = c.f32(6, rows * C, "y");
  float* mean = c.f32(7, C, "mean");
  float* var = c.f32(8, C, "var");
  if (c.ok) batch_norm_forward(rows, C, x, gamma, beta, eps, y, mean, var);
  return nullptr;
}

// batchNormBackward(rows, C, dy, x, gamma, mean, var, eps, dx, dgamma, dbeta)
napi_value BatchNormBackward(napi_env env, napi_callback_info info) {
  Call c(env, info, 11);
  long rows = static_cast<long>(c.num(0)), C = static_cast<long>(c.num(1));
  const float* dy = c.f32(2, rows * C, "dy");
  const float* x = c.f32(3, rows * C, "x");
  const float* gamma = c.f32(4, C, "gamma");
  const float* mean = c.f32(5, C, "mean");
  const float* var = c.f32(6, C, "var");
  float eps = static_cast<float>(c.num(7));
  float* dx = c.f32(8, rows * C, "dx");
  float* dgamma = c.f32(9, C, "dgamma");
  float* dbeta = c.f32(10, C, "dbeta");
  if (c.ok) batch_norm_backward(rows, C, dy, x, gamma, mean, var, eps, dx, dgamma, dbeta);
  return nullptr;
}

// leakyReluGrad(n, dy, x, alpha, dx)
napi_value LeakyReluGrad(napi_env env, napi_callback_info info) {
  Call c(env, info, 5);
  long n = static_cast<long>(c.num(0));
  const float* dy = c.f32(1, n, "dy");
  const float* x = c.f32(2, n, "x");
  float alpha = static_cast<float>(c.num(3));
  float* dx = c.f32(4, n, "dx");
  if (c.ok) leaky_relu_grad(n, dy, x, alpha, dx);
  return nullptr;
}

// leakyRelu(n, x, alpha, y)
napi_value LeakyRelu(napi_env env, napi_callback_info info) {
  Call c(env, info, 4);
  long n = static_cast<long>(c.num(0));
  const float* x = c.f32(1, n, "x");
  float alpha = static_cast<float>(c.num(2));
  float* y = c.f32(3, n, "y");
  if (c.ok) leaky_relu(n, x, alpha, y);
  return nullptr;
}

// tanh(n, x, y)
napi_value Tanh(napi_env env, napi_callback_info info) {
  Call c(env, info, 3);
  long n = static_cast<long>(c.num(0));
  const float* x = c.f32(1, n, "x");
  float* y = c.f32(2, n, "y");
  if (c.ok) tanh_values(n, x, y);
  return nullptr;
}

// pool2d(isMax, geometry Int32Array[12], x, y)
napi_value Pool2d(napi_env env, napi_callback_info info) {
  Call c(env, info, 4);
  bool is_max = c.flag(0);
  const int32_t* g = c.i32(1, 12, "geometry");
  if (!c.ok) return nullptr;
  const float* x = c.f32(2, static_cast<long>(g[0]) * g[1] * g[2] * g[3], "x");
  float* y = c.f32(3, static_cast<long>(g[0]) * g[6] * g[7] * g[3], "y");
  if (c.ok) pool2d(is_max, g, x, y);
  return nullptr;
}

// biasActivation(rows, c, y, bias | null, act, alpha)
napi_value BiasActivation(napi_env env, napi_callback_info info) {
  Call c(env, info, 6);
  long rows = static_cast<long>(c.num(0)), ch = static_cast<long>(c.num(1));
  float* y = c.f32(2, rows * ch, "y");
  const float* bias = c.is_null(3) ? nullptr : c.f32(3, ch, "bias");
  int act = static_cast<int>(c.num(4));
  float alpha = static_cast<float>(c.num(5));
  if (c.ok) bias_activation(rows, ch, y, bias, act, alpha);
  return nullptr;
}

// adamUpdate(n, p, g, m, v, lr, beta1, beta2, eps, bc1, bc2, pOut, mOut, vOut)
napi_value AdamUpdate(napi_env env, napi_callback_info info) {
  Call c(env, info, 14);
  long n = static_cast<long>(c.num(0));
  const float* p = c.f32(1, n, "param");
  const float* g = c.f32(2, n, "grad");
  const float* m = c.f32(3, n, "m");
  const float* v = c.f32(4, n, "v");
  float lr = c.num(5), b1 = c.num(6), b2 = c.num(7), eps = c.num(8), bc1 = c.num(9), bc2 = c.num(10);
  float* po = c.f32(11, n, "paramOut");
  float* mo = c.f32(12, n, "mOut");
  float* vo = c.f32(13, n, "vOut");
  if (c.ok) adam_update(n, p, g, m, v, lr, b1, b2, eps, bc1, bc2, po, mo, vo);
  return nullptr;
}

// accumulateOuter(rows, d, x(f32), shift(f64), sum(f64), outer(f64))
napi_value AccumulateOuter(napi_env env, napi_callback_info info) {
  Call c(env, info, 6);
  long rows = static_cast<long>(c.num(0)), d = static_cast<long>(c.num(1));
  const float* x = c.f32(2, rows * d, "x");
  const double* shift = c.f64(3, d, "shift");
  double* sum = c.f64(4, d, "sum");
  double* outer = c.f64(5, d * d, "outer");
  if (c.ok) accumulate_outer(rows, d, x, shift, sum, outer);
  return nullptr;
}

// cholesky(n, a, l) -> boolean
napi_value Cholesky(napi_env env, napi_callback_info info) {
  Call c(env, info, 3);
  long n = static_cast<long>(c.num(0));
  const double* a = c.f64(1, n * n, "a");
  double* l = c.f64(2, n * n, "l");
  if (!c.ok) return nullptr;
  return c.boolean(cholesky(n, a, l));
}

// congruence(n, l, s, r)
napi_value Congruence(napi_env env, napi_callback_info info) {
  Call c(env, info, 4);
  long n = static_cast<long>(c.num(0));
  const double* l = c.f64(1, n * n, "l");
  const double* s = c.f64(2, n * n, "s");
  double* r = c.f64(3, n * n, "r");
  if (c.ok) congruence(n, l, s, r);
  return nullptr;
}

// symmetricEigen(n, a (in/out), values, vectors) -> converged
napi_value SymmetricEigen(napi_env env, napi_callback_info info) {
  Call c(env, info, 4);
  long n = static_cast<long>(c.num(0));
  double* a = c.f64(1, n * n, "a");
  double* values = c.f64(2, n, "values");
  bool vectors = c.flag(3);
  if (!c.ok) return nullptr;
  return c.boolean(symmetric_eigen(n, a, values, vectors));
}

}  // namespace

void register_ops(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"batchNormForward", nullptr, BatchNormForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormBackward", nullptr, BatchNormBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"leakyRelu", nullptr, LeakyRelu, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"leakyReluGrad", nullptr, LeakyReluGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"tanh", nullptr, Tanh, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"accumulateOuter", nullptr, AccumulateOuter, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"cholesky", nullptr, Cholesky, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"congruence", nullptr, Congruence, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"symmetricEigen", nullptr, SymmetricEigen, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pool2d", nullptr, Pool2d, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"biasActivation", nullptr, BiasActivation, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"adamUpdate", nullptr, AdamUpdate, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"affine", nullptr, Affine, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"affineGrad", nullptr, AffineGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"instanceNorm", nullptr, InstanceNorm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"instanceNormGrad", nullptr, InstanceNormGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reflectionPad", nullptr, ReflectionPad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"avgPool3x3s2Grad", nullptr, AvgPool3x3s2Grad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"avgPoolTilesGrad", nullptr, AvgPoolTilesGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"copyRows", nullptr, CopyRows, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolGrad", nullptr, MaxPoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}

}  // namespace gantry
