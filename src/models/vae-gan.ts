import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng } from '../engine/rng.ts';
import { GantryError } from '../errors.ts';
import { bceLossD, nonSaturatingLossG } from '../losses/adversarial.ts';
import { klDivergence, reconstructionLoss, reparameterize, stepKlBeta, vaeObjective } from '../losses/vae.ts';
import type { Batch } from '../data/batch.ts';
import { stepLatent } from '../nn/noise.ts';
import { Adam } from '../optim/adam.ts';
import { DcganDiscriminator, dcganSchema, dcganShape } from './dcgan.ts';
import { dcganArchitecture } from '../nn/dcgan-architecture.ts';
import type { Family, StepContext } from './family.ts';
import { Vae, describeAutoEncoder, resolveImageModel, vaeSchema } from './vae.ts';

/** The decoder's weight of the feature error against fooling D (similarity "discriminator"). */
const GAMMA = 1;

/**
 * VAE-GAN: a VAE whose decoder is also a GAN generator, judged by a DCGAN discriminator. Separate Adam
 * optimisers for the auto-encoder and the discriminator; beta (the KL weight) warmed up as the VAE's.
 * similarity "pixels": the encoder and decoder minimise lambdaVae * (reconstruction + beta * KL) +
 * lambdaGan * (-log D(Dec(z))), z ~ N(0, I), D judging those prior samples against real images.
 * similarity "discriminator": Larsen et al. 2016's VAE/GAN, the reconstruction measured in D's features.
 */
export const vaeGanSchema = vaeSchema
  .extend({
    ndf: z.number().int().positive().default(32),
    lambdaVae: z.number().min(0).default(1),
    lambdaGan: z.number().min(0).default(0.1),
    lrD: z.number().positive().default(2e-4),
    /**
     * How a reconstruction is compared with its image: "pixels" (the VAE's squared error or BCE), or
     * "discriminator": the squared error of D's features at its similarityLayer-th block, the learned
     * similarity of Larsen et al.'s VAE/GAN (lambdaVae and lambdaGan are then not used).
     */
    similarity: z.enum(['pixels', 'discriminator']).default('pixels'),
    /** similarity "discriminator": D's block whose features are compared (1: its first). */
    similarityLayer: z.number().int().positive().default(3),
    /** similarity "discriminator": the feature error's weight in the decoder's loss against fooling D (the paper's gamma). */
    gamma: z.number().positive().default(GAMMA),
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
    if (this.config.similarity === 'discriminator') return this.learnedSimilarityStep(batch, ctx);
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

  /**
   * Larsen et al.'s VAE/GAN step (their Algorithm 1), every gradient taken before any network moves.
   * x~ = Dec(z), z = mu + sigma * eps from the encoder; x_p = Dec(z_p), z_p ~ N(0, I). L_llike is
   * 0.5 * the squared error summed over D's similarityLayer-th block's features of x~ and x (a Gaussian's
   * negative log-likelihood without its constant; both in one pass of D, so one set of batch statistics),
   * averaged over the batch. The encoder minimises beta * KL + L_llike; the decoder gamma * L_llike -
   * log D(x~) - log D(x_p) (the non-saturating form; the fooling term never reaches the encoder); D the
   * BCE of x as real, x~ and x_p as fake, and nothing of L_llike. Reports the pixels' squared error (or
   * BCE) of x~ too, as lossRecon: measured, not minimised.
   */
  private learnedSimilarityStep(batch: Batch, ctx: StepContext): Record<string, tf.Scalar> {
    const n = batch.images.shape[0];
    const { latent, gamma, similarityLayer } = this.config;
    const x = batch.images;
    const eps = stepLatent(ctx, n, latent);
    const zPrior = stepLatent(ctx, n, latent);
    const beta = stepKlBeta(this.config, ctx);
    const featureError = (recon: tf.Tensor4D): tf.Scalar => {
      const [fr, fx] = tf.split(this.D.features(tf.concat([recon, x], 0) as tf.Tensor4D, true, undefined, similarityLayer), 2, 0);
      return tf.mul(0.5, tf.mean(tf.sum(tf.square(tf.sub(fr, fx)), [1, 2, 3]))) as tf.Scalar;
    };
    const varsOf = (prefix: string) => this.params.trainableNames().filter((k) => k.startsWith(prefix)).map((k) => this.params.get(k));
    const kept: Record<string, tf.Scalar> = {};
    let z: tf.Tensor2D | null = null;
    const encoder = tf.variableGrads(() => {
      const { mu, logVar } = this.encoder.apply(x, true);
      z = tf.keep(reparameterize(mu, logVar, eps));
      const raw = this.decoder.apply(z, true);
      kept.lossKL = tf.keep(klDivergence(mu, logVar));
      kept.lossFeatures = tf.keep(featureError(this.toImage(raw)));
      kept.lossRecon = tf.keep(reconstructionLoss(raw, x, this.config.reconstruction));
      return tf.add(tf.mul(kept.lossKL, beta), kept.lossFeatures) as tf.Scalar;
    }, varsOf('enc.'));
    // The decoder's pass: z as a constant here, with the prior's samples in the same batch.
    let fakes: tf.Tensor4D[] = [];
    const decoder = tf.variableGrads(() => {
      fakes = tf.split(this.toImage(this.decoder.apply(tf.concat([z!, zPrior], 0) as tf.Tensor2D, true)), 2, 0) as tf.Tensor4D[];
      fakes.forEach((t) => tf.keep(t));
      kept.lossG = tf.keep(tf.add(nonSaturatingLossG(this.D.apply(fakes[0], true)), nonSaturatingLossG(this.D.apply(fakes[1], true))) as tf.Scalar);
      return tf.add(tf.mul(featureError(fakes[0]), gamma), kept.lossG) as tf.Scalar;
    }, varsOf('dec.'));
    const D = tf.variableGrads(() => tf.add(bceLossD(this.D.apply(x, true), this.D.apply(fakes[0], true)), tf.mean(tf.softplus(this.D.apply(fakes[1], true)))) as tf.Scalar, this.D.params.trainable());
    this.optimizers.VAE.apply({ ...encoder.grads, ...decoder.grads });
    this.optimizers.D.apply(D.grads);
    tf.dispose([eps, zPrior, beta, z!, ...fakes, encoder.value, decoder.value, ...Object.values(encoder.grads), ...Object.values(decoder.grads), ...Object.values(D.grads)]);
    return { ...kept, lossD: D.value };
  }
}

export const vaeGanFamily: Family<VaeGanConfig> = {
  name: 'vae-gan',
  description: 'VAE-GAN: the VAE decoder doubles as a GAN generator judged by a DCGAN discriminator',
  schema: vaeGanSchema,
  resumable: ['lr', 'lrD', 'beta1', 'beta2'],
  resolve: (config, data) => {
    const resolved = resolveImageModel<VaeGanConfig>('vae-gan')(config, data);
    const blocks = dcganArchitecture(dcganShape(dcganSchema.parse({ imageSize: config.imageSize, channels: 1 }))).d.length - 1; // all but the head
    if (resolved.similarity === 'discriminator' && resolved.similarityLayer > blocks) {
      throw new GantryError(`vae-gan: model.similarityLayer ${resolved.similarityLayer}, but D has ${blocks} blocks at ${config.imageSize}x${config.imageSize}; give 1 to ${blocks}`);
    }
    return resolved;
  },
  describe: describeAutoEncoder('vae-gan'),
  create: (config, seed) => new VaeGan(config, seed),
};
