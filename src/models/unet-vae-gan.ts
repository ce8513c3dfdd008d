import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng } from '../engine/rng.ts';
import { GantryError } from '../errors.ts';
import { bceLossD, nonSaturatingLossG } from '../losses/adversarial.ts';
import { stepKlBeta, vaeObjective } from '../losses/vae.ts';
import type { Batch } from '../data/batch.ts';
import { BatchNorm2d, Conv2d, ConvTranspose2d, Linear, RELU } from '../nn/layers.ts';
import { stepLatent } from '../nn/noise.ts';
import { stepNoise } from '../engine/step-noise.ts';
import { ParamSet } from '../nn/params.ts';
import { Adam } from '../optim/adam.ts';
import { expectNoCondition, type Condition, type ModelInfo } from './condition.ts';
import { DcganDiscriminator, dcganSchema, dcganShape } from './dcgan.ts';
import { disposeModel, type Family, type FamilyInstance, type StepContext } from './family.ts';
import { describeAutoEncoder, resolveImageModel } from './vae.ts';

/**
 * U-Net VAE-GAN: a VAE-GAN whose encoder hands its feature map at every scale to the decoder (skip
 * connections, concatenated). At sampling time the skips come from encoding real reference images,
 * each multiplied by (1 + alpha * eps), eps ~ N(0, I) (`skipMode: 'modulate'`), or are replaced by
 * noise altogether (`skipMode: 'noise'`) to show what the skips carry. Training modulates them the
 * same way so the decoder cannot copy its input through the skips alone.
 */
export const unetVaeGanSchema = z
  .object({
    imageSize: z.union([z.literal(32), z.literal(64)], { error: 'expected 32 or 64' }).default(32),
    channels: z.number().int().min(0).max(4).default(0),
    latent: z.number().int().positive().default(32),
    width: z.number().int().positive().default(32),
    ndf: z.number().int().positive().default(32),
    alpha: z.number().min(0).default(0.5),
    skipMode: z.enum(['modulate', 'noise']).default('modulate'),
    klWeight: z.number().min(0).default(1),
    /** The KL weight rises linearly from 0 to klWeight over this many steps (0: from the start), as the VAE's. */
    klWarmup: z.number().int().min(0).default(0),
    lambdaVae: z.number().min(0).default(1),
    lambdaGan: z.number().min(0).default(0.1),
    lr: z.number().positive().default(1e-3),
    lrD: z.number().positive().default(2e-4),
  })
  .strict();

export type UnetVaeGanConfig = z.infer<typeof unetVaeGanSchema>;

export class UnetVaeGan implements FamilyInstance {
  readonly params = new ParamSet();
  readonly D: DcganDiscriminator;
  readonly networks: Record<string, ParamSet>;
  readonly optimizers: Record<string, Adam>;
  readonly info: ModelInfo;
  private readonly encConvs: Conv2d[] = [];
  private readonly encNorms: BatchNorm2d[] = [];
  private readonly head: Linear;
  private readonly fc: Linear;
  private readonly decConvs: ConvTranspose2d[] = [];
  private readonly decNorms: BatchNorm2d[] = [];
  private readonly skipChannels: number[] = [];
  private readonly top: number;
  private reference: tf.Tensor4D | null = null;

