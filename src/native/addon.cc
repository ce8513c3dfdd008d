// N-API bindings of gantry's CPU kernels. Arguments are typed arrays (no copies) and plain numbers;
// shapes are checked on the TypeScript side, sizes again here so a bad call throws instead of crashing.
#include <node_api.h>

#include <cstdint>
#include <string>

#include "conv.h"
#include "gemm.h"
#include "ops.h"
#include "thread_pool.h"

namespace {

struct Args {
  napi_env env;
  napi_value argv[16];
  size_t argc = 16;
  bool ok = true;
};

bool get_args(napi_env env, napi_callback_info info, Args& a, size_t expected) {
  a.env = env;
  napi_get_cb_info(env, info, &a.argc, a.argv, nullptr, nullptr);
  if (a.argc < expected) {
    napi_throw_type_error(env, nullptr, ("gantry_native: expected " + std::to_string(expected) + " arguments").c_str());
    return false;
  }
  return true;
}

template <typename T>
T* typed(Args& a, int i, napi_typedarray_type want, size_t min_len, const char* what) {
  if (!a.ok) return nullptr;
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(a.env, a.argv[i], &type, &length, &data, &buffer, &offset) != napi_ok || type != want) {
    napi_throw_type_error(a.env, nullptr, (std::string("gantry_native: ") + what + " must be a typed array of the right type").c_str());
    a.ok = false;
    return nullptr;
  }
  if (length < min_len) {
    napi_throw_range_error(a.env, nullptr, (std::string("gantry_native: ") + what + " is too short (" + std::to_string(length) + " < " + std::to_string(min_len) + ")").c_str());
    a.ok = false;
    return nullptr;
  }
  return static_cast<T*>(data);
}

double num(Args& a, int i) {
  double v = 0;
  if (a.ok && napi_get_value_double(a.env, a.argv[i], &v) != napi_ok) {
    napi_throw_type_error(a.env, nullptr, "gantry_native: expected a number");
    a.ok = false;
  }
  return v;
}

bool flag(Args& a, int i) {
  bool v = false;
  if (a.ok && napi_get_value_bool(a.env, a.argv[i], &v) != napi_ok) {
    napi_throw_type_error(a.env, nullptr, "gantry_native: expected a boolean");
    a.ok = false;
  }
  return v;
}

// sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
napi_value Sgemm(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 13)) return nullptr;
  bool ta = flag(a, 0), tb = flag(a, 1);
  long M = static_cast<long>(num(a, 2)), N = static_cast<long>(num(a, 3)), K = static_cast<long>(num(a, 4));
  float alpha = static_cast<float>(num(a, 5));
  long lda = static_cast<long>(num(a, 7)), ldb = static_cast<long>(num(a, 9)), ldc = static_cast<long>(num(a, 12));
  float beta = static_cast<float>(num(a, 10));
  long a_len = ta ? (K - 1) * lda + M : (M - 1) * lda + K;
  long b_len = tb ? (N - 1) * ldb + K : (K - 1) * ldb + N;
  const float* A = typed<float>(a, 6, napi_float32_array, M > 0 && K > 0 ? a_len : 0, "A");
  const float* B = typed<float>(a, 8, napi_float32_array, N > 0 && K > 0 ? b_len : 0, "B");
  float* C = typed<float>(a, 11, napi_float32_array, M > 0 && N > 0 ? (M - 1) * ldc + N : 0, "C");
  if (!a.ok) return nullptr;
  gantry::sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  return nullptr;
}

// geometry: Int32Array [n, h, w, c, kh, kw, oc, oh, ow, sh, sw, dh, dw, pad_top, pad_left]
bool read_geom(Args& a, int i, gantry::ConvGeom& g) {
  const int32_t* v = typed<int32_t>(a, i, napi_int32_array, 15, "geometry");
  if (!v) return false;
  g = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14]};
  return true;
}

napi_value Conv2dForward(napi_env env, napi_callback_info info) {
  Args a;
  gantry::ConvGeom g;
  if (!get_args(env, info, a, 4) || !read_geom(a, 0, g)) return nullptr;
  const float* x = typed<float>(a, 1, napi_float32_array, g.n * g.h * g.w * g.c, "x");
  const float* w = typed<float>(a, 2, napi_float32_array, g.kh * g.kw * g.c * g.oc, "filter");
  float* y = typed<float>(a, 3, napi_float32_array, g.n * g.oh * g.ow * g.oc, "y");
  if (!a.ok) return nullptr;
  gantry::conv2d_forward(g, x, w, y);
  return nullptr;
}

napi_value Conv2dBackpropInput(napi_env env, napi_callback_info info) {
  Args a;
  gantry::ConvGeom g;
  if (!get_args(env, info, a, 4) || !read_geom(a, 0, g)) return nullptr;
  const float* dy = typed<float>(a, 1, napi_float32_array, g.n * g.oh * g.ow * g.oc, "dy");
  const float* w = typed<float>(a, 2, napi_float32_array, g.kh * g.kw * g.c * g.oc, "filter");
  float* dx = typed<float>(a, 3, napi_float32_array, g.n * g.h * g.w * g.c, "dx");
  if (!a.ok) return nullptr;
  gantry::conv2d_backprop_input(g, dy, w, dx);
  return nullptr;
}

napi_value Conv2dBackpropFilter(napi_env env, napi_callback_info info) {
  Args a;
  gantry::ConvGeom g;
  if (!get_args(env, info, a, 4) || !read_geom(a, 0, g)) return nullptr;
  const float* x = typed<float>(a, 1, napi_float32_array, g.n * g.h * g.w * g.c, "x");
  const float* dy = typed<float>(a, 2, napi_float32_array, g.n * g.oh * g.ow * g.oc, "dy");
  float* dw = typed<float>(a, 3, napi_float32_array, g.kh * g.kw * g.c * g.oc, "dw");
  if (!a.ok) return nullptr;
  gantry::conv2d_backprop_filter(g, x, dy, dw);
  return nullptr;
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, threads, kernel;
  napi_create_object(env, &obj);
  napi_create_int32(env, gantry::pool().size(), &threads);
  napi_create_string_utf8(env, gantry::sgemm_kernel_name(), NAPI_AUTO_LENGTH, &kernel);
  napi_set_named_property(env, obj, "threads", threads);
  napi_set_named_property(env, obj, "kernel", kernel);
  return obj;
}

napi_value ForcePortable(napi_env env, napi_callback_info info) {
  Args a;
  if (!get_args(env, info, a, 1)) return nullptr;
  bool on = flag(a, 0);
  if (!a.ok) return nullptr;
  gantry::sgemm_force_portable(on);
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"sgemm", nullptr, Sgemm, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dForward", nullptr, Conv2dForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropInput", nullptr, Conv2dBackpropInput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropFilter", nullptr, Conv2dBackpropFilter, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"forcePortable", nullptr, ForcePortable, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  gantry::register_ops(env, exports);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
