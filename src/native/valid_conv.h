#pragma once

namespace gantry {

// A valid (unpadded, dilation 1) convolution in NHWC: y [n, oh, ow, cout] = xp [n, hp, wp, cin] * w [kh, kw, cin,
// cout] with strides sh, sw. One row of a patch is kw * cin contiguous floats of xp, so the multiply reads
// xp in place: no im2col buffer, which for the wide kernels of image-to-image networks (7x7 on 16 channels)
// was tens of megabytes written and read back a call. Callers pad (zeros or dy's offsets) first.
// flipped: w is [kh, kw, cout, cin], the filter of the convolution whose input gradient this is, and is used
// turned half a circle with its channel axes swapped (rearranged while it is packed, not copied first).
void valid_conv(const float* xp, long n, long hp, long wp, long cin, const float* w, bool flipped, long kh, long kw,
                long cout, long sh, long sw, float* y, long oh, long ow);

// Its filter gradient: dw [kh, kw, cin, cout] = sum over output pixels of patch (x) dy, the patches again read
// in place; tiles of 6 patch elements x 16 channels, each thread summing its share of the pixels.
void valid_conv_filter_grad(const float* xp, long n, long hp, long wp, long cin, const float* dy, long kh, long kw,
                            long cout, long sh, long sw, long oh, long ow, float* dw);

// The same for few output channels: dw [kh, kw, cin, cout] = sum over pixels of patch (x) dy, for few output channels
// (cout <= kValidConvFewChannels), where a GEMM would pad cout out to its 16-wide panels.
constexpr long kValidConvFewChannels = 4;
void valid_conv_filter_grad_few(const float* xp, long n, long hp, long wp, long cin, const float* dy, long kh, long kw,
                                long cout, long sh, long sw, long oh, long ow, float* dw);

}  // namespace gantry
