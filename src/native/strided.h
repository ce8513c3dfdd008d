#pragma once
#include <node_api.h>

namespace gantry {
// Registers the broadcasting arithmetic, axis sums and nearest-neighbour resizing on the addon's exports.
void register_strided_ops(napi_env env, napi_value exports);
}  // namespace gantry
