#pragma once

namespace gantry {

// Geometry of a 2-D convolution in NHWC with filter [KH, KW, C, OC] (tfjs's layouts).
struct ConvGeom {
  long n, h, w, c;        // input
  long kh, kw, oc;        // filter
  long oh, ow;            // output
  long sh, sw;            // strides
  long dh, dw;            // dilations
  long pad_top, pad_left;
  long rows() const { return oh * ow; }          // im2col rows per image
  long cols() const { return kh * kw * c; }      // im2col columns
};

// y[n, oh, ow, oc] = sum x * w
void conv2d_forward(const ConvGeom& g, const float* x, const float* w, float* y);
// dx = gradient of the convolution with respect to its input (also: transposed convolution of dy)
void conv2d_backprop_input(const ConvGeom& g, const float* dy, const float* w, float* dx);
// dw = gradient with respect to the filter
void conv2d_backprop_filter(const ConvGeom& g, const float* x, const float* dy, float* dw);
// Tests: the filter gradient of small maps on the in-place tiles too (by default they unfold into sgemm).
void force_in_place_filter_grad(bool on);

}  // namespace gantry
