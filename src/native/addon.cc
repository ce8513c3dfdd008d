// N-API bindings of gantry's CPU kernels. Arguments are typed arrays (no copies) and plain numbers;
// shapes are checked on the TypeScript side, sizes again here so a bad call throws instead of crashing.
#include <node_api.h>


#include "conv.h"
#include "gemm.h"
#include "napi_call.h"
#include "ops.h"
#include "strided.h"
#include "thread_pool.h"

namespace {

using gantry::Call;

// sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
napi_value Sgemm(napi_env env, napi_callback_info info) {
  Call c(env, info, 13);
  bool ta = c.flag(0), tb = c.flag(1);
  long M = static_cast<long>(c.num(2)), N = static_cast<long>(c.num(3)), K = static_cast<long>(c.num(4));
  float alpha = static_cast<float>(c.num(5));
  long lda = static_cast<long>(c.num(7)), ldb = static_cast<long>(c.num(9)), ldc = static_cast<long>(c.num(12));
  float beta = static_cast<float>(c.num(10));
  long a_len = ta ? (K - 1) * lda + M : (M - 1) * lda + K;
  long b_len = tb ? (N - 1) * ldb + K : (K - 1) * ldb + N;
  const float* A = c.f32(6, M > 0 && K > 0 ? a_len : 0, "A");
  const float* B = c.f32(8, N > 0 && K > 0 ? b_len : 0, "B");
  float* C = c.f32(11, M > 0 && N > 0 ? (M - 1) * ldc + N : 0, "C");
  if (c.ok) gantry::sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  return nullptr;
}

enum class ConvOp { kForward, kBackpropInput, kBackpropFilter };

// conv2d*(geometry Int32Array [n, h, w, c, kh, kw, oc, oh, ow, sh, sw, dh, dw, pad_top, pad_left], a, b, out):
// forward (x, filter -> y), input gradient (dy, filter -> dx), filter gradient (x, dy -> dw).
template <ConvOp op>
napi_value Conv2d(napi_env env, napi_callback_info info) {
  Call c(env, info, 4);
  const int32_t* v = c.i32(0, 15, "geometry");
  if (!c.ok) return nullptr;
  gantry::ConvGeom g{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
  const long x_len = g.n * g.h * g.w * g.c, w_len = g.kh * g.kw * g.c * g.oc, y_len = g.n * g.oh * g.ow * g.oc;
  if (op == ConvOp::kForward) {
    const float* x = c.f32(1, x_len, "x");
    const float* w = c.f32(2, w_len, "filter");
    float* y = c.f32(3, y_len, "y");
    if (c.ok) gantry::conv2d_forward(g, x, w, y);
  } else if (op == ConvOp::kBackpropInput) {
    const float* dy = c.f32(1, y_len, "dy");
    const float* w = c.f32(2, w_len, "filter");
    float* dx = c.f32(3, x_len, "dx");
    if (c.ok) gantry::conv2d_backprop_input(g, dy, w, dx);
  } else {
    const float* x = c.f32(1, x_len, "x");
    const float* dy = c.f32(2, y_len, "dy");
    float* dw = c.f32(3, w_len, "dw");
    if (c.ok) gantry::conv2d_backprop_filter(g, x, dy, dw);
  }
  return nullptr;
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, threads, kernel, avx512;
  napi_create_object(env, &obj);
  napi_create_int32(env, gantry::pool().size(), &threads);
  napi_create_string_utf8(env, gantry::sgemm_kernel_name(), NAPI_AUTO_LENGTH, &kernel);
  napi_get_boolean(env, gantry::use_avx512(), &avx512);
  napi_set_named_property(env, obj, "threads", threads);
  napi_set_named_property(env, obj, "kernel", kernel);
  napi_set_named_property(env, obj, "avx512", avx512);
  return obj;
}

// forcePortable(on), forceAvx2(on), forceInPlaceFilterGrad(on): the tests' switches between kernel paths.
template <void (*Set)(bool)>
napi_value Force(napi_env env, napi_callback_info info) {
  Call c(env, info, 1);
  bool on = c.flag(0);
  if (c.ok) Set(on);
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sgemm", nullptr, Sgemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dForward", nullptr, Conv2d<ConvOp::kForward>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropInput", nullptr, Conv2d<ConvOp::kBackpropInput>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropFilter", nullptr, Conv2d<ConvOp::kBackpropFilter>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"forcePortable", nullptr, Force<gantry::sgemm_force_portable>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"forceAvx2", nullptr, Force<gantry::force_avx2>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"forceInPlaceFilterGrad", nullptr, Force<gantry::force_in_place_filter_grad>, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  gantry::register_ops(env, exports);
  gantry::register_strided_ops(env, exports);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
