#pragma once
#include <cstdint>
#include <vector>

namespace gantry {

// A growable float buffer whose data starts on a 64-byte boundary (whole cache lines, aligned AVX loads).
struct AlignedFloats {
  std::vector<float> storage;
  float* get(size_t n) {
    if (storage.size() < n + 16) storage.resize(n + 16);
    auto p = reinterpret_cast<uintptr_t>(storage.data());
    return reinterpret_cast<float*>((p + 63) & ~uintptr_t(63));
  }
};

}  // namespace gantry
