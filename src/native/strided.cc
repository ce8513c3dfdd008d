// Element-wise arithmetic with broadcasting, sums over any axes and nearest-neighbour resizing, over
// shapes the caller has collapsed (adjacent dimensions merged where the strides allow). Each computes
// what tfjs's cpu kernel computes with the same float operations in the same order, so the bits agree:
// float32 arithmetic per element; sums in a double accumulator, each output's terms in row-major order.
#include "strided.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "napi_call.h"
#include "thread_pool.h"

namespace gantry {
namespace {

constexpr int kMaxRank = 8;
constexpr long kGrain = 1 << 14;  // elements per parallel chunk, at least

template <int Op>
inline float apply_op(float a, float b) {
  if (Op == 0) return a + b;
  if (Op == 1) return a - b;
  if (Op == 2) return a * b;
  return a / b;
}

// One row of the innermost dimension. The stride patterns of broadcasting (1/1, 1/0, 0/1) get their own
// loops so that the compiler vectorises them.
template <int Op>
inline void binary_row(long n, const float* a, long ia, const float* b, long ib, float* out) {
  if (ia == 1 && ib == 1) {
    for (long k = 0; k < n; k++) out[k] = apply_op<Op>(a[k], b[k]);
  } else if (ia == 1 && ib == 0) {
    const float bv = b[0];
    for (long k = 0; k < n; k++) out[k] = apply_op<Op>(a[k], bv);
  } else if (ia == 0 && ib == 1) {
    const float av = a[0];
    for (long k = 0; k < n; k++) out[k] = apply_op<Op>(av, b[k]);
  } else {
    for (long k = 0; k < n; k++) out[k] = apply_op<Op>(a[k * ia], b[k * ib]);
  }
}

template <int Op>
void binary_strided(int rank, const long* shape, const long* sa, const long* sb, const float* a, const float* b, float* out) {
  const long inner = shape[rank - 1];
  long rows = 1;
  for (int d = 0; d < rank - 1; d++) rows *= shape[d];
  parallel_for(rows, [&](long r0, long r1) {
    // Offsets of row r0 in a and b, then an odometer over the outer dimensions.
    long index[kMaxRank] = {0};
    long pa = 0, pb = 0;
    for (long r = r0, d = rank - 2; d >= 0; d--) {
      index[d] = r % shape[d];
      r /= shape[d];
      pa += index[d] * sa[d];
      pb += index[d] * sb[d];
    }
    for (long r = r0; r < r1; r++) {
      binary_row<Op>(inner, a + pa, sa[rank - 1], b + pb, sb[rank - 1], out + r * inner);
      for (int d = rank - 2; d >= 0; d--) {
        pa += sa[d];
        pb += sb[d];
        if (++index[d] < shape[d]) break;
        pa -= sa[d] * shape[d];
        pb -= sb[d] * shape[d];
        index[d] = 0;
      }
    }
  }, std::max<long>(1, kGrain / inner));
}

// Sums of x's elements over the reduced dimensions into acc (one double per output), walking x in
// row-major order within [lo, hi) of dimension `part` (a kept one, so threads own disjoint outputs).
struct SumWalk {
  int rank;
  const long* shape;
  const int32_t* reduced;
  long in_stride[kMaxRank];
  long out_stride[kMaxRank];
  double divisor;
  const float* x;
  double* acc;
  int part;
  long lo, hi;

  // A term as tfjs's Mean makes it: x / count rounded to float32 (Sum: x itself).
  inline double term(float v) const { return divisor == 1.0 ? v : static_cast<float>(v / divisor); }

