import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/rng.ts';
import { Conv2d, leaky, Linear } from './layers.ts';
import type { ParamSet } from './params.ts';

export interface ImageEncoderOptions {
  imageSize: number;
  channels: number;
  /** Channels of the first convolution; each later one doubles them, up to 8 times these (DCGAN's widest at 64x64). */
  width: number;
  outDim: number;
}

/**
 * Images -> vectors: 4x4 stride-2 convolutions with LeakyReLU down to 4x4, the mean over those 16
 * positions, a linear map. No batch norm, so it behaves the same on one image as on a batch (the style
 * encoder reads single user images).
 */
export class ImageEncoder {
  private readonly convs: Conv2d[] = [];
  private readonly out: Linear;

  constructor(params: ParamSet, prefix: string, readonly options: ImageEncoderOptions, rng: Rng) {
    let c = options.channels;
    let width = options.width;
    for (let size = options.imageSize, i = 0; size > 4; size /= 2, i++) {
      this.convs.push(new Conv2d(params, `${prefix}.conv${i}`, { inChannels: c, outChannels: width, kernel: 4, stride: 2, padding: 1, bias: true }, rng));
      c = width;
      width = Math.min(2 * width, 8 * options.width);
    }
    this.out = new Linear(params, `${prefix}.out`, { inFeatures: c, outFeatures: options.outDim }, rng);
  }

  /** [n, S, S, C] in [-1, 1] -> [n, outDim]. */
  apply(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      let h = x;
      for (const conv of this.convs) h = conv.apply(h, leaky(0.2)); // halves the size each time, down to 4x4
      return this.out.apply(tf.mean(h, [1, 2]) as tf.Tensor2D);
    });
  }
}
