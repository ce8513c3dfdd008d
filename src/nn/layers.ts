import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/rng.ts';
import { initTensor, torchDefaultInit, type Init } from './init.ts';
import type { ParamSet } from './params.ts';
import { fusedBatchNormTrain } from '../kernels/batch-norm.ts';
import { fusedKernelName, type FusedKernel } from '../engine/gradients.ts';
import { gradientsRecorded, insideTwiceDifferentiable } from '../engine/backward.ts';
import { SpectralNorm } from './spectral-norm.ts';

/**
 * Layers as small objects over a ParamSet, NHWC throughout. Padding is given the PyTorch way (a number
 * of pixels each side) so networks read like their papers' reference code.
 */

export interface ConvOptions {
  inChannels: number;
  outChannels: number;
  /** k, or [kh, kw] */
  kernel: number | [number, number];
  stride?: number;
  /** p each side, or [ph, pw] */
  padding?: number | [number, number];
  /** Transposed convolutions: extra rows and columns at the bottom and right of the output (PyTorch's output_padding). */
  outputPadding?: number;
  bias?: boolean;
  init?: Init;
  /** Divide the weight by its spectral norm at every pass (nn/spectral-norm.ts; convolutions and products). */
  spectralNorm?: boolean;
}

const pair = (v: number | [number, number]): [number, number] => (Array.isArray(v) ? v : [v, v]);

/** An activation a layer applies to its output: with a bias, as the fused kernel stores the output. */
export interface Activation {
  name: 'relu' | 'leakyrelu';
  alpha: number;
}
export const RELU: Activation = { name: 'relu', alpha: 0 };
export const leaky = (alpha: number): Activation => ({ name: 'leakyrelu', alpha });

function activate<T extends tf.Tensor>(y: T, a: Activation | undefined): T {
  if (!a) return y;
  return a.name === 'relu' ? tf.relu(y) : tf.leakyRelu(y, a.alpha);
}

/**
 * A convolution or product with its bias and activation as tfjs's fused kernel (every backend has one),
 * recorded for gradients as the kernel itself (src/engine/gradients.ts), not through tfjs's fused op.
 */
