import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng } from '../engine/rng.ts';
import { bceLossD, nonSaturatingLossG } from '../losses/adversarial.ts';
import { stepKlBeta, vaeObjective } from '../losses/vae.ts';
import type { Batch } from '../data/batch.ts';
import { stepLatent } from '../nn/noise.ts';
import { Adam } from '../optim/adam.ts';
import { DcganDiscriminator, dcganSchema, dcganShape } from './dcgan.ts';
import type { Family, StepContext } from './family.ts';
import { Vae, describeAutoEncoder, resolveImageModel, vaeSchema } from './vae.ts';

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

/** The VAE's encoder, decoder, drawing and encoding, with a discriminator and a step that trains against it. */
export class VaeGan extends Vae {
  readonly D: DcganDiscriminator;

  constructor(override readonly config: VaeGanConfig, seed: number) {
    super(config, seed, 'vae-gan');
    this.D = new DcganDiscriminator(dcganShape(dcganSchema.parse({ imageSize: config.imageSize, channels: config.channels, ndf: config.ndf })), new Rng(seed, 'init', 'D'));
    this.networks.D = this.D.params;
    this.optimizers.D = new Adam(this.D.params.trainable(), { lr: config.lrD, beta1: 0.5, beta2: 0.999 });
  }

  override trainStep(batch: Batch, ctx: StepContext): Record<string, tf.Scalar> {
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
    }, this.params.trainable());
    this.optimizers.VAE.apply(grads);
    tf.dispose([eps, zPrior, ...Object.values(grads)]);
    return { lossTotal: value, lossRecon: recon!, lossKL: kl!, lossG: adv!, lossD };
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
