{
  "targets": [{
    "target_name": "gantry_native",
    "sources": ["src/native/addon.cc"],
    "cflags_cc": ["-O3", "-std=c++17", "-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"]
  }]
}
