// The 6 x 16 register tile of gantry's NEON kernels (AArch64: Apple silicon, Graviton, Ampere): 24 of the 32
// 128-bit registers accumulate, 4 hold a row of B, 2 the six values of A. Each output element is the same
// chain of fused multiply-adds as in the AVX2 kernels, so the same results.
#pragma once
#if defined(__aarch64__)
#include <arm_neon.h>

namespace gantry {
namespace neon {

// Named registers, not an array: GCC keeps an array of vectors in memory and stores it every iteration.
struct Row16 {
  float32x4_t q0, q1, q2, q3;
};

inline Row16 zero16() {
  const float32x4_t z = vdupq_n_f32(0.0f);
  return {z, z, z, z};
}
inline Row16 load16(const float* p) { return {vld1q_f32(p), vld1q_f32(p + 4), vld1q_f32(p + 8), vld1q_f32(p + 12)}; }
inline void store16(float* p, const Row16& r) {
  vst1q_f32(p, r.q0);
  vst1q_f32(p + 4, r.q1);
  vst1q_f32(p + 8, r.q2);
  vst1q_f32(p + 12, r.q3);
}

struct Tile6x16 {
  Row16 r0, r1, r2, r3, r4, r5;

  static Tile6x16 zero() {
    const Row16 z = zero16();
    return {z, z, z, z, z, z};
  }
  static Tile6x16 load(const float* p, long ld) {
    return {load16(p), load16(p + ld), load16(p + 2 * ld), load16(p + 3 * ld), load16(p + 4 * ld), load16(p + 5 * ld)};
  }
  void store(float* p, long ld) const {
    store16(p, r0);
    store16(p + ld, r1);
    store16(p + 2 * ld, r2);
    store16(p + 3 * ld, r3);
    store16(p + 4 * ld, r4);
    store16(p + 5 * ld, r5);
  }
  // fn(i, row i) for each row (a table of the rows' addresses would make GCC keep the tile in memory).
  template <typename Fn>
  void each_row(Fn fn) const {
    fn(0, r0);
    fn(1, r1);
    fn(2, r2);
    fn(3, r3);
    fn(4, r4);
    fn(5, r5);
  }

  // row r += a_r * b: a_0..a_3 are the lanes of a03, a_4 and a_5 those of a45.
  void madd(const Row16& b, float32x4_t a03, float32x2_t a45) {
    madd_lane<0>(r0, b, a03);
    madd_lane<1>(r1, b, a03);
    madd_lane<2>(r2, b, a03);
    madd_lane<3>(r3, b, a03);
    madd_lane<0>(r4, b, a45);
    madd_lane<1>(r5, b, a45);
  }
  // The same with the six values each at its own address.
  void madd(const Row16& b, const float* p0, const float* p1, const float* p2, const float* p3, const float* p4,
            const float* p5) {
    float32x4_t a03 = vld1q_dup_f32(p0);
    a03 = vld1q_lane_f32(p1, a03, 1);
    a03 = vld1q_lane_f32(p2, a03, 2);
    a03 = vld1q_lane_f32(p3, a03, 3);
    float32x2_t a45 = vld1_dup_f32(p4);
    a45 = vld1_lane_f32(p5, a45, 1);
    // Left as vectors: GCC would otherwise load six scalars into six registers, 34 live in all, and spill.
    asm("" : "+w"(a03), "+w"(a45));
    madd(b, a03, a45);
  }

 private:
  template <int L>
  static void madd_lane(Row16& r, const Row16& b, float32x4_t a) {
    r.q0 = vfmaq_laneq_f32(r.q0, b.q0, a, L);
    r.q1 = vfmaq_laneq_f32(r.q1, b.q1, a, L);
    r.q2 = vfmaq_laneq_f32(r.q2, b.q2, a, L);
    r.q3 = vfmaq_laneq_f32(r.q3, b.q3, a, L);
  }
  template <int L>
  static void madd_lane(Row16& r, const Row16& b, float32x2_t a) {
    r.q0 = vfmaq_lane_f32(r.q0, b.q0, a, L);
    r.q1 = vfmaq_lane_f32(r.q1, b.q1, a, L);
    r.q2 = vfmaq_lane_f32(r.q2, b.q2, a, L);
    r.q3 = vfmaq_lane_f32(r.q3, b.q3, a, L);
  }
};

}  // namespace neon
}  // namespace gantry
#endif
