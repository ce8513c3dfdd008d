import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng } from '../engine/rng.ts';
import { gradientsRecorded } from '../engine/backward.ts';
import { GantryError } from '../errors.ts';
import type { Batch, DataShape } from '../data/batch.ts';
import { dcganArchitecture, type DcganLayer, type DcganShape } from '../nn/dcgan-architecture.ts';
import { BatchNorm2d, Conv2d, ConvTranspose2d, LayerNorm2d } from '../nn/layers.ts';
import { stepLatent } from '../nn/noise.ts';
import { eagerWebGpuRequested, environment } from './step-runner.ts';
import { ParamSet } from '../nn/params.ts';
import { ADVERSARIAL_LOSSES, adversarialLossD, adversarialLossG } from '../losses/adversarial.ts';
import { Adam } from '../optim/adam.ts';
import { DcganGpuStep } from '../gpu/dcgan-step.ts';
import { DcganGpuGenerator } from '../gpu/dcgan-generator.ts';
import { pendingGemms } from '../gpu/gemm-tuning.ts';
import { expectNoCondition, type Condition, type Conditioning, type ModelInfo } from './condition.ts';
import { disposeModel, updateKey, type Family, type FamilyInstance, type ModelOptions, type StepContext } from './family.ts';
import { alternatingStep } from './gan-step.ts';
import { augmentField, diffAugment } from '../nn/diff-augment.ts';
import { gradientPenaltyWeight, interpolate, isLazyR1Step, lazyR1, mixingWeights, withGradientPenalty, withR1 } from '../losses/penalties.ts';

/** D's normalisations (model.dNorm). */
export const D_NORMS = ['batch', 'layer', 'none'] as const;
export type DNorm = (typeof D_NORMS)[number];

/** DCGAN (Radford et al. 2015) as in pytorch/examples: all convolutions 4x4, no biases, N(0, 0.02) init. */
export const dcganSchema = z
  .object({
    /** Image height (and width, unless imageWidth is given); 128 adds a stage beyond the paper's 64 (ngf * 16 at 4x4). */
    imageSize: z.union([z.literal(32), z.literal(64), z.literal(128)], { error: 'expected 32, 64 or 128' }).default(32),
    /** Image width when it differs from the height: half, equal or twice imageSize (0 = imageSize, square). */
    imageWidth: z.union([z.literal(0), z.literal(16), z.literal(32), z.literal(64), z.literal(128), z.literal(256)], { error: 'expected 0 (square), 16, 32, 64, 128 or 256' }).default(0),
    /** 0 = take from the data. */
    channels: z.number().int().min(0).max(4).default(0),
    nz: z.number().int().positive().default(100),
    ngf: z.number().int().positive().default(64),
    ndf: z.number().int().positive().default(64),
    lr: z.number().positive().default(2e-4),
    /**
     * D's learning rate where it differs from G's: the two time-scale update rule (Heusel et al. 2017;
     * SAGAN trains D at 4e-4 against G's 1e-4). Absent: lr.
     */
    lrD: z.number().positive().optional(),
    beta1: z.number().min(0).max(1).default(0.5),
    beta2: z.number().min(0).max(1).default(0.999),
    /**
     * "bce" (DCGAN's, with the non-saturating G loss), "hinge" (SAGAN's and the projection paper's) or
     * "wgan-gp" (Gulrajani et al.: D a critic of E[D(fake)] - E[D(real)] with the gradient penalty `gp`, and
     * no batch norm in D: dNorm "none", as in the paper's DCGAN critics, or "layer").
     */
    loss: z.enum(ADVERSARIAL_LOSSES, { error: 'expected "bce", "hinge" or "wgan-gp"' }).default('bce'),
    /**
     * λ of WGAN-GP's penalty, λ · mean (‖∂D(x̂)/∂x̂‖ - 1)² at x̂ = ε·real + (1 - ε)·fake, ε ~ U(0, 1) per image
     * (losses/penalties.ts). Only with loss "wgan-gp"; absent: 10, the paper's.
     */
    gp: z.number().positive().optional(),
    /**
     * D's normalisation in every block but the first: "batch" (DCGAN's), "layer" (each image over its own
     * values, scaled and shifted per channel: what Gulrajani et al. recommend for WGAN-GP's critic) or "none".
     * Without batch norm D's convolutions take biases. Absent: "batch", or "none" with spectralNorm or WGAN-GP.
     */
    dNorm: z.enum(D_NORMS, { error: 'expected "batch", "layer" or "none"' }).optional(),
    /**
     * Differentiable augmentation of every image D sees, real or generated (nn/diff-augment.ts: "color",
     * "translation", "cutout"; the authors use all three for small data sets). [] : none.
     */
    augment: augmentField,
    /**
     * Spectral normalisation of every weight of D (Miyato et al. 2018; nn/spectral-norm.ts), whose
     * convolutions then take biases in place of batch norm, as in their networks: each layer of D 1-Lipschitz.
     */
    spectralNorm: z.boolean().default(false),
    /**
     * γ of the R1 gradient penalty on real images (Mescheder et al. 2018; losses/penalties.ts), added to
     * D's loss: γ/2 · mean ‖∂D(x)/∂x‖². 0: none. It costs a second backward pass through D on every D step.
     */
    r1: z.number().min(0).default(0),
    /**
     * R1 every this many steps, lazily (StyleGAN2's lazy regularization; it uses 16): on those steps an
     * update of D's own on the penalty times r1Every, and D's Adam slowed to match (lr and both betas to
     * the power c = r1Every / (r1Every + 1)). 1: the penalty in D's loss every step.
     */
    r1Every: z.number().int().min(1).default(1),
  })
  .strict();