  constructor(readonly config: UnetVaeGanConfig, seed: number) {
    const rng = new Rng(seed, 'init', 'UNet');
    const n = Math.log2(config.imageSize) - 2;
    let c = config.channels;
    let w = config.width;
    // encoder: size/2 x w, size/4 x 2w, ..., 4x4 x top; each output is also a skip
    for (let i = 0; i < n; i++) {
      this.encConvs.push(new Conv2d(this.params, `enc.conv${i}`, { inChannels: c, outChannels: w, kernel: 4, stride: 2, padding: 1 }, rng));
      this.encNorms.push(new BatchNorm2d(this.params, `enc.bn${i}`, { channels: w }, rng));
      this.skipChannels.push(w);
      c = w;
      w *= 2;
    }
    this.top = c;
    this.head = new Linear(this.params, 'enc.head', { inFeatures: 16 * c, outFeatures: 2 * config.latent }, rng);
    // decoder: z -> 4x4 x top; stage i takes [h, skip at the same scale] and doubles the size
    this.fc = new Linear(this.params, 'dec.fc', { inFeatures: config.latent, outFeatures: 16 * this.top }, rng);
    let d = this.top;
    for (let i = 0; i < n; i++) {
      const skip = this.skipChannels[n - 1 - i];
      const out = i === n - 1 ? config.channels : d / 2;
      this.decConvs.push(new ConvTranspose2d(this.params, `dec.deconv${i}`, { inChannels: d + skip, outChannels: out, kernel: 4, stride: 2, padding: 1, bias: i === n - 1 }, rng));
      if (i < n - 1) this.decNorms.push(new BatchNorm2d(this.params, `dec.bn${i}`, { channels: out }, rng));
      d = out;
    }
    this.D = new DcganDiscriminator(dcganShape(dcganSchema.parse({ imageSize: config.imageSize, channels: config.channels, ndf: config.ndf })), new Rng(seed, 'init', 'D'));
    this.networks = { UNet: this.params, D: this.D.params };
    this.optimizers = {
      UNet: new Adam(this.params.trainable(), { lr: config.lr, beta1: 0.9, beta2: 0.999 }),
      D: new Adam(this.D.params.trainable(), { lr: config.lrD, beta1: 0.5, beta2: 0.999 }),
    };
    this.info = describeAutoEncoder('unet-vae-gan')(config);
  }

