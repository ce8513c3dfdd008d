import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { outputFloats, overwrittenFloats } from './float-pool.ts';
import { floatValues, makeFloatTensor } from './backend-data.ts';
import type { NativeAddon } from './native.ts';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };
type KernelFunc = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

/**
 * MaxPoolGrad (NHWC, any window, stride and padding): each output's gradient goes to the first largest
 * input of its window, in scan order, as tfjs's kernel chooses. tfjs's version took 0.2 s for the
 * sentence encoder's max over 32 words. Non-float32 inputs go to tfjs. The addon, where it loads, runs the
 * same loop threaded over channels.
 */
export function poolGradKernels(original: (name: string) => KernelFunc, addon: NativeAddon | null): Record<string, KernelFunc> {
  const maxPoolGrad: KernelFunc = (args) => {
    const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const a = args.attrs as unknown as tf.MaxPoolGradAttrs;
    const backend = args.backend as MathBackendCPU;
    const x = floatValues(backend, input);
    const g = floatValues(backend, dy);
    if (!x || !g) return original('MaxPoolGrad')(args);
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
    const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
    if (addon) {
      const out = outputFloats(backend, x.length);
      addon.maxPoolGrad(Int32Array.from([batchSize, H, W, C, filterHeight, filterWidth, outHeight, outWidth, strideHeight, strideWidth, info.padInfo.top, info.padInfo.left]), x, g, out);
      return makeFloatTensor(backend, input.shape, out);
    }
    // float64 sums, as tfjs's: where windows overlap, an input's few terms then add up exactly in any order
    const dx = new Float64Array(x.length);
    for (let b = 0; b < batchSize; b++) {
      for (let oy = 0; oy < outHeight; oy++) {
        const y0 = oy * strideHeight - info.padInfo.top;
        for (let ox = 0; ox < outWidth; ox++) {
          const x0 = ox * strideWidth - info.padInfo.left;
          for (let c = 0; c < C; c++) {
            let best = -1;
            let bestValue = -Infinity;
            for (let fy = Math.max(0, -y0); fy < filterHeight && y0 + fy < H; fy++) {
              for (let fx = Math.max(0, -x0); fx < filterWidth && x0 + fx < W; fx++) {
                const i = ((b * H + y0 + fy) * W + x0 + fx) * C + c;
                if (x[i] > bestValue || best < 0) {
                  bestValue = x[i];
                  best = i;
                }
              }
            }
            if (best >= 0) dx[best] += g[((b * outHeight + oy) * outWidth + ox) * C + c];
          }
        }
      }
    }
    return makeFloatTensor(backend, input.shape, Float32Array.from(dx));
  };
  /**
   * AvgPoolGrad of windows that tile the input (stride = window, no padding: DF-GAN's 2x2 pools): each input
   * takes its window's dy times 1 / window area, as tfjs's kernel computes it, in one pass where tfjs's loops
   * over every window and offset (0.1 s at [16, 32, 32, 64]); the addon, where it loads, runs it threaded
   * over rows. Other geometries go to tfjs's.
   */
  const avgPoolGrad: KernelFunc = (args) => {
    const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const a = args.attrs as unknown as tf.AvgPoolGradAttrs;
    const backend = args.backend as MathBackendCPU;
    const g = floatValues(backend, dy);
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad);
    const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight, outWidth, filterHeight: fh, filterWidth: fw, padInfo } = info;
    const tiles = info.strideHeight === fh && info.strideWidth === fw && padInfo.top === 0 && padInfo.left === 0;
    if (!g || input.dtype !== 'float32' || !tiles) return original('AvgPoolGrad')(args);
    const dx = overwrittenFloats(backend, batchSize * H * W * C);
    if (addon) {
      addon.avgPoolTilesGrad(Int32Array.from([batchSize, H, W, C, fh, fw, outHeight, outWidth]), g, dx);
      return makeFloatTensor(backend, input.shape, dx);
    }
    const scale = 1 / (fh * fw);
    // Rows and columns past the last whole window (an input not a multiple of the window) get zeros.
    for (let b = 0; b < batchSize; b++) {
      for (let y = 0; y < H; y++) {
        const oy = (y / fh) | 0;
        const row = (b * H + y) * W * C;
        if (oy >= outHeight) {
          dx.fill(0, row, row + W * C);
          continue;
        }
        for (let x = 0; x < W; x++) {
          const ox = (x / fw) | 0;
          const at = row + x * C;
          if (ox >= outWidth) {
            dx.fill(0, at, at + C);
            continue;
          }
          const from = ((b * outHeight + oy) * outWidth + ox) * C;
          for (let c = 0; c < C; c++) dx[at + c] = g[from + c] * scale;
        }
      }
    }
    return makeFloatTensor(backend, input.shape, dx);
  };
  return { MaxPoolGrad: maxPoolGrad, AvgPoolGrad: avgPoolGrad };
}