  void walk(int d, long in, long out) const {
    const long begin = d == part ? lo : 0, end = d == part ? hi : shape[d];
    if (d == rank - 1) {
      if (reduced[d]) {
        double t = acc[out];
        for (long k = begin; k < end; k++) t += term(x[in + k]);
        acc[out] = t;
      } else if (divisor == 1.0) {
        for (long k = begin; k < end; k++) acc[out + k] += x[in + k];
      } else {
        for (long k = begin; k < end; k++) acc[out + k] += term(x[in + k]);
      }
      return;
    }
    for (long k = begin; k < end; k++) walk(d + 1, in + k * in_stride[d], out + k * out_stride[d]);
  }
};

void reduce_sum(int rank, const long* shape, const int32_t* reduced, double divisor, const float* x, float* out, long out_size) {
  SumWalk s{rank, shape, reduced, {0}, {0}, divisor, x, nullptr, -1, 0, 0};
  long in_size = 1;
  for (int d = rank - 1; d >= 0; d--) {
    s.in_stride[d] = in_size;
    in_size *= shape[d];
  }
  for (long d = rank - 1, o = 1; d >= 0; d--) {
    s.out_stride[d] = reduced[d] ? 0 : o;
    if (!reduced[d]) o *= shape[d];
  }
  std::vector<double> acc(static_cast<size_t>(out_size), 0.0);
  s.acc = acc.data();
  // Threads split the outermost kept dimension; with none kept (a sum of everything) one thread walks all.
  for (int d = 0; d < rank && s.part < 0; d++)
    if (!reduced[d]) s.part = d;
  if (s.part < 0 || in_size == 0) {
    s.part = -1;
    if (in_size) s.walk(0, 0, 0);
  } else {
    const long n = shape[s.part];
    parallel_for(n, [&](long lo, long hi) {
      SumWalk mine = s;
      mine.lo = lo;
      mine.hi = hi;
      mine.walk(0, 0, 0);
    }, std::max<long>(1, kGrain * n / std::max<long>(in_size, 1)));
  }
  parallel_for(out_size, [&](long i0, long i1) {
    for (long i = i0; i < i1; i++) out[i] = static_cast<float>(acc[i]);
  }, kGrain);
}

// Nearest-neighbour resizing of [n, h, w, c] images to [n, oh, ow, c]: output row r reads input row rows[r],
// column q reads cols[q]. The gradient sums dy [n, oh, ow, c] back: dx[y][x] gathers the dy[r][q] with
// rows[r] = y and cols[q] = x (-1: none), r then q ascending (tfjs's order), in double.
void resize_nearest(bool grad, long n, long c, long h, long w, long oh, long ow, const int32_t* rows, const int32_t* cols,
                    const float* src, float* dst) {
  if (!grad) {
    parallel_for(n * oh, [&](long i0, long i1) {
      for (long i = i0; i < i1; i++) {
        const long b = i / oh, r = i % oh;
        const float* from = src + (b * h + rows[r]) * w * c;
        float* to = dst + i * ow * c;
        for (long q = 0; q < ow; q++) std::copy(from + cols[q] * c, from + cols[q] * c + c, to + q * c);
      }
    }, std::max<long>(1, kGrain / std::max<long>(ow * c, 1)));
    return;
  }
  // For each input row / column, the output rows / columns that read it, ascending.
  auto sources = [](long count, long size, const int32_t* map) {
    std::vector<std::vector<long>> of(static_cast<size_t>(size));
    for (long r = 0; r < count; r++)
      if (map[r] >= 0) of[map[r]].push_back(r);
    return of;
  };
  const auto rows_of = sources(oh, h, rows), cols_of = sources(ow, w, cols);
  parallel_for(n * h, [&](long i0, long i1) {
    std::vector<double> acc(static_cast<size_t>(c));
    for (long i = i0; i < i1; i++) {
      const long b = i / h, y = i % h;
      for (long x = 0; x < w; x++) {
        std::fill(acc.begin(), acc.end(), 0.0);
        for (long r : rows_of[y])
          for (long q : cols_of[x]) {
            const float* g = src + ((b * oh + r) * ow + q) * c;
            for (long k = 0; k < c; k++) acc[k] += g[k];
          }
        float* to = dst + (i * w + x) * c;
        for (long k = 0; k < c; k++) to[k] = static_cast<float>(acc[k]);
      }
    }
  }, std::max<long>(1, kGrain / std::max<long>(w * c, 1)));
}

// Reads an Int32Array of dimensions (each >= 1, at most kMaxRank of them).
bool read_shape(Call& c, int i, const char* what, long* shape, int& rank) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(c.env, c.argv[i], &type, &length, &data, &buffer, &offset) != napi_ok || type != napi_int32_array) {
    c.fail(std::string(what) + " must be an Int32Array");
    return false;
  }
  if (length < 1 || length > kMaxRank) {
    c.fail(std::string(what) + " must have 1 to " + std::to_string(kMaxRank) + " dimensions");
    return false;
  }
  rank = static_cast<int>(length);
  for (int d = 0; d < rank; d++) {
    shape[d] = static_cast<const int32_t*>(data)[d];
    if (shape[d] < 1) {
      c.fail(std::string(what) + " must have dimensions of at least 1");
      return false;
    }
  }
  return true;
}