  encode(x: tf.Tensor4D, training: boolean): { mu: tf.Tensor2D; logVar: tf.Tensor2D; skips: tf.Tensor4D[] } {
    const skips: tf.Tensor4D[] = [];
    let h = x;
    for (let i = 0; i < this.encConvs.length; i++) {
      h = tf.leakyRelu(this.encNorms[i].apply(this.encConvs[i].apply(h), training), 0.2);
      skips.push(h);
    }
    const [mu, logVar] = tf.split(this.head.apply(tf.reshape(h, [x.shape[0], -1]) as tf.Tensor2D), 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    return { mu, logVar, skips };
  }

  /** skip * (1 + alpha * eps), or pure noise in 'noise' mode; eps of each skip level from `noise`. */
  private perturbSkips(skips: tf.Tensor4D[], noise: (skip: tf.Tensor4D, level: number) => tf.Tensor4D, mode: 'modulate' | 'noise'): tf.Tensor4D[] {
    return skips.map((s, level) => {
      const eps = noise(s, level);
      return mode === 'noise' ? eps : (tf.mul(s, tf.add(1, tf.mul(eps, this.config.alpha))) as tf.Tensor4D);
    });
  }

  /**
   * A train step's skip noise, from the step's stream, one per purpose ('d', 'g') and level: millions of
   * values a step at 64x64, so drawn on the GPU where it can (stepNoise).
   */
  private stepSkipNoise(ctx: StepContext, purpose: string): (skip: tf.Tensor4D, level: number) => tf.Tensor4D {
    return (s, level) => stepNoise(ctx, (c) => c.rng.derive('skips', purpose, level), s.shape) as tf.Tensor4D;
  }

  /** The decoder's raw output (before tanh). */
  decodeRaw(z: tf.Tensor2D, skips: tf.Tensor4D[], training: boolean): tf.Tensor4D {
    const n = this.decConvs.length;
    let h = tf.reshape(this.fc.apply(z, RELU), [z.shape[0], 4, 4, this.top]) as tf.Tensor4D;
    for (let i = 0; i < n; i++) {
      h = this.decConvs[i].apply(tf.concat([h, skips[n - 1 - i]], 3));
      if (i < n - 1) h = tf.relu(this.decNorms[i].apply(h, training));
    }
    return h;
  }

  /** Images in [-1, 1]. */
  decode(z: tf.Tensor2D, skips: tf.Tensor4D[], training: boolean): tf.Tensor4D {
    return tf.tanh(this.decodeRaw(z, skips, training));
  }

  trainStep(batch: Batch, ctx: StepContext): Record<string, tf.Scalar> {
    const n = batch.images.shape[0];
    const latent = this.config.latent;
    const eps = stepLatent(ctx, n, latent);
    const zPrior = stepLatent(ctx, n, latent);
    // D: real images against samples decoded from prior noise with perturbed skips of this batch.
    const fake = tf.tidy(() => this.decode(zPrior, this.perturbSkips(this.encode(batch.images, true).skips, this.stepSkipNoise(ctx, 'd'), this.config.skipMode), true));
    const { value: lossD, grads: gradsD } = tf.variableGrads(() => bceLossD(this.D.apply(batch.images, true), this.D.apply(fake, true)), this.D.params.trainable());
    this.optimizers.D.apply(gradsD);
    tf.dispose([fake, ...Object.values(gradsD)]);
    let recon: tf.Scalar | null = null;
    let kl: tf.Scalar | null = null;
    let adv: tf.Scalar | null = null;
    const { lambdaVae, lambdaGan } = this.config;
    const { value, grads } = tf.variableGrads(() => {
      const { mu, logVar, skips } = this.encode(batch.images, true);
      const perturbed = this.perturbSkips(skips, this.stepSkipNoise(ctx, 'g'), 'modulate');
      const objective = vaeObjective({
        mu, logVar, eps, decode: (z) => this.decodeRaw(z, perturbed, true), target: batch.images,
        mode: 'mse', beta: stepKlBeta(this.config, ctx),
      });
      recon = tf.keep(objective.reconstruction);
      kl = tf.keep(objective.kl);
      adv = tf.keep(nonSaturatingLossG(this.D.apply(this.decode(zPrior, perturbed, true), true)));
      return tf.add(tf.mul(objective.loss, lambdaVae), tf.mul(adv, lambdaGan)) as tf.Scalar;
    }, this.params.trainable());
    this.optimizers.UNet.apply(grads);
    tf.dispose([eps, zPrior, ...Object.values(grads)]);
    return { lossTotal: value, lossRecon: recon!, lossKL: kl!, lossG: adv!, lossD };
  }

  /** Real images whose encoder features feed the skips when sampling (kept until replaced). */
  useReferenceImages(images: tf.Tensor4D): void {
    this.reference?.dispose();
    this.reference = tf.keep(images.clone());
  }

  generate(z: tf.Tensor2D, condition: Condition): tf.Tensor4D {
    expectNoCondition(this.info, condition);
    if (!this.reference) throw new GantryError('u-net-vae-gan samples need reference images for their skip connections');
    const ref = this.reference;
    return tf.tidy(() => {
      const n = z.shape[0];
      const idx = tf.tensor1d(Array.from({ length: n }, (_, i) => i % ref.shape[0]), 'int32');
      const skips = this.encode(tf.gather(ref, idx) as tf.Tensor4D, false).skips;
      const rng = new Rng(n, 'sample-skips');
      const noise = (s: tf.Tensor4D) => tf.tensor(rng.fillNormal(new Float32Array(s.size)), s.shape) as tf.Tensor4D;
      return this.decode(z, this.perturbSkips(skips, noise, this.config.skipMode), false);
    });
  }

  reconstruct(images: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const { mu, skips } = this.encode(images, false);
      return this.decode(mu, skips, false);
    });
  }

  dispose(): void {
    this.reference?.dispose();
    disposeModel(this);
  }
}

export const unetVaeGanFamily: Family<UnetVaeGanConfig> = {
  name: 'unet-vae-gan',
  description: 'U-Net VAE-GAN: encoder skips at every scale, modulated by noise (alpha) when sampling',
  schema: unetVaeGanSchema,
  resumable: ['lr', 'lrD'],
  resolve: resolveImageModel<UnetVaeGanConfig>('unet-vae-gan'),
  describe: describeAutoEncoder('unet-vae-gan'),
  create: (config, seed) => new UnetVaeGan(config, seed),
};
