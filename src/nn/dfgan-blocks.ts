import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/rng.ts';
import { Conv2d, Linear, RELU } from './layers.ts';
import type { ParamSet } from './params.ts';
import { AFFINE } from '../kernels/affine.ts';
import { ownKernel } from '../kernels/registry.ts';

/**
 * DF-GAN's building blocks (Tao et al. 2022), NHWC. The generator has no normalisation: its feature
 * maps are modulated channel by channel by the sentence vector (Affine), inside deep fusion blocks.
 */

/**
 * Affine: x * γ(e) + β(e), γ and β per channel from two-layer MLPs of the sentence vector e. The last
 * layers start at zero weights with γ's bias 1 and β's 0, so a new block passes x through unchanged.
 */
export class Affine {
  private readonly gamma: [Linear, Linear];
  private readonly beta: [Linear, Linear];

  constructor(params: ParamSet, name: string, condDim: number, channels: number, rng: Rng) {
    const mlp = (part: string, bias: number): [Linear, Linear] => [
      new Linear(params, `${name}.${part}.0`, { inFeatures: condDim, outFeatures: channels }, rng),
      new Linear(params, `${name}.${part}.1`, { inFeatures: channels, outFeatures: channels, init: { kind: 'constant', value: 0 }, biasInit: { kind: 'constant', value: bias } }, rng),
    ];
    this.gamma = mlp('gamma', 1);
    this.beta = mlp('beta', 0);
  }

  /** x [n, h, w, c], e [n, condDim]. */
  apply(x: tf.Tensor4D, e: tf.Tensor2D): tf.Tensor4D {
    const gamma = this.gamma[1].apply(this.gamma[0].apply(e, RELU));
    const beta = this.beta[1].apply(this.beta[0].apply(e, RELU));
    return modulate(x, gamma, beta);
  }
}

/** x * gamma + beta with gamma, beta [n, c] one value per image and channel: gantry's kernel where the backend has it. */
export function modulate(x: tf.Tensor4D, gamma: tf.Tensor2D, beta: tf.Tensor2D): tf.Tensor4D {
  if (ownKernel(AFFINE)) return tf.engine().runKernel(AFFINE, { x, gamma, beta }) as tf.Tensor4D;
  return modulateOps(x, gamma, beta);
}

/** modulate from tfjs ops (broadcasting multiply and add): other backends, and the reference of gantry's kernels. */
export function modulateOps(x: tf.Tensor4D, gamma: tf.Tensor2D, beta: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, , , c] = x.shape;
    return tf.add(tf.mul(x, tf.reshape(gamma, [n, 1, 1, c])), tf.reshape(beta, [n, 1, 1, c])) as tf.Tensor4D;
  });
}

/** A deep text-image fusion block: Affine, LeakyReLU, Affine, LeakyReLU (the convolution follows in GBlock). */
export class FusionBlock {
  private readonly affines: [Affine, Affine];

  constructor(params: ParamSet, name: string, condDim: number, channels: number, rng: Rng) {
    this.affines = [new Affine(params, `${name}.affine0`, condDim, channels, rng), new Affine(params, `${name}.affine1`, condDim, channels, rng)];
  }

  apply(x: tf.Tensor4D, e: tf.Tensor2D): tf.Tensor4D {
    const h = tf.leakyRelu(this.affines[0].apply(x, e), 0.2);
    return tf.leakyRelu(this.affines[1].apply(h, e), 0.2);
  }
}

/**
 * UPBlock: nearest 2x up-sampling, then shortcut(x) + conv(fuse(conv(fuse(x)))) with 3x3 convolutions;
 * the shortcut is a 1x1 convolution where the channel count changes.
 */
export class UpBlock {
  private readonly fuse: [FusionBlock, FusionBlock];
  private readonly convs: [Conv2d, Conv2d];
  private readonly shortcut: Conv2d | null;

  constructor(params: ParamSet, name: string, condDim: number, inChannels: number, outChannels: number, rng: Rng) {
    this.fuse = [new FusionBlock(params, `${name}.fuse1`, condDim, inChannels, rng), new FusionBlock(params, `${name}.fuse2`, condDim, outChannels, rng)];
    this.convs = [
      new Conv2d(params, `${name}.c1`, { inChannels, outChannels, kernel: 3, padding: 1, bias: true }, rng),
      new Conv2d(params, `${name}.c2`, { inChannels: outChannels, outChannels, kernel: 3, padding: 1, bias: true }, rng),
    ];
    this.shortcut = inChannels !== outChannels ? new Conv2d(params, `${name}.sc`, { inChannels, outChannels, kernel: 1, bias: true }, rng) : null;
  }

  /** [n, h, w, in] -> [n, 2h, 2w, out]. */
  apply(x: tf.Tensor4D, e: tf.Tensor2D): tf.Tensor4D {
    const [, h, w] = x.shape;
    const up = tf.image.resizeNearestNeighbor(x, [2 * h, 2 * w]);
    const residual = this.convs[1].apply(this.fuse[1].apply(this.convs[0].apply(this.fuse[0].apply(up, e)), e));
    return tf.add(this.shortcut ? this.shortcut.apply(up) : up, residual) as tf.Tensor4D;
  }
}

/**
 * 2x2 average pooling, stride 2. MA-GP differentiates through its gradient (AvgPoolGrad's gradient:
 * engine/gradients.ts). One kernel each way on WebGPU, where a reshape and a mean over two axes took a
 * six-axis transpose and a reduction of four values per workgroup.
 */
export function averagePool2x2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.avgPool(x, 2, 2, 'valid');
}

/**
 * DF-GAN's down-sampling residual block: avgpool(shortcut(x)) + γ · residual(x), residual = 4x4 stride-2
 * conv, LeakyReLU, 3x3 conv, LeakyReLU (no biases); γ is a learned scalar starting at 0.
 */
export class DownBlock {
  private readonly convs: [Conv2d, Conv2d];
  private readonly shortcut: Conv2d | null;
  private readonly gamma: tf.Variable;

  constructor(params: ParamSet, name: string, inChannels: number, outChannels: number, rng: Rng) {
    this.convs = [
      new Conv2d(params, `${name}.r1`, { inChannels, outChannels, kernel: 4, stride: 2, padding: 1 }, rng),
      new Conv2d(params, `${name}.r2`, { inChannels: outChannels, outChannels, kernel: 3, padding: 1 }, rng),
    ];
    this.shortcut = inChannels !== outChannels ? new Conv2d(params, `${name}.sc`, { inChannels, outChannels, kernel: 1, bias: true }, rng) : null;
    this.gamma = params.add(`${name}.gamma`, tf.zeros([1]));
  }

  /** [n, h, w, in] -> [n, h/2, w/2, out]. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const residual = tf.leakyRelu(this.convs[1].apply(tf.leakyRelu(this.convs[0].apply(x), 0.2)), 0.2);
    const shortcut = averagePool2x2(this.shortcut ? this.shortcut.apply(x) : x);
    return tf.add(shortcut, tf.mul(this.gamma, residual)) as tf.Tensor4D;
  }
}
