import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng } from '../engine/rng.ts';
import { GantryError } from '../errors.ts';
import { BatchNorm2d, Conv2d, ConvTranspose2d } from '../nn/layers.ts';
import { ParamSet } from '../nn/params.ts';
import { bceLossD, nonSaturatingLossG } from '../losses/adversarial.ts';
import { Adam } from '../train/adam.ts';
import { DcganGpuStep, useGpuStep } from '../gpu/dcgan-step.ts';
import { DcganGpuGenerator } from '../gpu/dcgan-generator.ts';
import { disposeModel, type Batch, type DataShape, type Family, type FamilyInstance, type StepContext } from './family.ts';

/** DCGAN (Radford et al. 2015) as in pytorch/examples: all convolutions 4x4, no biases, N(0, 0.02) init. */
export const dcganSchema = z
  .object({
    imageSize: z.union([z.literal(32), z.literal(64)]).default(32),
    /** 0 = take from the data. */
    channels: z.number().int().min(0).max(4).default(0),
    nz: z.number().int().positive().default(100),
    ngf: z.number().int().positive().default(64),
    ndf: z.number().int().positive().default(64),
    lr: z.number().positive().default(2e-4),
    beta1: z.number().min(0).max(1).default(0.5),
    beta2: z.number().min(0).max(1).default(0.999),
  })
  .strict();

export type DcganConfig = z.infer<typeof dcganSchema>;

type LayerHook = (name: string, output: tf.Tensor) => void;

const WEIGHT_INIT = { kind: 'normal', std: 0.02 } as const;
const GAMMA_INIT = { kind: 'normal', mean: 1, std: 0.02 } as const;

/** Number of 2x up-sampling stages after the first 4x4 map. */
function upStages(imageSize: number): number {
  return Math.log2(imageSize) - 2;
}

export class DcganGenerator {
  readonly params = new ParamSet();
  private readonly convs: ConvTranspose2d[] = [];
  private readonly norms: BatchNorm2d[] = [];

  constructor(readonly config: DcganConfig, rng: Rng) {
    const { nz, ngf, channels, imageSize } = config;
    const n = upStages(imageSize);
    let c = ngf * 2 ** (n - 1);
    // z -> 4x4x(ngf*2^(n-1))
    this.convs.push(new ConvTranspose2d(this.params, 'main.0', { inChannels: nz, outChannels: c, kernel: 4, init: WEIGHT_INIT }, rng));
    this.norms.push(new BatchNorm2d(this.params, 'main.1', { channels: c, gammaInit: GAMMA_INIT }, rng));
    // each block doubles the size and halves the channels: 8x8x(c/2), 16x16x(c/4), ...
    for (let i = 1; i < n; i++) {
      this.convs.push(new ConvTranspose2d(this.params, `main.${3 * i}`, { inChannels: c, outChannels: c / 2, kernel: 4, stride: 2, padding: 1, init: WEIGHT_INIT }, rng));
      this.norms.push(new BatchNorm2d(this.params, `main.${3 * i + 1}`, { channels: c / 2, gammaInit: GAMMA_INIT }, rng));
      c /= 2;
    }
    // imageSize x imageSize x channels, tanh
    this.convs.push(new ConvTranspose2d(this.params, `main.${3 * n}`, { inChannels: c, outChannels: channels, kernel: 4, stride: 2, padding: 1, init: WEIGHT_INIT }, rng));
  }

  /** onLayer sees each block's output (tests check the shapes). */
  apply(z: tf.Tensor2D, training: boolean, onLayer?: LayerHook): tf.Tensor4D {
    let x = tf.reshape(z, [z.shape[0], 1, 1, this.config.nz]) as tf.Tensor4D;
    for (let i = 0; i < this.norms.length; i++) {
      x = tf.relu(this.norms[i].apply(this.convs[i].apply(x), training));
      onLayer?.(`block${i}`, x);
    }
    const out = tf.tanh(this.convs[this.convs.length - 1].apply(x));
    onLayer?.('out', out);
    return out;
  }
}