function fused(kernel: FusedKernel, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>, a: Activation | undefined): tf.Tensor {
  // The kernel is run directly, without the op's checks: an input of the wrong width would be read past its end.
  const [x, w] = kernel === 'FusedConv2D' ? [inputs.x.shape[3], inputs.filter.shape[2]] : [inputs.a.shape[1], inputs.b.shape[0]];
  if (x !== w) throw new Error(`${kernel}: an input of ${x} channels for weights that read ${w}`);
  const activation = a?.name ?? 'linear';
  return tf.engine().runKernel(fusedKernelName(kernel, activation), inputs, { ...attrs, activation, leakyreluAlpha: a?.alpha } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** 2-D convolution; weight [kh, kw, in, out]. */
export class Conv2d {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  private readonly spectralNorm: SpectralNorm | null;
  private readonly stride: number;
  private readonly padding: 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

  constructor(params: ParamSet, name: string, o: ConvOptions, rng: Rng) {
    const [kh, kw] = pair(o.kernel);
    const fanIn = o.inChannels * kh * kw;
    const init = o.init ?? torchDefaultInit(fanIn);
    this.weight = params.add(`${name}.weight`, initTensor([kh, kw, o.inChannels, o.outChannels], init, rng));
    this.bias = o.bias ? params.add(`${name}.bias`, initTensor([o.outChannels], torchDefaultInit(fanIn), rng)) : null;
    this.spectralNorm = o.spectralNorm ? new SpectralNorm(params, name, this.weight, rng) : null;
    this.stride = o.stride ?? 1;
    const [ph, pw] = pair(o.padding ?? 0);
    // 'valid' rather than 0: tfjs sizes a numeric padding's output with the kernel's height on both sides.
    this.padding = ph === 0 && pw === 0 ? 'valid' : ph === pw ? ph : [[0, 0], [ph, ph], [pw, pw], [0, 0]];
  }

  apply(x: tf.Tensor4D, activation?: Activation): tf.Tensor4D {
    const filter = (this.spectralNorm ? this.spectralNorm.apply() : this.weight) as tf.Tensor4D;
    if (!this.bias) return activate(tf.conv2d(x, filter, this.stride, this.padding), activation);
    // The fused kernel adds the bias (and applies the activation) as the convolution stores its output.
    return fused('FusedConv2D', { x, filter, bias: this.bias }, { strides: this.stride, pad: this.padding, dataFormat: 'NHWC', dilations: 1 }, activation) as tf.Tensor4D;
  }
}

/**
 * Transposed convolution (the gradient of a convolution with respect to its input); weight
 * [kh, kw, out, in] as tfjs wants it. Output size (in - 1) * stride - 2 * padding + k per side, as in PyTorch.
 */
export class ConvTranspose2d {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  private readonly stride: number;
  private readonly padding: number;
  private readonly kernel: [number, number];
  private readonly outChannels: number;
  private readonly outputPadding: number;

  constructor(params: ParamSet, name: string, o: ConvOptions, rng: Rng) {
    if (typeof o.padding === 'object') throw new Error('ConvTranspose2d takes the same padding on every side');
    this.outputPadding = o.outputPadding ?? 0;
    const [kh, kw] = pair(o.kernel);
    const fanIn = o.outChannels * kh * kw; // PyTorch computes fan-in from weight dim 1
    const init = o.init ?? torchDefaultInit(fanIn);
    this.weight = params.add(`${name}.weight`, initTensor([kh, kw, o.outChannels, o.inChannels], init, rng));
    this.bias = o.bias ? params.add(`${name}.bias`, initTensor([o.outChannels], torchDefaultInit(fanIn), rng)) : null;
    this.stride = o.stride ?? 1;
    this.padding = o.padding ?? 0;
    this.kernel = [kh, kw];
    this.outChannels = o.outChannels;
  }

  /** Output [h, w] of an input [h, w]. */
  outputSize(h: number, w: number): [number, number] {
    const side = (inSize: number, k: number) => (inSize - 1) * this.stride - 2 * this.padding + k + this.outputPadding;
    return [side(h, this.kernel[0]), side(w, this.kernel[1])];
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const [b, h, w] = x.shape;
    const outShape: [number, number, number, number] = [b, ...this.outputSize(h, w), this.outChannels];
    // 'valid' rather than 0: tfjs sizes a numeric padding's output with the kernel's height on both sides.
    const y = tf.conv2dTranspose(x, this.weight as tf.Tensor4D, outShape, this.stride, this.padding === 0 ? 'valid' : this.padding);
    return this.bias ? tf.add(y, this.bias) : y;
  }
}

/** Fully connected layer; weight [in, out]. */
export class Linear {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  private readonly spectralNorm: SpectralNorm | null;

  constructor(params: ParamSet, name: string, o: { inFeatures: number; outFeatures: number; bias?: boolean; init?: Init; biasInit?: Init; spectralNorm?: boolean }, rng: Rng) {
    const init = o.init ?? torchDefaultInit(o.inFeatures);
    this.weight = params.add(`${name}.weight`, initTensor([o.inFeatures, o.outFeatures], init, rng));
    this.bias = o.bias === false ? null : params.add(`${name}.bias`, initTensor([o.outFeatures], o.biasInit ?? torchDefaultInit(o.inFeatures), rng));
    this.spectralNorm = o.spectralNorm ? new SpectralNorm(params, name, this.weight, rng) : null;
  }

  apply(x: tf.Tensor2D, activation?: Activation): tf.Tensor2D {
    const b = (this.spectralNorm ? this.spectralNorm.apply() : this.weight) as tf.Tensor2D;
    if (!this.bias) return activate(tf.matMul(x, b) as tf.Tensor2D, activation);
    return fused('_FusedMatMul', { a: x, b, bias: this.bias }, { transposeA: false, transposeB: false }, activation) as tf.Tensor2D;
  }
}

export interface BatchNormOptions {
  channels: number;
  momentum?: number;
  eps?: number;
  /** Init of the scale; DCGAN draws it from N(1, 0.02). */
  gammaInit?: Init;
}

/**
 * Batch normalisation over N, H, W (PyTorch semantics): batch statistics in training, with the running
 * mean and the unbiased running variance updated by `momentum`; running statistics in evaluation. In
 * training one kernel, or inside twiceDifferentiable (a gradient penalty's pass) tfjs's ops.
 */
export class BatchNorm2d {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  private readonly momentum: number;
  private readonly eps: number;

  constructor(params: ParamSet, name: string, o: BatchNormOptions, rng: Rng) {
    const c = o.channels;
    this.gamma = params.add(`${name}.weight`, initTensor([c], o.gammaInit ?? { kind: 'constant', value: 1 }, rng));
    this.beta = params.add(`${name}.bias`, tf.zeros([c]));
    this.runningMean = params.add(`${name}.running_mean`, tf.zeros([c]), false);
    this.runningVar = params.add(`${name}.running_var`, tf.ones([c]), false);
    this.momentum = o.momentum ?? 0.1;
    this.eps = o.eps ?? 1e-5;
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    if (!training) {
      // Evaluation: the backend's one-pass kernel (the addon's loop on the CPU, a dispatch on WebGPU where the
      // ops took five, a shader on WebGL). Broadcast ops under a gradient pass (projecting an image into z),
      // where tfjs's gradient of that kernel tiles the scale to x's size.
      if (gradientsRecorded()) return tf.add(tf.mul(tf.sub(x, this.runningMean), tf.mul(this.gamma, tf.rsqrt(tf.add(this.runningVar, this.eps)))), this.beta);
      return tf.batchNorm(x, this.runningMean, this.runningVar, this.beta, this.gamma, this.eps) as tf.Tensor4D;
    }
    const fused = insideTwiceDifferentiable() ? null : fusedBatchNormTrain(x, this.gamma, this.beta, { mean: this.runningMean, variance: this.runningVar }, this.eps, this.momentum);
    if (fused) {
      this.runningMean.assign(fused.runningMean);
      this.runningVar.assign(fused.runningVar);
      return fused.y as tf.Tensor4D;
    }
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    this.updateRunningStats(mean, variance, x.size / x.shape[3]);
    const scale = tf.mul(this.gamma, tf.rsqrt(tf.add(variance, this.eps)));
    return tf.add(tf.mul(tf.sub(x, mean), scale), this.beta);
  }

  // No gradient flows through the running statistics: nothing downstream of a loss reads them.
  private updateRunningStats(mean: tf.Tensor, variance: tf.Tensor, count: number): void {
    tf.tidy(() => {
      const m = this.momentum;
      const unbiased = tf.mul(variance, count / Math.max(count - 1, 1));
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(unbiased, m)));
    });
  }
}

/**
 * Layer normalisation of a feature map (Ba et al. 2016) as WGAN-GP's critics take it (Gulrajani et al.'s
 * tflib Layernorm over H, W and C): each image normalised over all of its values (biased variance, eps 1e-5),
 * then scaled and shifted per channel. Its statistics are each image's own, so a penalty on each image's
 * gradient stays that image's; the same in training and evaluation.
 */
export class LayerNorm2d {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;

  constructor(params: ParamSet, name: string, channels: number, private readonly eps = 1e-5) {
    this.gamma = params.add(`${name}.weight`, tf.ones([channels]));
    this.beta = params.add(`${name}.bias`, tf.zeros([channels]));
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, [1, 2, 3], true);
      return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps))), this.gamma), this.beta) as tf.Tensor4D;
    });
  }
}
