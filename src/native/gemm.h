#pragma once

namespace gantry {

// Row-major single-precision GEMM: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C.
// op(A) is A, or A^T when trans_a (then A is stored K x M with leading dimension lda); likewise B.
// With beta == 0, C is not read (it may hold garbage).
void sgemm(bool trans_a, bool trans_b, long M, long N, long K, float alpha, const float* A, long lda,
           const float* B, long ldb, float beta, float* C, long ldc);

// Which micro-kernel sgemm uses on this CPU: "avx512" (AVX2/FMA with 512-bit tiles where whole), "avx2-fma",
// "neon" or "portable".
const char* sgemm_kernel_name();
// Forces the portable kernels, of sgemm and the convolutions (tests compare the two paths).
void sgemm_force_portable(bool on);
// Whether the AVX2/FMA micro-kernels run: the CPU has them and the portable ones are not forced.
bool use_avx2_fma();
// Whether the NEON micro-kernels run: an AArch64 CPU (every one has NEON) and the portable ones not forced.
bool use_neon();
// Whether register-tiled kernels (AVX2/FMA or NEON) run rather than the portable loops.
bool use_simd_tiles();
// Whether the convolutions' AVX-512 tiles run: the CPU has AVX-512F, neither the portable kernels nor AVX2 are
// forced (tests compare the paths).
bool use_avx512();
void force_avx2(bool on);

}  // namespace gantry
