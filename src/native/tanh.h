#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace gantry {

// tanh within a few float ulps of the rounded exact value, branch-free so that it vectorises (libm's tanhf,
// and V8's Math.tanh that tfjs calls, do not). Near 0, where (1 - t) / (1 + t) with t = exp(-2|x|) would
// cancel, tanh(x) / x as its Taylor series in x^2 to x^14 (its terms fall by about 0.07 a power at |x| 0.4);
// elsewhere that quotient, with exp(u) = 2^n * e^r, |r| <= ln 2 / 2, from its Taylor series to r^7.
// |x| >= 10 gives +-1 (float tanh is 1 from 9.01); NaN stays NaN.
inline float tanh_float(float x) {
  const float a = std::fabs(x);
  const float s = x * x;
  float p = -929569.0f / 638512875.0f;
  p = p * s + 21844.0f / 6081075.0f;
  p = p * s - 1382.0f / 155925.0f;
  p = p * s + 62.0f / 2835.0f;
  p = p * s - 17.0f / 315.0f;
  p = p * s + 2.0f / 15.0f;
  p = p * s - 1.0f / 3.0f;
  const float near_zero = std::copysign(x + x * s * p, x);  // keeps -0
  const float u = -2.0f * (a < 10.0f ? a : 10.0f);  // in [-20, 0]; NaN becomes -20, restored below
  // n = round(u / ln 2) by the 1.5 * 2^23 trick; ln 2 split in two so that u - n ln 2 is exact enough.
  const float n = (u * 1.44269504f + 12582912.0f) - 12582912.0f;
  const float r = (u - n * 0.693145752f) - n * 1.42860677e-6f;
  float e = 1.0f / 5040.0f;
  e = e * r + 1.0f / 720.0f;
  e = e * r + 1.0f / 120.0f;
  e = e * r + 1.0f / 24.0f;
  e = e * r + 1.0f / 6.0f;
  e = e * r + 0.5f;
  e = e * r + 1.0f;
  e = e * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) * (1 << 23);  // 2^n, n in [-29, 0]
  float two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  const float t = e * two_n;
  const float far = std::copysign((1.0f - t) / (1.0f + t), x);
  const float y = a < 0.4f ? near_zero : far;
  return x != x ? x : y;
}

}  // namespace gantry
