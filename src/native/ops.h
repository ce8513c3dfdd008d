#pragma once
#include <node_api.h>

namespace gantry {
// Registers the fused element-wise kernels (batch norm, Adam, ...) on the addon's exports.
void register_ops(napi_env env, napi_value exports);
}  // namespace gantry