export type DcganConfig = z.infer<typeof dcganSchema>;

/** The image height and width of a DCGAN config (imageWidth 0: square). */
export function imageShape(config: { imageSize: number; imageWidth?: number }): { height: number; width: number } {
  return { height: config.imageSize, width: config.imageWidth || config.imageSize };
}

/** What DCGAN's layers are built from (src/nn/dcgan-architecture.ts). */
export function dcganShape(config: DcganConfig): DcganShape {
  const { channels, nz, ngf, ndf } = config;
  return { ...imageShape(config), channels, nz, ngf, ndf };
}

type LayerHook = (name: string, output: tf.Tensor) => void;

const WEIGHT_INIT = { kind: 'normal', std: 0.02 } as const;
const GAMMA_INIT = { kind: 'normal', mean: 1, std: 0.02 } as const;

export class DcganGenerator {
  readonly params = new ParamSet();
  readonly layers: DcganLayer[];
  private readonly convs: ConvTranspose2d[] = [];
  private readonly norms: BatchNorm2d[] = [];

  constructor(readonly shape: DcganShape, rng: Rng) {
    // z -> base map (4x4, or 4x8 at 2:1) -> each block doubles the size and halves the channels -> H x W x channels
    this.layers = dcganArchitecture(shape).g;
    for (const l of this.layers) {
      this.convs.push(new ConvTranspose2d(this.params, l.name, { inChannels: l.inChannels, outChannels: l.outChannels, kernel: l.kernel, stride: l.stride, padding: l.padding, init: WEIGHT_INIT }, rng));
      if (l.norm) this.norms.push(new BatchNorm2d(this.params, l.norm, { channels: l.outChannels, gammaInit: GAMMA_INIT }, rng));
    }
  }

