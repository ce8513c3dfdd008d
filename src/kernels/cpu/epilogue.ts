import * as tf from '@tensorflow/tfjs-core';
import type { NativeAddon } from './native.ts';

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

/**
 * y = act(y + bias) over rows of `channels` values, in place, in the addon (these kernels run only where it
 * is loaded). A scalar bias, which tfjs's fused ops may pass, is spread over the channels first.
 */
export function applyBiasActivation(addon: NativeAddon, y: Float32Array, channels: number, bias: Float32Array | null, activation = 'linear', alpha = 0.2): void {
  const perChannel = bias && bias.length !== channels ? new Float32Array(channels).fill(bias[0]) : bias;
  addon.biasActivation(y.length / channels, channels, y, perChannel, ACTIVATION_CODES[activation] ?? 0, alpha);
}
