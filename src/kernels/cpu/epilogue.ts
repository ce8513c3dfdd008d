import * as tf from '@tensorflow/tfjs-core';
import { loadNativeAddon } from './native.ts';

const ACTIVATION_CODES: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, elu: 4, sigmoid: 5 };

/** Activations the fused kernels apply in place; prelu and anything else go to tfjs's own kernel. */
const SUPPORTED = new Set(['linear', 'relu', 'relu6', 'leakyrelu', 'elu', 'sigmoid']);

export function supportsEpilogue(activation: string | undefined, bias: tf.TensorInfo | undefined, prelu: tf.TensorInfo | undefined, channels: number): boolean {
  if (prelu) return false;
  if (!SUPPORTED.has(activation ?? 'linear')) return false;
  // Bias must be one value per output channel (or a scalar), the cases tfjs's fused ops produce.
  if (bias && bias.dtype !== 'float32') return false;
  const biasSize = bias ? tf.util.sizeFromShape(bias.shape) : 0;
  if (bias && !(biasSize === channels || biasSize === 1)) return false;
  return true;
}

/** y = act(y + bias) over rows of `channels` values, in place. */
export function applyBiasActivation(y: Float32Array, channels: number, bias: Float32Array | null, activation = 'linear', alpha = 0.2): void {
  const addon = loadNativeAddon().addon;
  if (addon && (!bias || bias.length === channels)) {
    addon.biasActivation(y.length / channels, channels, y, bias, ACTIVATION_CODES[activation] ?? 0, alpha);
    return;
  }
  if (bias) {
    if (bias.length === 1) {
      const b = bias[0];
      for (let i = 0; i < y.length; i++) y[i] += b;
    } else {
      for (let i = 0; i < y.length; i += channels) for (let c = 0; c < channels; c++) y[i + c] += bias[c];
    }
  }
  switch (activation) {
    case 'linear':
      return;
    case 'relu':
      for (let i = 0; i < y.length; i++) if (y[i] < 0) y[i] = 0;
      return;
    case 'relu6':
      for (let i = 0; i < y.length; i++) y[i] = Math.min(6, Math.max(0, y[i]));
      return;
    case 'leakyrelu':
      for (let i = 0; i < y.length; i++) if (y[i] < 0) y[i] *= alpha;
      return;
    case 'elu':
      for (let i = 0; i < y.length; i++) if (y[i] < 0) y[i] = Math.expm1(y[i]);
      return;
    case 'sigmoid':
      for (let i = 0; i < y.length; i++) y[i] = 1 / (1 + Math.exp(-y[i]));
      return;
  }
}
