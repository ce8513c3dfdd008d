import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng } from '../engine/rng.ts';
import { GantryError } from '../errors.ts';
import { stepKlBeta, vaeObjective, type ReconstructionMode } from '../losses/vae.ts';
import type { Batch, DataShape } from '../data/batch.ts';
import { BatchNorm2d, Conv2d, ConvTranspose2d, Linear, RELU } from '../nn/layers.ts';
import { stepLatent } from '../nn/noise.ts';
import { ParamSet } from '../nn/params.ts';
import { Adam } from '../optim/adam.ts';
import { expectNoCondition, type Condition, type ModelInfo } from './condition.ts';
import { describeImageModel } from './dcgan.ts';
import { disposeModel, type Family, type FamilyInstance, type StepContext } from './family.ts';

/**
 * Variational auto-encoder (Kingma & Welling): a conv encoder to (mu, log sigma^2), the
 * reparameterisation z = mu + sigma * eps, a transposed-conv decoder; loss = reconstruction (squared
 * error or Bernoulli NLL, summed over pixels) + beta * KL, with beta warmed up linearly over
 * `klWarmup` steps.
 */
export const vaeSchema = z
  .object({
    imageSize: z.union([z.literal(32), z.literal(64)], { error: 'expected 32 or 64' }).default(32),
    channels: z.number().int().min(0).max(4).default(0),
    latent: z.number().int().positive().default(32),
    width: z.number().int().positive().default(32),
    reconstruction: z.enum(['mse', 'bce']).default('mse'),
    klWeight: z.number().min(0).default(1),
    klWarmup: z.number().int().min(0).default(0),
    lr: z.number().positive().default(1e-3),
    beta1: z.number().min(0).max(1).default(0.9),
    beta2: z.number().min(0).max(1).default(0.999),
  })
  .strict();

export type VaeConfig = z.infer<typeof vaeSchema>;

const stages = (size: number) => Math.log2(size) - 2;

/** Decoder output as an image in [-1, 1]: tanh for squared error, rescaled sigmoid for Bernoulli. */
export function decoderImage(raw: tf.Tensor4D, mode: ReconstructionMode): tf.Tensor4D {
  return mode === 'mse' ? tf.tanh(raw) : tf.sub(tf.mul(tf.sigmoid(raw), 2), 1);
}

/** resolve() of the auto-encoder families: channels from the data, which must be model-sized (square). */
export function resolveImageModel<C extends { imageSize: number; channels: number }>(family: string) {
  return (config: C, data: DataShape): C => {
    if (data.height !== config.imageSize || data.width !== config.imageSize) throw new GantryError(`${family}: data is ${data.height}x${data.width} but model.imageSize is ${config.imageSize}`);
    return { ...config, channels: config.channels || data.channels };
  };
}

/** A family of one unconditioned image generator with `latent` numbers per vector (the auto-encoders). */
export function describeAutoEncoder(family: string) {
  return (config: { imageSize: number; channels: number; latent: number }): ModelInfo => describeImageModel(family, config, config.latent);
}

export class VaeEncoder {
  private readonly convs: Conv2d[] = [];
  private readonly norms: BatchNorm2d[] = [];
  private readonly head: Linear;

  constructor(readonly params: ParamSet, readonly config: VaeConfig, rng: Rng) {
    let c = config.channels;
    let w = config.width;
    // each stage halves the size: size/2 x w, size/4 x 2w, ... down to 4x4
    for (let i = 0; i < stages(config.imageSize); i++) {
      this.convs.push(new Conv2d(params, `enc.conv${i}`, { inChannels: c, outChannels: w, kernel: 4, stride: 2, padding: 1 }, rng));
      this.norms.push(new BatchNorm2d(params, `enc.bn${i}`, { channels: w }, rng));
      c = w;
      w *= 2;
    }
    // 4x4xc -> (mu, log sigma^2)
    this.head = new Linear(params, 'enc.head', { inFeatures: 16 * c, outFeatures: 2 * config.latent }, rng);
  }

  apply(x: tf.Tensor4D, training: boolean): { mu: tf.Tensor2D; logVar: tf.Tensor2D } {
    let h = x;
    for (let i = 0; i < this.convs.length; i++) h = tf.leakyRelu(this.norms[i].apply(this.convs[i].apply(h), training), 0.2);
    const out = this.head.apply(tf.reshape(h, [x.shape[0], -1]) as tf.Tensor2D);
    const [mu, logVar] = tf.split(out, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    return { mu, logVar };
  }
}

export class VaeDecoder {
  private readonly fc: Linear;
  private readonly convs: ConvTranspose2d[] = [];
  private readonly norms: BatchNorm2d[] = [];
  private readonly top: number;

