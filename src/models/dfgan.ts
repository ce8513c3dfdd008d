import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng } from '../engine/rng.ts';
import { maGradientPenalty } from '../losses/penalties.ts';
import { DownBlock, UpBlock } from '../nn/dfgan-blocks.ts';
import { Conv2d, Linear } from '../nn/layers.ts';
import { ParamSet } from '../nn/params.ts';
import { hingeLossDMismatched, hingeLossG } from '../losses/adversarial.ts';
import { stepLatent } from '../nn/noise.ts';
import { captionEncoderFields } from '../text/caption-encoder.ts';
import { Adam } from '../optim/adam.ts';
import type { Family, StepContext } from './family.ts';
import type { Batch } from '../data/batch.ts';
import { alternatingStep } from './gan-step.ts';
import { describeTextToImage, resolveTextToImage, TextToImageGan } from './text-to-image.ts';

/**
 * DF-GAN (Tao et al. 2022): one generator stage of up-sampling blocks whose deep fusion blocks modulate
 * every feature map by the sentence vector (Affine, LeakyReLU, Affine, LeakyReLU, conv); a discriminator
 * of residual down-sampling blocks whose 4x4 features meet the replicated sentence vector; the hinge loss
 * with mismatched pairs; the matching-aware zero-centred gradient penalty MA-GP; no extra networks
 * beyond the fixed caption encoder.
 */
export const dfganSchema = z
  .object({
    /** 256 is the paper's CUB and COCO size; 32 and 64 are for a CPU. */
    imageSize: z.union([z.literal(32), z.literal(64), z.literal(128), z.literal(256)], { error: 'expected 32, 64, 128 or 256' }).default(32),
    /** 0 = take from the data. */
    channels: z.number().int().min(0).max(4).default(0),
    nz: z.number().int().positive().default(100),
    ngf: z.number().int().positive().default(32),
    ndf: z.number().int().positive().default(32),
    /** The paper's learning rates and Adam betas (0, 0.9). */
    lrG: z.number().positive().default(1e-4),
    lrD: z.number().positive().default(4e-4),
    beta1: z.number().min(0).max(1).default(0),
    beta2: z.number().min(0).max(1).default(0.9),
    /** MA-GP's weight k and power p. */
    maGpWeight: z.number().min(0).default(2),
    maGpPower: z.number().positive().default(6),
    /**
     * The fusion blocks' condition: the noise z with the sentence vector, as the official code's NetG
     * concatenates them (true, a new run's default), or the sentence vector alone, as the paper describes
     * the Affine (false). Absent in runs made before it existed: those read the sentence alone.
     */
    noiseInFusion: z.boolean().optional(),
    ...captionEncoderFields,
  })
  .strict();

export type DfganConfig = z.infer<typeof dfganSchema>;

/**
 * Channel multiples of ngf (G, from 4x4 up) and ndf (D, from full size down), as the official code's
 * get_G_in_out_chs: min(2^i, 8) for i < log2(S) - 1, reversed. 64: [8, 8, 4, 2, 1]; 256: [8, 8, 8, 8, 4, 2, 1].
 */
export function dfganWidths(imageSize: number): number[] {
  return Array.from({ length: Math.log2(imageSize) - 1 }, (_, i) => Math.min(2 ** i, 8)).reverse();
}

/** z [n, nz] and sentence vectors [n, e] -> images [n, S, S, C] in [-1, 1]. */
export class DfganGenerator {
  readonly params = new ParamSet();
  private readonly fc: Linear;
  private readonly blocks: UpBlock[] = [];
  private readonly toImage: Conv2d;

  constructor(readonly config: DfganConfig, rng: Rng) {
    const { nz, ngf, embedDim, channels, imageSize } = config;
    const w = dfganWidths(imageSize).map((k) => k * ngf);
    const condDim = (config.noiseInFusion ? nz : 0) + embedDim;
    this.fc = new Linear(this.params, 'fc', { inFeatures: nz, outFeatures: 16 * w[0] }, rng); // z -> 4x4x(8 ngf)
    for (let i = 0; i + 1 < w.length; i++) this.blocks.push(new UpBlock(this.params, `block${i}`, condDim, w[i], w[i + 1], rng)); // 8x8, 16x16, ...
    this.toImage = new Conv2d(this.params, 'toImage', { inChannels: w[w.length - 1], outChannels: channels, kernel: 3, padding: 1, bias: true }, rng);
  }

  apply(z: tf.Tensor2D, e: tf.Tensor2D): tf.Tensor4D {
    const n = z.shape[0];
    let h = tf.reshape(this.fc.apply(z), [n, 4, 4, dfganWidths(this.config.imageSize)[0] * this.config.ngf]) as tf.Tensor4D;
    const condition = this.config.noiseInFusion ? tf.concat([z, e], 1) as tf.Tensor2D : e; // [n, nz + e] or [n, e]
    for (const block of this.blocks) h = block.apply(h, condition);
    return tf.tanh(this.toImage.apply(tf.leakyRelu(h, 0.2))); // S x S x C
  }
}

/** D's image path (3x3 conv, then residual down-sampling to 4x4x(8 ndf)) and its conditional head. */
export class DfganDiscriminator {
  readonly params = new ParamSet();
  private readonly fromImage: Conv2d;
  private readonly blocks: DownBlock[] = [];
  private readonly joint: Conv2d;
  private readonly out: Conv2d;