  /** onLayer sees each block's output (tests check the shapes). */
  apply(z: tf.Tensor2D, training: boolean, onLayer?: LayerHook): tf.Tensor4D {
    let x = tf.reshape(z, [z.shape[0], 1, 1, this.shape.nz]) as tf.Tensor4D;
    for (let i = 0; i < this.norms.length; i++) {
      x = tf.relu(this.norms[i].apply(this.convs[i].apply(x), training));
      onLayer?.(`block${i}`, x);
    }
    const out = tf.tanh(this.convs[this.convs.length - 1].apply(x));
    onLayer?.('out', out);
    return out;
  }
}

export interface DiscriminatorOptions {
  /** Spectral normalisation of every weight (false). */
  spectralNorm?: boolean;
  /** The normalisation in every block but the first (absent: batch norm; discriminatorOptions gives a config's); without batch norm, biases. */
  norm?: DNorm;
}

/**
 * D's options from a DCGAN-based config: spectral normalisation as asked, and model.dNorm, whose default is
 * batch norm but with spectral normalisation (Miyato et al.'s networks have none) or WGAN-GP (a penalty on
 * each image's own gradient, which batch norm would tie to the rest of the batch).
 */
export function discriminatorOptions(config: { spectralNorm: boolean; loss: string; dNorm?: DNorm }): DiscriminatorOptions {
  return { spectralNorm: config.spectralNorm, norm: config.dNorm ?? (config.spectralNorm || config.loss === 'wgan-gp' ? 'none' : 'batch') };
}

export class DcganDiscriminator {
  readonly params = new ParamSet();
  readonly layers: DcganLayer[];
  private readonly convs: Conv2d[] = [];
  /** Each block's normalisation after the first (model.dNorm), or null. */
  private readonly norms: (BatchNorm2d | LayerNorm2d | null)[] = [];

  constructor(readonly shape: DcganShape, rng: Rng, options: DiscriminatorOptions = {}) {
    // H/2 x W/2 x ndf (no batch norm) -> each block halves the size and doubles the channels -> base map -> one logit
    this.layers = dcganArchitecture(shape).d;
    const spectralNorm = options.spectralNorm ?? false;
    const norm = options.norm ?? 'batch';
    for (const l of this.layers) {
      // Without batch norm, whose shift was D's only offset, each convolution takes a bias (as in Miyato et al.'s and Gulrajani et al.'s networks).
      this.convs.push(new Conv2d(this.params, l.name, { inChannels: l.inChannels, outChannels: l.outChannels, kernel: l.kernel, stride: l.stride, padding: l.padding, init: WEIGHT_INIT, bias: norm !== 'batch', spectralNorm }, rng));
      if (!l.norm) continue;
      if (norm === 'batch') this.norms.push(new BatchNorm2d(this.params, l.norm, { channels: l.outChannels, gammaInit: GAMMA_INIT }, rng));
      else this.norms.push(norm === 'layer' ? new LayerNorm2d(this.params, l.norm, l.outChannels) : null);
    }
  }

  /** Raw logits, shape [batch]. */
  apply(x: tf.Tensor4D, training: boolean, onLayer?: LayerHook): tf.Tensor1D {
    return this.head(this.features(x, training, onLayer), onLayer);
  }

  /**
   * The last feature map, the base map [batch, 4, 4 (8 at 2:1), channels] (conditional discriminators add
   * their heads to it); or, with `blocks`, the output of the first `blocks` blocks (VAE/GAN's Dis_l).
   */
  features(x: tf.Tensor4D, training: boolean, onLayer?: LayerHook, blocks = this.blockCount): tf.Tensor4D {
    let h = tf.leakyRelu(this.convs[0].apply(x), 0.2);
    onLayer?.('block0', h);
    for (let i = 0; i + 1 < blocks; i++) {
      const conv = this.convs[i + 1].apply(h);
      const norm = this.norms[i];
      h = tf.leakyRelu(norm ? norm.apply(conv, training) : conv, 0.2);
      onLayer?.(`block${i + 1}`, h);
    }
    return h;
  }