  constructor(readonly params: ParamSet, readonly config: VaeConfig, rng: Rng, prefix = 'dec') {
    const n = stages(config.imageSize);
    this.top = config.width * 2 ** (n - 1);
    // z -> 4x4 x top
    this.fc = new Linear(params, `${prefix}.fc`, { inFeatures: config.latent, outFeatures: 16 * this.top }, rng);
    let c = this.top;
    for (let i = 0; i < n; i++) {
      const out = i === n - 1 ? config.channels : c / 2;
      // doubles the size: 8x8, 16x16, ... imageSize x imageSize x channels
      this.convs.push(new ConvTranspose2d(params, `${prefix}.deconv${i}`, { inChannels: c, outChannels: out, kernel: 4, stride: 2, padding: 1, bias: i === n - 1 }, rng));
      if (i < n - 1) this.norms.push(new BatchNorm2d(params, `${prefix}.bn${i}`, { channels: out }, rng));
      c = out;
    }
  }

  /** Raw output (before tanh / sigmoid). */
  apply(z: tf.Tensor2D, training: boolean): tf.Tensor4D {
    let h = tf.reshape(this.fc.apply(z, RELU), [z.shape[0], 4, 4, this.top]) as tf.Tensor4D;
    for (let i = 0; i < this.convs.length; i++) {
      h = this.convs[i].apply(h);
      if (i < this.norms.length) h = tf.relu(this.norms[i].apply(h, training));
    }
    return h;
  }
}

export class Vae implements FamilyInstance {
  readonly params = new ParamSet();
  readonly encoder: VaeEncoder;
  readonly decoder: VaeDecoder;
  readonly networks: Record<string, ParamSet>;
  readonly optimizers: Record<string, Adam>;
  readonly info: ModelInfo;

  /** `family` names the subclass (vae-gan), whose config is a VaeConfig with more fields. */
  constructor(readonly config: VaeConfig, seed: number, family = 'vae') {
    this.encoder = new VaeEncoder(this.params, config, new Rng(seed, 'init', 'E'));
    this.decoder = new VaeDecoder(this.params, config, new Rng(seed, 'init', 'Dec'));
    this.networks = { VAE: this.params };
    this.optimizers = { VAE: new Adam(this.params.trainable(), { lr: config.lr, beta1: config.beta1, beta2: config.beta2 }) };
    this.info = describeAutoEncoder(family)(config);
  }

  protected toImage(raw: tf.Tensor4D): tf.Tensor4D {
    return decoderImage(raw, this.config.reconstruction);
  }

  trainStep(batch: Batch, ctx: StepContext): Record<string, tf.Scalar> {
    const eps = stepLatent(ctx, batch.images.shape[0], this.config.latent);
    let recon: tf.Scalar | null = null;
    let kl: tf.Scalar | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const { mu, logVar } = this.encoder.apply(batch.images, true);
      const objective = vaeObjective({
        mu, logVar, eps, decode: (z) => this.decoder.apply(z, true), target: batch.images,
        mode: this.config.reconstruction, beta: stepKlBeta(this.config, ctx),
      });
      recon = tf.keep(objective.reconstruction);
      kl = tf.keep(objective.kl);
      return objective.loss;
    }, this.params.trainable());
    this.optimizers.VAE.apply(grads);
    tf.dispose([eps, ...Object.values(grads)]);
    return { lossTotal: value, lossRecon: recon!, lossKL: kl! };
  }

  generate(z: tf.Tensor2D, condition: Condition): tf.Tensor4D {
    expectNoCondition(this.info, condition);
    return tf.tidy(() => this.toImage(this.decoder.apply(z, false)));
  }

  /** The posterior means of images [n, S, S, C] in [-1, 1]: the latent vectors the decoder draws them back from. */
  inferLatent(images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => this.encoder.apply(images, false).mu);
  }

  /** Encodes to the posterior mean and decodes: the reconstruction a user inspects. */
  reconstruct(images: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.toImage(this.decoder.apply(this.inferLatent(images), false)));
  }

  dispose(): void {
    disposeModel(this);
  }
}

export const vaeFamily: Family<VaeConfig> = {
  name: 'vae',
  description: 'variational auto-encoder: conv encoder, reparameterisation, transposed-conv decoder',
  schema: vaeSchema,
  resumable: ['lr', 'beta1', 'beta2'],
  resolve: resolveImageModel<VaeConfig>('vae'),
  describe: describeAutoEncoder('vae'),
  create: (config, seed) => new Vae(config, seed),
};