  constructor(readonly config: DfganConfig, rng: Rng) {
    const { ndf, embedDim, channels, imageSize } = config;
    const w = dfganWidths(imageSize).reverse().map((k) => k * ndf);
    this.fromImage = new Conv2d(this.params, 'fromImage', { inChannels: channels, outChannels: w[0], kernel: 3, padding: 1, bias: true }, rng);
    for (let i = 0; i + 1 < w.length; i++) this.blocks.push(new DownBlock(this.params, `block${i}`, w[i], w[i + 1], rng)); // S/2, S/4, ... 4x4
    const top = w[w.length - 1];
    this.joint = new Conv2d(this.params, 'joint', { inChannels: top + embedDim, outChannels: 2 * ndf, kernel: 3, padding: 1 }, rng);
    this.out = new Conv2d(this.params, 'out', { inChannels: 2 * ndf, outChannels: 1, kernel: 4 }, rng);
  }

  /** Images [n, S, S, C] -> features [n, 4, 4, 8 ndf]. */
  features(x: tf.Tensor4D): tf.Tensor4D {
    let h = this.fromImage.apply(x);
    for (const block of this.blocks) h = block.apply(h);
    return h;
  }

  /** Features with sentence vectors [n, e] -> scores [n]: the vector replicated at each 4x4 position, concatenated, 3x3 conv, LeakyReLU, 4x4 conv. */
  score(features: tf.Tensor4D, e: tf.Tensor2D): tf.Tensor1D {
    const [n, h, w] = features.shape;
    const text = tf.mul(tf.reshape(e, [n, 1, 1, e.shape[1]]), tf.ones([1, h, w, 1])) as tf.Tensor4D; // [n, 4, 4, e]
    const joined = tf.leakyRelu(this.joint.apply(tf.concat([features, text], 3) as tf.Tensor4D), 0.2);
    return tf.reshape(this.out.apply(joined), [n]) as tf.Tensor1D;
  }
}

/** Row i of x moved to row i - 1 (the last to 0): image i + 1's features with caption i, as DF-GAN mismatches. */
function rolledByOne(x: tf.Tensor4D): tf.Tensor4D {
  const n = x.shape[0];
  return tf.concat([tf.slice(x, [1, 0, 0, 0], [n - 1, -1, -1, -1]), tf.slice(x, [0, 0, 0, 0], [1, -1, -1, -1])], 0) as tf.Tensor4D;
}

export class Dfgan extends TextToImageGan {
  readonly G: DfganGenerator;
  readonly D: DfganDiscriminator;
  readonly networks: Record<string, ParamSet>;
  readonly optimizers: Record<string, Adam>;

  constructor(readonly config: DfganConfig, seed: number) {
    super('dfgan', config, seed);
    this.G = new DfganGenerator(config, new Rng(seed, 'init', 'G'));
    this.D = new DfganDiscriminator(config, new Rng(seed, 'init', 'D'));
    this.networks = { G: this.G.params, D: this.D.params, T: this.text.params };
    const { beta1, beta2 } = config;
    this.optimizers = {
      G: new Adam(this.G.params.trainable(), { lr: config.lrG, beta1, beta2 }),
      D: new Adam(this.D.params.trainable(), { lr: config.lrD, beta1, beta2 }),
      T: this.text.optimizer,
    };
  }

  /**
   * DF-GAN's step: D with the hinge loss on (real, right caption), (real, mismatched caption) and
   * (fake, right caption) plus MA-GP on the real pairs; then G through the updated D, -D(fake, caption).
   */
  protected ganStep(batch: Batch, ctx: StepContext): Record<string, tf.Scalar> {
    const images = batch.images;
    const e = this.text.stepVectors(batch); // fixed encoder: outside every tape
    const z = stepLatent(ctx, images.shape[0], this.config.nz);
    const losses = alternatingStep({ params: this.G.params, optimizer: this.optimizers.G }, { params: this.D.params, optimizer: this.optimizers.D }, {
      updateG: ctx.updateG,
      fake: () => this.G.apply(z, e),
      lossD: (fake) => {
        let realFeatures: tf.Tensor4D | null = null;
        // The real scores and their gradients with respect to the images and the sentence vectors in
        // one pass; the gradients stay on the tape, so MA-GP's own gradient reaches D's weights.
        const { value: realScores, grads: [gradImages, gradSentences] } = tf.valueAndGrads((x: tf.Tensor, s: tf.Tensor) => {
          realFeatures = tf.keep(this.D.features(x as tf.Tensor4D));
          return this.D.score(realFeatures, s as tf.Tensor2D);
        })([images, e]);
        const mismatched = this.D.score(rolledByOne(realFeatures!), e);
        const fakeScores = this.D.score(this.D.features(fake), e);
        const maGp = maGradientPenalty(gradImages as tf.Tensor4D, gradSentences as tf.Tensor2D, this.config.maGpWeight, this.config.maGpPower);
        tf.dispose(realFeatures!);
        return { lossD: tf.add(hingeLossDMismatched(realScores, mismatched, fakeScores), maGp) as tf.Scalar, maGp };
      },
      lossG: (fake) => hingeLossG(this.D.score(this.D.features(fake), e)),
    });
    tf.dispose([e, z]);
    return losses;
  }

  protected drawImages(z: tf.Tensor2D, sentences: tf.Tensor2D): tf.Tensor4D {
    return this.G.apply(z, sentences);
  }
}

export const dfganFamily: Family<DfganConfig> = {
  name: 'dfgan',
  description: 'text-to-image DF-GAN: deep text-image fusion blocks, hinge loss with mismatched pairs, MA-GP',
  schema: dfganSchema,
  resumable: ['lrG', 'lrD', 'beta1', 'beta2'],
  // A new run's fusion blocks read the noise too (official); a run's saved section keeps what it had.
  resolve: (config, data) => resolveTextToImage('dfgan', { ...config, noiseInFusion: config.noiseInFusion ?? true }, data),
  describe: (config) => describeTextToImage('dfgan', config),
  create: (config, seed) => new Dfgan(config, seed),
};
