import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng } from '../engine/rng.ts';
import { bceLossD, nonSaturatingLossG } from '../losses/adversarial.ts';
import { stepKlBeta, vaeObjective } from '../losses/vae.ts';
import type { Batch } from '../data/batch.ts';
import { stepLatent } from '../nn/noise.ts';
import { ParamSet } from '../nn/params.ts';
import { Adam } from '../optim/adam.ts';
import { expectNoCondition, type Condition, type ModelInfo } from './condition.ts';
import { DcganDiscriminator, dcganSchema, dcganShape } from './dcgan.ts';
import { disposeModel, type Family, type FamilyInstance, type StepContext } from './family.ts';
import { VaeDecoder, VaeEncoder, decoderImage, describeAutoEncoder, resolveImageModel, vaeSchema, type VaeConfig } from './vae.ts';

/**
 * VAE-GAN: a VAE whose decoder is also a GAN generator. A DCGAN discriminator judges decoder samples
 * of prior noise against real images; the encoder and decoder minimise
 * lambdaVae * (reconstruction + beta * KL) + lambdaGan * (-log D(Dec(z))), z ~ N(0, I), beta warmed up
 * as the VAE's (klWeight, klWarmup). Separate Adam optimisers for the auto-encoder and the discriminator.
 */
export const vaeGanSchema = vaeSchema
  .extend({
    ndf: z.number().int().positive().default(32),
    lambdaVae: z.number().min(0).default(1),
    lambdaGan: z.number().min(0).default(0.1),
    lrD: z.number().positive().default(2e-4),
  })
  .strict();

export type VaeGanConfig = z.infer<typeof vaeGanSchema>;

export class VaeGan implements FamilyInstance {
  readonly vaeParams = new ParamSet();
  readonly encoder: VaeEncoder;
  readonly decoder: VaeDecoder;
  readonly D: DcganDiscriminator;
  readonly networks: Record<string, ParamSet>;
  readonly optimizers: Record<string, Adam>;
  readonly info: ModelInfo;

  constructor(readonly config: VaeGanConfig, seed: number) {
    const { ndf: _ndf, lambdaVae: _lv, lambdaGan: _lg, lrD: _lrD, ...vaeConfig }: VaeGanConfig = config;
    this.encoder = new VaeEncoder(this.vaeParams, vaeConfig as VaeConfig, new Rng(seed, 'init', 'E'));
    this.decoder = new VaeDecoder(this.vaeParams, vaeConfig as VaeConfig, new Rng(seed, 'init', 'Dec'));
    this.D = new DcganDiscriminator(dcganShape(dcganSchema.parse({ imageSize: config.imageSize, channels: config.channels, ndf: config.ndf })), new Rng(seed, 'init', 'D'));
    this.networks = { VAE: this.vaeParams, D: this.D.params };
    this.optimizers = {
      VAE: new Adam(this.vaeParams.trainable(), { lr: config.lr, beta1: config.beta1, beta2: config.beta2 }),
      D: new Adam(this.D.params.trainable(), { lr: config.lrD, beta1: 0.5, beta2: 0.999 }),
    };
    this.info = describeAutoEncoder('vae-gan')(config);
  }

  private toImage(raw: tf.Tensor4D): tf.Tensor4D {
    return decoderImage(raw, this.config.reconstruction);
  }

  trainStep(batch: Batch, ctx: StepContext): Record<string, tf.Scalar> {
    const n = batch.images.shape[0];
    const latent = this.config.latent;
    const eps = stepLatent(ctx, n, latent);
    const zPrior = stepLatent(ctx, n, latent);
    // D: real images against decoder samples of prior noise.
    const fake = tf.tidy(() => this.toImage(this.decoder.apply(zPrior, true)));
    const { value: lossD, grads: gradsD } = tf.variableGrads(
      () => bceLossD(this.D.apply(batch.images, true), this.D.apply(fake, true)),
      this.D.params.trainable(),
    );
    this.optimizers.D.apply(gradsD);
    tf.dispose([fake, ...Object.values(gradsD)]);
    // Encoder + decoder: the VAE objective plus fooling the updated D.
    let recon: tf.Scalar | null = null;
    let kl: tf.Scalar | null = null;
    let adv: tf.Scalar | null = null;
    const { lambdaVae, lambdaGan } = this.config;
    const { value, grads } = tf.variableGrads(() => {
      const { mu, logVar } = this.encoder.apply(batch.images, true);
      const objective = vaeObjective({
        mu, logVar, eps, decode: (z) => this.decoder.apply(z, true), target: batch.images,
        mode: this.config.reconstruction, beta: stepKlBeta(this.config, ctx),
      });
      recon = tf.keep(objective.reconstruction);
      kl = tf.keep(objective.kl);
      adv = tf.keep(nonSaturatingLossG(this.D.apply(this.toImage(this.decoder.apply(zPrior, true)), true)));
      return tf.add(tf.mul(objective.loss, lambdaVae), tf.mul(adv, lambdaGan)) as tf.Scalar;
    }, this.vaeParams.trainable());
    this.optimizers.VAE.apply(grads);
    tf.dispose([eps, zPrior, ...Object.values(grads)]);
    return { lossTotal: value, lossRecon: recon!, lossKL: kl!, lossG: adv!, lossD };
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

export const vaeGanFamily: Family<VaeGanConfig> = {
  name: 'vae-gan',
  description: 'VAE-GAN: the VAE decoder doubles as a GAN generator judged by a DCGAN discriminator',
  schema: vaeGanSchema,
  resumable: ['lr', 'lrD', 'beta1', 'beta2'],
  resolve: resolveImageModel<VaeGanConfig>('vae-gan'),
  describe: describeAutoEncoder('vae-gan'),
  create: (config, seed) => new VaeGan(config, seed),
};