  /** The real/fake logit of a feature map: one convolution over the whole base map -> [batch]. */
  head(h: tf.Tensor4D, onLayer?: LayerHook): tf.Tensor1D {
    const logits = this.convs[this.convs.length - 1].apply(h);
    onLayer?.('out', logits);
    return tf.reshape(logits, [h.shape[0]]);
  }

  /** Its blocks (a convolution, its normalisation but in the first, LeakyReLU), before the head. */
  get blockCount(): number {
    return this.norms.length + 1;
  }

  /** Channels of the feature map that `features` returns. */
  get featureChannels(): number {
    return this.layers[this.layers.length - 1].inChannels;
  }

  /** [h, w] of the feature map that `features` returns (the base map). */
  get featureSize(): [number, number] {
    return this.layers[this.layers.length - 1].inSize;
  }
}

export interface DcganOptions extends ModelOptions {
  /**
   * Train and sample on gantry's replayed WebGPU step (src/gpu/) rather than tfjs's kernels. Default: on
   * the webgpu engine unless the trainer averages the weights. Chosen once, here; tests ask for either.
   */
  replayedGpuStep?: boolean;
}

export class Dcgan implements FamilyInstance {
  readonly G: DcganGenerator;
  readonly D: DcganDiscriminator;
  readonly networks: Record<string, ParamSet>;
  readonly optimizers: Record<string, Adam>;
  readonly replayedGpuStep: boolean;
  /** The hand-built WebGPU step and generator replay themselves; otherwise the generic recording does. */
  get replaysItself(): boolean {
    return this.replayedGpuStep;
  }
  readonly info: ModelInfo;
  /** On WebGPU: the replayed training step, which holds the current weights while it trains. */
  private gpu: DcganGpuStep | null = null;
  private gpuGenerator: DcganGpuGenerator | null = null;
  private variablesStale = false;

  constructor(readonly config: DcganConfig, seed: number, options: DcganOptions = {}) {
    this.G = new DcganGenerator(dcganShape(config), new Rng(seed, 'init', 'G'));
    this.D = new DcganDiscriminator(dcganShape(config), new Rng(seed, 'init', 'D'), discriminatorOptions(config));
    this.networks = { G: this.G.params, D: this.D.params };
    this.optimizers = ganOptimizers(config, this.G.params, this.D.params);
    this.info = describeDcgan(config);
    // GANTRY_DCGAN_HAND_BUILT=0: the generic recording instead (to measure one against the other).
    const handBuilt = environment('GANTRY_DCGAN_HAND_BUILT') !== '0';
    // The hand-built step is pytorch/examples' DCGAN: the hinge or WGAN-GP's loss, augmentations, spectral normalisation, R1, a D without batch norm and an average of the weights take the recorded one.
    const plain = config.loss === 'bce' && config.augment.length === 0 && !config.spectralNorm && config.r1 === 0 && discriminatorOptions(config).norm === 'batch';
    this.replayedGpuStep = options.replayedGpuStep ?? (tf.getBackend() === 'webgpu' && handBuilt && !options.weightsAveraged && plain && !eagerWebGpuRequested());
  }

  /**
   * One step as pytorch/examples/dcgan takes it: D on real and detached fake, then G through the
   * updated D, reusing the one generator forward pass.
   */
  trainStep(batch: Batch, ctx: StepContext): Record<string, tf.Scalar> {
    const z = stepLatent(ctx, batch.images.shape[0], this.config.nz);
    const losses = this.trainStepWithNoise(batch, z, ctx.updateG, ctx);
    z.dispose();
    return losses;
  }

