// Argument access for the N-API bindings: typed arrays (no copies, length-checked) and numbers. The
// first problem throws a JS TypeError naming the argument; later reads become no-ops (check `ok`).
#pragma once
#include <node_api.h>

#include <cstdint>
#include <string>

namespace gantry {

class Call {
 public:
  napi_env env;
  napi_value argv[16];
  size_t argc = 16;
  bool ok = true;

  Call(napi_env e, napi_callback_info info, size_t expected) : env(e) {
    napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
    if (argc < expected) fail("expected " + std::to_string(expected) + " arguments");
  }

  void fail(const std::string& why) {
    if (ok) napi_throw_type_error(env, nullptr, ("gantry_native: " + why).c_str());
    ok = false;
  }

  float* f32(int i, long min_len, const char* what) { return array<float>(i, napi_float32_array, min_len, what, "Float32Array"); }
  double* f64(int i, long min_len, const char* what) { return array<double>(i, napi_float64_array, min_len, what, "Float64Array"); }
  int32_t* i32(int i, long min_len, const char* what) { return array<int32_t>(i, napi_int32_array, min_len, what, "Int32Array"); }

  bool is_null(int i) {
    napi_valuetype t = napi_undefined;
    if (ok) napi_typeof(env, argv[i], &t);
    return t == napi_null || t == napi_undefined;
  }

  double num(int i) {
    double v = 0;
    if (ok && napi_get_value_double(env, argv[i], &v) != napi_ok) fail("argument " + std::to_string(i) + " must be a number");
    return v;
  }

  bool flag(int i) {
    bool v = false;
    if (ok && napi_get_value_bool(env, argv[i], &v) != napi_ok) fail("argument " + std::to_string(i) + " must be a boolean");
    return v;
  }

  napi_value boolean(bool v) {
    napi_value out;
    napi_get_boolean(env, v, &out);
    return out;
  }

 private:
  template <typename T>
  T* array(int i, napi_typedarray_type want, long min_len, const char* what, const char* type_name) {
    if (!ok) return nullptr;
    napi_typedarray_type type;
    size_t length;
    void* data;
    napi_value buffer;
    size_t offset;
    if (napi_get_typedarray_info(env, argv[i], &type, &length, &data, &buffer, &offset) != napi_ok || type != want) {
      fail(std::string(what) + " must be a " + type_name);
      return nullptr;
    }
    if (static_cast<long>(length) < min_len) {
      fail(std::string(what) + " is too short (" + std::to_string(length) + " < " + std::to_string(min_len) + ")");
      return nullptr;
    }
    return static_cast<T*>(data);
  }
};

}  // namespace gantry