// binaryOp(op, shape, stridesA, stridesB, a, b, out): out (of `shape`, row-major) = a op b, element i of
// out reading a and b at sum(index[d] * strides[d]); op 0 add, 1 sub, 2 mul, 3 div.
napi_value BinaryOp(napi_env env, napi_callback_info info) {
  Call c(env, info, 7);
  int op = static_cast<int>(c.num(0));
  if (c.ok && (op < 0 || op > 3)) c.fail("binaryOp: op must be 0..3");
  long shape[kMaxRank], sa[kMaxRank], sb[kMaxRank];
  int rank = 0;
  if (!c.ok || !read_shape(c, 1, "shape", shape, rank)) return nullptr;
  const int32_t* ia = c.i32(2, rank, "stridesA");
  const int32_t* ib = c.i32(3, rank, "stridesB");
  if (!c.ok) return nullptr;
  long size = 1, reach_a = 1, reach_b = 1;  // elements of out; of a and b that the strides reach
  for (int d = 0; d < rank; d++) {
    sa[d] = ia[d];
    sb[d] = ib[d];
    if (sa[d] < 0 || sb[d] < 0) c.fail("binaryOp: strides must not be negative");
    size *= shape[d];
    reach_a += (shape[d] - 1) * sa[d];
    reach_b += (shape[d] - 1) * sb[d];
  }
  const float* a = c.f32(4, reach_a, "a");
  const float* b = c.f32(5, reach_b, "b");
  float* out = c.f32(6, size, "out");
  if (!c.ok) return nullptr;
  switch (op) {
    case 0: binary_strided<0>(rank, shape, sa, sb, a, b, out); break;
    case 1: binary_strided<1>(rank, shape, sa, sb, a, b, out); break;
    case 2: binary_strided<2>(rank, shape, sa, sb, a, b, out); break;
    default: binary_strided<3>(rank, shape, sa, sb, a, b, out); break;
  }
  return nullptr;
}

// reduceSum(shape, reduced, divisor, x, out): sums of x ([shape], row-major) over the dimensions with
// reduced[d] = 1, each term divided by divisor first (rounded to float32) unless it is 1.
napi_value ReduceSum(napi_env env, napi_callback_info info) {
  Call c(env, info, 5);
  long shape[kMaxRank];
  int rank = 0;
  if (!read_shape(c, 0, "shape", shape, rank)) return nullptr;
  const int32_t* reduced = c.i32(1, rank, "reduced");
  double divisor = c.num(2);
  if (c.ok && !(divisor >= 1)) c.fail("reduceSum: divisor must be at least 1");
  long in_size = 1, out_size = 1;
  for (int d = 0; d < rank && c.ok; d++) {
    in_size *= shape[d];
    if (!reduced[d]) out_size *= shape[d];
  }
  const float* x = c.f32(3, in_size, "x");
  float* out = c.f32(4, out_size, "out");
  if (c.ok) reduce_sum(rank, shape, reduced, divisor, x, out, out_size);
  return nullptr;
}

// resizeNearest(grad, n, c, h, w, oh, ow, rows, cols, src, dst): see resize_nearest; h, w the image's size.
napi_value ResizeNearest(napi_env env, napi_callback_info info) {
  Call c(env, info, 11);
  bool grad = c.flag(0);
  long n = static_cast<long>(c.num(1)), ch = static_cast<long>(c.num(2)), h = static_cast<long>(c.num(3)),
       w = static_cast<long>(c.num(4)), oh = static_cast<long>(c.num(5)), ow = static_cast<long>(c.num(6));
  if (c.ok && (n < 0 || ch < 0 || h < 1 || w < 1 || oh < 1 || ow < 1)) c.fail("resizeNearest: sizes must be positive");
  const int32_t* rows = c.i32(7, oh, "rows");
  const int32_t* cols = c.i32(8, ow, "cols");
  // The gradient may leave a row or column out (-1): tfjs's gradient drops those outside its search window.
  const int32_t lowest = grad ? -1 : 0;
  for (long r = 0; c.ok && r < oh; r++)
    if (rows[r] < lowest || rows[r] >= h) c.fail("resizeNearest: a row index is outside the image");
  for (long q = 0; c.ok && q < ow; q++)
    if (cols[q] < lowest || cols[q] >= w) c.fail("resizeNearest: a column index is outside the image");
  const long image = n * h * w * ch, resized = n * oh * ow * ch;
  const float* src = c.f32(9, grad ? resized : image, "src");
  float* dst = c.f32(10, grad ? image : resized, "dst");
  if (c.ok) resize_nearest(grad, n, ch, h, w, oh, ow, rows, cols, src, dst);
  return nullptr;
}

}  // namespace

void register_strided_ops(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"binaryOp", nullptr, BinaryOp, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduceSum", nullptr, ReduceSum, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"resizeNearest", nullptr, ResizeNearest, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}

}  // namespace gantry