  /** The step with given latent vectors (the golden test feeds PyTorch's); `ctx` draws the augmentations (model.augment). */
  trainStepWithNoise(batch: Batch, z: tf.Tensor2D, updateG = true, ctx?: StepContext): Record<string, tf.Scalar> {
    if (this.config.augment.length && !ctx) throw new Error('trainStepWithNoise: model.augment draws from the step\'s context; give it');
    if (this.config.r1Every > 1 && !ctx) throw new Error('trainStepWithNoise: a lazy R1 (model.r1Every) needs the step\'s number; give its context');
    const gp = gradientPenaltyWeight(this.config);
    if (gp && !ctx) throw new Error('trainStepWithNoise: WGAN-GP draws its interpolates from the step\'s context; give it');
    const seen = (x: tf.Tensor4D) => diffAugment(x, this.config.augment, ctx!);
    if (this.replayedGpuStep) {
      if (!updateG) throw new GantryError('dcgan on the replayed WebGPU step updates G every step; leave train.dSteps at 1');
      // Built again for another batch, or once the products it was built with untimed are timed (GANTRY_GPU_TUNING).
      if (this.gpu && (this.gpu.batch !== batch.images.shape[0] || (this.gpu.untuned && pendingGemms() === 0))) this.releaseGpuStep();
      this.gpu ??= new DcganGpuStep({ G: this.G, D: this.D }, { G: this.optimizers.G, D: this.optimizers.D }, batch.images.shape[0]);
      this.variablesStale = true;
      return this.gpu.step(batch.images, z);
    }
    return alternatingStep({ params: this.G.params, optimizer: this.optimizers.G }, { params: this.D.params, optimizer: this.optimizers.D }, {
      updateG,
      fake: () => this.G.apply(z, true),
      lossD: (fake) => {
        const terms = withR1(batch.images, everyStepR1(this.config), (x) => ({ source: this.D.apply(seen(x), true) }), (real) => ({ lossD: adversarialLossD(this.config.loss, real.source, this.D.apply(seen(fake), true)) }));
        if (!gp) return terms;
        const eps = mixingWeights(ctx!, fake.shape[0]);
        return withGradientPenalty(terms, interpolate(batch.images, fake, eps), gp, (x) => this.D.apply(seen(x), true));
      },
      lossG: (fake) => adversarialLossG(this.config.loss, this.D.apply(seen(fake), true)),
      regularizeD: ctx && isLazyR1Step(this.config, ctx.step) ? () => lazyR1(batch.images, this.config.r1, this.config.r1Every, (x) => this.D.apply(seen(x), true)) : undefined,
    });
  }

  stepKey(ctx: StepContext): string {
    return lazyR1StepKey(this.config, ctx);
  }