export class DcganDiscriminator {
  readonly params = new ParamSet();
  private readonly convs: Conv2d[] = [];
  private readonly norms: BatchNorm2d[] = [];

  constructor(readonly config: DcganConfig, rng: Rng) {
    const { ndf, channels, imageSize } = config;
    const n = upStages(imageSize);
    let c = ndf;
    // (size/2)x(size/2)xndf, no batch norm on the first layer
    this.convs.push(new Conv2d(this.params, 'main.0', { inChannels: channels, outChannels: c, kernel: 4, stride: 2, padding: 1, init: WEIGHT_INIT }, rng));
    // each block halves the size and doubles the channels, down to 4x4
    for (let i = 1; i < n; i++) {
      this.convs.push(new Conv2d(this.params, `main.${3 * i - 1}`, { inChannels: c, outChannels: 2 * c, kernel: 4, stride: 2, padding: 1, init: WEIGHT_INIT }, rng));
      this.norms.push(new BatchNorm2d(this.params, `main.${3 * i}`, { channels: 2 * c, gammaInit: GAMMA_INIT }, rng));
      c *= 2;
    }
    // 1x1x1 logit
    this.convs.push(new Conv2d(this.params, `main.${3 * n - 1}`, { inChannels: c, outChannels: 1, kernel: 4, init: WEIGHT_INIT }, rng));
  }

  /** Raw logits, shape [batch]. */
  apply(x: tf.Tensor4D, training: boolean, onLayer?: LayerHook): tf.Tensor1D {
    return this.head(this.features(x, training, onLayer), onLayer);
  }

  /** The last 4x4 feature map [batch, 4, 4, channels] (conditional discriminators add their heads to it). */
  features(x: tf.Tensor4D, training: boolean, onLayer?: LayerHook): tf.Tensor4D {
    let h = tf.leakyRelu(this.convs[0].apply(x), 0.2);
    onLayer?.('block0', h);
    for (let i = 0; i < this.norms.length; i++) {
      h = tf.leakyRelu(this.norms[i].apply(this.convs[i + 1].apply(h), training), 0.2);
      onLayer?.(`block${i + 1}`, h);
    }
    return h;
  }

  /** The real/fake logit of a feature map: one 4x4 convolution -> [batch]. */
  head(h: tf.Tensor4D, onLayer?: LayerHook): tf.Tensor1D {
    const logits = this.convs[this.convs.length - 1].apply(h);
    onLayer?.('out', logits);
    return tf.reshape(logits, [h.shape[0]]);
  }

  /** Channels of the feature map that `features` returns. */
  get featureChannels(): number {
    return this.config.ndf * 2 ** (upStages(this.config.imageSize) - 1);
  }
}

/** Draws n latent vectors from N(0, I) with the given stream. */
export function sampleLatent(rng: Rng, n: number, nz: number): tf.Tensor2D {
  return tf.tensor2d(rng.fillNormal(new Float32Array(n * nz)), [n, nz]);
}

export class Dcgan implements FamilyInstance {
  readonly G: DcganGenerator;
  readonly D: DcganDiscriminator;
  readonly networks: Record<string, ParamSet>;
  readonly optimizers: Record<string, Adam>;
  readonly latentDim: number;
  /** On WebGPU: the replayed training step, which holds the current weights while it trains. */
  private gpu: DcganGpuStep | null = null;
  private gpuGenerator: DcganGpuGenerator | null = null;
  private variablesStale = false;

  constructor(readonly config: DcganConfig, seed: number) {
    this.G = new DcganGenerator(config, new Rng(seed, 'init', 'G'));
    this.D = new DcganDiscriminator(config, new Rng(seed, 'init', 'D'));
    this.networks = { G: this.G.params, D: this.D.params };
    const adam = { lr: config.lr, beta1: config.beta1, beta2: config.beta2 };
    this.optimizers = { G: new Adam(this.G.params.trainable(), adam), D: new Adam(this.D.params.trainable(), adam) };
    this.latentDim = config.nz;
  }

