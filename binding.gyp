{
  "targets": [{
    "target_name": "gantry_native",
    "sources": ["src/native/addon.cc", "src/native/gemm.cc", "src/native/conv.cc", "src/native/valid_conv.cc", "src/native/ops.cc", "src/native/strided.cc", "src/native/linalg.cc", "src/native/thread_pool.cc"],
    "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fno-trapping-math", "-pthread"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
    "ldflags": ["-pthread"],
    "conditions": [
      ["target_arch=='arm64'", {"cflags_cc": ["-ffp-contract=off"]}],
      ["OS=='mac'", {"xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off"]}}]
    ]
  }]
}