  generate(z: tf.Tensor2D, condition: Condition): tf.Tensor4D {
    expectNoCondition(this.info, condition);
    this.syncVariables();
    // The hand-built draw has no gradient: under a gradient pass (projecting an image into z), tfjs's ops.
    if (this.replayedGpuStep && !gradientsRecorded()) {
      if (this.gpuGenerator?.batch !== z.shape[0] || (this.gpuGenerator.untuned && pendingGemms() === 0)) {
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

/**
 * G's and D's Adam from a DCGAN-based config: lr for G, lrD (else lr) for D, the same betas. With a lazy R1
 * D updates r1Every + 1 times in r1Every steps, so its lr and betas are raised to c = r1Every / (r1Every + 1)
 * (StyleGAN2's mb_ratio), which keeps its moments' time scale and its step per image as they were.
 */
export function ganOptimizers(config: { lr: number; lrD?: number; beta1: number; beta2: number; r1?: number; r1Every?: number }, G: ParamSet, D: ParamSet): { G: Adam; D: Adam } {
  const adam = { lr: config.lr, beta1: config.beta1, beta2: config.beta2 };
  const every = config.r1Every ?? 1;
  const c = (config.r1 ?? 0) > 0 && every > 1 ? every / (every + 1) : 1;
  const lrD = (config.lrD ?? config.lr) * c;
  return { G: new Adam(G.trainable(), adam), D: new Adam(D.trainable(), { lr: lrD, beta1: config.beta1 ** c, beta2: config.beta2 ** c }) };
}

/** R1's γ in D's loss of every step: model.r1, or 0 where it is lazy (its own update every r1Every steps). */
export function everyStepR1(config: { r1: number; r1Every: number }): number {
  return config.r1Every > 1 ? 0 : config.r1;
}

/** A GAN's step key with a lazy R1: its steps with the penalty's update run more operations than the others. */
export function lazyR1StepKey(config: { r1: number; r1Every: number }, ctx: StepContext): string {
  return isLazyR1Step(config, ctx.step) ? `${updateKey(ctx)}, R1` : updateKey(ctx);
}

/** The loss's fields agree with D's: gp only for WGAN-GP, whose critic takes no batch norm and whose own penalty R1 would duplicate. */
export function checkLossFields(family: string, config: { loss: string; gp?: number; r1: number; dNorm?: DNorm }): void {
  if (config.gp !== undefined && config.loss !== 'wgan-gp') {
    throw new GantryError(`${family}: model.gp weighs WGAN-GP's gradient penalty, but model.loss is "${config.loss}"; set "loss": "wgan-gp" or leave gp out`);
  }
  if (config.loss === 'wgan-gp' && config.dNorm === 'batch') {
    throw new GantryError(`${family}: model.dNorm "batch" with "loss": "wgan-gp": batch norm ties each image's score to its batch, so WGAN-GP's penalty on each image's gradient no longer holds; use "layer" (the paper's advice) or "none"`);
  }
  if (config.loss === 'wgan-gp' && config.r1 > 0) {
    throw new GantryError(`${family}: model.r1 with "loss": "wgan-gp": WGAN-GP's penalty already holds D's gradient (at norm 1); leave r1 at 0, or use R1 with "bce" or "hinge"`);
  }
}

/** Image height and width that DCGAN's networks build: a base map of 4 on its shorter side, doubled per stage. */
export function checkImageShape(family: string, config: { imageSize: number; imageWidth?: number }): void {
  const { height, width } = imageShape(config);
  if (width !== height && width !== 2 * height && 2 * width !== height) {
    throw new GantryError(`${family}: model.imageWidth ${width} with model.imageSize ${height}; the width must be half, equal to or twice the height (0 for square)`);
  }
}

/**
 * The channel count a model takes from the data (config.channels 0: the data's own), after checking that
 * the data loader gave images of the model's size.
 */
export function imageChannels(family: string, config: { imageSize: number; imageWidth?: number; channels: number }, data: DataShape): number {
  const { height, width } = imageShape(config);
  if (data.height !== height || data.width !== width) {
    throw new GantryError(`${family}: data is ${data.height}x${data.width} but the model is ${height}x${width}; the data loader resizes to the model's size, so this is a bug`);
  }
  return config.channels || data.channels;
}

/** The description of an unconditioned image model of a config with imageSize (imageWidth) and channels. */
export function describeImageModel(family: string, config: { imageSize: number; imageWidth?: number; channels: number }, latentDim: number, conditioning: Conditioning = { kind: 'none' }): ModelInfo {
  return { family, ...imageShape(config), channels: config.channels, latentDim, conditioning, holdout: 0 };
}

function describeDcgan(config: DcganConfig): ModelInfo {
  return describeImageModel('dcgan', config, config.nz);
}

export const dcganFamily: Family<DcganConfig> = {
  name: 'dcgan',
  description: 'DCGAN: transposed-conv generator, strided-conv discriminator, BCE (or hinge, or WGAN-GP) loss',
  schema: dcganSchema,
  resumable: ['lr', 'lrD', 'beta1', 'beta2', 'r1', 'r1Every', 'gp'],
  resolve(config, data) {
    checkImageShape('dcgan', config);
    checkLossFields('dcgan', config);
    return { ...config, channels: imageChannels('dcgan', config, data) };
  },
  describe: describeDcgan,
  create: (config, seed, options) => new Dcgan(config, seed, options),
};