  /**
   * One step as pytorch/examples/dcgan takes it: D on real and detached fake, then G through the
   * updated D, reusing the one generator forward pass. The outer tape records G's forward; the D
   * update inside it is computed on its own inner tape and does not reach G's gradient.
   */
  trainStep(batch: Batch, ctx: StepContext): Record<string, tf.Scalar> {
    const z = sampleLatent(ctx.rng, batch.images.shape[0], this.config.nz);
    const losses = this.trainStepWithNoise(batch, z);
    z.dispose();
    return losses;
  }

  /** The step with given latent vectors (the golden test feeds PyTorch's). */
  trainStepWithNoise(batch: Batch, z: tf.Tensor2D): Record<string, tf.Scalar> {
    if (useGpuStep()) {
      if (this.gpu && this.gpu.batch !== batch.images.shape[0]) this.releaseGpuStep();
      this.gpu ??= new DcganGpuStep(this, batch.images.shape[0]);
      this.variablesStale = true;
      return this.gpu.step(batch.images, z);
    }
    let lossD: tf.Scalar | null = null;
    const { value: lossG, grads: gradsG } = tf.variableGrads(() => {
      const fake = this.G.apply(z, true);
      const { value, grads } = tf.variableGrads(
        () => bceLossD(this.D.apply(batch.images, true), this.D.apply(fake, true)),
        this.D.params.trainable(),
      );
      this.optimizers.D.apply(grads);
      tf.dispose(grads);
      lossD = tf.keep(value);
      return nonSaturatingLossG(this.D.apply(fake, true));
    }, this.G.params.trainable());
    this.optimizers.G.apply(gradsG);
    tf.dispose(gradsG);
    return { lossD: lossD!, lossG };
  }

  generate(z: tf.Tensor2D): tf.Tensor4D {
    this.syncVariables();
    if (useGpuStep()) {
      if (this.gpuGenerator?.batch !== z.shape[0]) {
        this.gpuGenerator?.dispose();
        this.gpuGenerator = new DcganGpuGenerator(this.G, z.shape[0]);
      } else {
        this.gpuGenerator.refresh();
      }
      return this.gpuGenerator.generate(z);
    }
    return tf.tidy(() => this.G.apply(z, false));
  }

  /** Waits until the GPU has finished what this model submitted (timing). */
  async idle(): Promise<void> {
    await this.gpuGenerator?.idle();
  }

  syncVariables(): void {
    if (!this.variablesStale) return;
    this.gpu!.download();
    this.variablesStale = false;
  }

  private releaseGpuStep(): void {
    this.syncVariables();
    this.gpu?.dispose();
    this.gpu = null;
  }

  dispose(): void {
    this.gpu?.dispose();
    this.gpuGenerator?.dispose();
    disposeModel(this);
  }
}

/** The channel count a model of square images takes from the data (config.channels 0: the data's own). */
export function imageChannels(family: string, config: { imageSize: number; channels: number }, data: DataShape): number {
  if (data.height !== config.imageSize || data.width !== config.imageSize) {
    throw new GantryError(`${family}: data is ${data.height}x${data.width} but model.imageSize is ${config.imageSize}; the data loader resizes to model.imageSize, so this is a bug`);
  }
  return config.channels || data.channels;
}

export const dcganFamily: Family<DcganConfig> = {
  name: 'dcgan',
  description: 'DCGAN: transposed-conv generator, strided-conv discriminator, BCE loss',
  schema: dcganSchema,
  resolve: (config, data) => ({ ...config, channels: imageChannels('dcgan', config, data) }),
  create: (config, seed) => new Dcgan(config, seed),
};
